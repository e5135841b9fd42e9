// Finding statistics in shared memory: a count per tenant and entity type across all backends
// since the last reset, for monitoring (privacy.findings, scoped to the reader's tenant). Needs
// shared_preload_libraries.
#include "pg/guard.hpp"
#include "pg/privilege.hpp"
#include "pg/redact_engine.hpp"
#include "pg/tenancy.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

extern "C" {
#include "funcapi.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/timestamp.h"
}

PGP_FUNCTION(pgp_finding_stats)
PGP_FUNCTION(pgp_reset_finding_stats)

namespace {

constexpr int kMaxTypes = 1024;  // (tenant, type) pairs; new pairs past this are not counted
constexpr int kTypeLen = 64;

struct StatsSlot {
  char tenant[kTypeLen];  // "" without a verified tenant
  char type[kTypeLen];
  pg_atomic_uint64 count;
};

// Slots are appended under the spinlock and never removed; readers scan the published prefix.
struct StatsShared {
  slock_t mutex;
  pg_atomic_uint32 nslots;
  TimestampTz since;
  StatsSlot slots[kMaxTypes];
};

StatsShared* g_stats = nullptr;

void shmem_request() {
  RequestAddinShmemSpace(MAXALIGN(sizeof(StatsShared)));
}

void shmem_startup() {
  bool found = false;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  g_stats = static_cast<StatsShared*>(ShmemInitStruct("pg_privacy finding stats", sizeof(StatsShared), &found));
  if (!found) {
    std::memset(g_stats, 0, sizeof(StatsShared));
    SpinLockInit(&g_stats->mutex);
    pg_atomic_init_u32(&g_stats->nslots, 0);
    for (auto& s : g_stats->slots) pg_atomic_init_u64(&s.count, 0);
    g_stats->since = GetCurrentTimestamp();
  }
  LWLockRelease(AddinShmemInitLock);
}

// Runs for every slot and finding: compares the type by its known length instead of measuring
// the slot's string first.
bool slot_is(const StatsSlot& s, const char* tenant, std::string_view type) {
  return type.size() < kTypeLen && std::memcmp(s.type, type.data(), type.size()) == 0 &&
         s.type[type.size()] == '\0' && strcmp(tenant, s.tenant) == 0;
}

StatsSlot* find_or_add(const char* tenant, std::string_view type) {
  uint32 n = pg_atomic_read_u32(&g_stats->nslots);
  pg_read_barrier();
  for (uint32 i = 0; i < n; ++i)
    if (slot_is(g_stats->slots[i], tenant, type)) return &g_stats->slots[i];
  SpinLockAcquire(&g_stats->mutex);
  StatsSlot* slot = nullptr;
  n = pg_atomic_read_u32(&g_stats->nslots);
  for (uint32 i = 0; i < n && !slot; ++i)
    if (slot_is(g_stats->slots[i], tenant, type)) slot = &g_stats->slots[i];
  if (!slot && n < kMaxTypes) {
    slot = &g_stats->slots[n];
    strlcpy(slot->tenant, tenant, kTypeLen);
    const std::size_t len = std::min(type.size(), static_cast<std::size_t>(kTypeLen - 1));
    std::memcpy(slot->type, type.data(), len);
    slot->type[len] = '\0';
    pg_write_barrier();
    pg_atomic_write_u32(&g_stats->nslots, n + 1);
  }
  SpinLockRelease(&g_stats->mutex);
  return slot;
}

}  // namespace

namespace pgp {

void stats_shmem_request() { shmem_request(); }
void stats_shmem_startup() { shmem_startup(); }

namespace {

// Adds one to the current tenant's count of each type(f) for f in `items`.
template <typename Items, typename TypeOf>
void count_types(const Items& items, TypeOf type) noexcept {
  if (!g_stats || items.empty()) return;
  const char* tenant = current_tenant_or_null();
  if (!tenant) tenant = "";
  for (const auto& item : items)
    if (StatsSlot* s = find_or_add(tenant, type(item))) pg_atomic_fetch_add_u64(&s->count, 1);
}

}  // namespace

void stats_count(const std::vector<core::redact::Finding>& findings) noexcept {
  count_types(findings, [](const core::redact::Finding& f) { return std::string_view(f.type); });
}

void stats_count(const std::vector<std::string_view>& types) noexcept {
  count_types(types, [](std::string_view t) { return t; });
}

}  // namespace pgp

// Who sees every tenant's counts: superusers, the extension's owner (and its members) and
// privacy_auditor. Everyone else sees the counts of their verified tenant only, and nothing
// without a verified context (counts made without a tenant can come from anyone's text).
static bool sees_every_tenant() {
  const Oid uid = GetUserId();
  if (superuser_arg(uid) || has_privs_of_role(uid, pgp::privacy_schema_owner())) return true;
  const Oid auditor = get_role_oid("privacy_auditor", true);
  return OidIsValid(auditor) && has_privs_of_role(uid, auditor);
}

Datum pgp_finding_stats(PG_FUNCTION_ARGS) {
  pgp::require_preload("privacy.finding_stats()");
  const bool all = sees_every_tenant();
  const char* tenant = pgp::current_tenant_or_null();
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (!all && !tenant) return (Datum)0;
  uint32 n = pg_atomic_read_u32(&g_stats->nslots);
  pg_read_barrier();
  for (uint32 i = 0; i < n; ++i) {
    StatsSlot& slot = g_stats->slots[i];
    if (!all && strcmp(slot.tenant, tenant) != 0) continue;
    Datum values[4] = {slot.tenant[0] ? CStringGetTextDatum(slot.tenant) : (Datum)0,
                       CStringGetTextDatum(slot.type),
                       Int64GetDatum(static_cast<int64>(pg_atomic_read_u64(&slot.count))),
                       TimestampTzGetDatum(g_stats->since)};
    bool nulls[4] = {slot.tenant[0] == '\0', false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}

Datum pgp_reset_finding_stats(PG_FUNCTION_ARGS) {
  pgp::require_preload("privacy.reset_finding_stats()");
  SpinLockAcquire(&g_stats->mutex);
  for (auto& s : g_stats->slots) pg_atomic_write_u64(&s.count, 0);
  g_stats->since = GetCurrentTimestamp();
  SpinLockRelease(&g_stats->mutex);
  PG_RETURN_VOID();
}
