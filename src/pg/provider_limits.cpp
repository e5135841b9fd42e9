// Provider rate limits in shared memory: token buckets per (tenant, subject) and per tenant in a
// fixed open-addressing table under one LWLock; the arithmetic is core::provider::charge().
#include "pg/provider_limits.hpp"

#include <algorithm>
#include <cstring>

extern "C" {
#include "common/hashfn.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
}

namespace {

namespace cp = pgp::core::provider;

constexpr int kSlots = 8192;     // buckets kept; the least recently used of a probe window goes
constexpr int kProbe = 32;       // a key always lives within kProbe slots of its hash
constexpr int kKeyLen = 232;     // longer keys are told apart by their 64-bit hash

struct Slot {
  bool used;
  uint64 hash;
  char key[kKeyLen];
  cp::TokenBucket bucket;
  uint64 refused;  // charges refused by this bucket (privacy.status, privacy.metrics)
};

struct LimitsShared {
  LWLock* lock;
  Slot slots[kSlots];
};

LimitsShared* g_limits = nullptr;
constexpr const char* kTranche = "pg_privacy provider limits";

void limits_shmem_request() {
  RequestAddinShmemSpace(MAXALIGN(sizeof(LimitsShared)));
  RequestNamedLWLockTranche(kTranche, 1);
}

void limits_shmem_startup() {
  bool found = false;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  g_limits = static_cast<LimitsShared*>(
      ShmemInitStruct("pg_privacy provider limits", sizeof(LimitsShared), &found));
  if (!found) {
    std::memset(g_limits, 0, sizeof(LimitsShared));
    g_limits->lock = &(GetNamedLWLockTranche(kTranche))->lock;
  }
  LWLockRelease(AddinShmemInitLock);
}

// The key: scope letter, the tenant's length, tenant, subject; the length keeps ("a:b", "c") and
// ("a", "b:c") apart. Hashed in full; stored truncated (two keys equal in their first kKeyLen
// bytes and in their hash would share a bucket).
constexpr int kFullKeyLen = 2048;
int make_key(char* out, char scope, const char* tenant, const char* subject) {
  const int n = snprintf(out, kFullKeyLen, "%c%zu:%s:%s", scope, strlen(tenant), tenant,
                         subject ? subject : "");
  return n < kFullKeyLen ? n : kFullKeyLen - 1;
}

Slot* find_slot(const char* key, int len) {
  const uint64 h = hash_bytes_extended(reinterpret_cast<const unsigned char*>(key), len, 0);
  Slot* victim = nullptr;
  for (int i = 0; i < kProbe; ++i) {
    Slot* s = &g_limits->slots[(h + static_cast<uint64>(i)) % kSlots];
    if (!s->used) {
      if (!victim || victim->used) victim = s;
      break;
    }
    if (s->hash == h && strncmp(s->key, key, kKeyLen - 1) == 0) return s;
    if (!victim || s->bucket.last_refill_us < victim->bucket.last_refill_us) victim = s;
  }
  victim->used = false;  // (re)initialised by the caller
  victim->hash = h;
  strlcpy(victim->key, key, kKeyLen);
  return victim;
}

Slot* bucket_for(char scope, const char* tenant, const char* subject, double capacity, double refill,
                 int64 now_us) {
  char key[kFullKeyLen];
  const int len = make_key(key, scope, tenant, subject);
  Slot* s = find_slot(key, len);
  if (!s->used) {
    s->used = true;
    s->refused = 0;
    s->bucket = cp::make_bucket(capacity, refill, now_us);
  } else if (s->bucket.capacity != capacity || s->bucket.refill_per_s != refill) {
    cp::reconfigure(s->bucket, capacity, refill);
  }
  return s;
}

}  // namespace

namespace pgp {

void provider_limits_shmem_request() { limits_shmem_request(); }
void provider_limits_shmem_startup() { limits_shmem_startup(); }

void provider_limits_charge(const char* tenant, const char* subject, const Limits& limits,
                            double cost, LimitOutcome* result) {
  LimitOutcome& out = *result;
  out = {true, nullptr, {true, 0}};
  if (!g_limits) {
    out.ok = false;
    out.scope = nullptr;  // not preloaded
    return;
  }
  const int64 now_us = GetCurrentTimestamp();  // microseconds since 2000: a monotonic enough clock
  LWLockAcquire(g_limits->lock, LW_EXCLUSIVE);
  Slot* ss = bucket_for('s', tenant, subject, limits.burst_subject, limits.rpm_subject / 60.0, now_us);
  Slot* ts = bucket_for('t', tenant, nullptr, limits.burst_tenant, limits.rpm_tenant / 60.0, now_us);
  cp::ChargeResult r = cp::charge(ss->bucket, now_us, cost);
  if (!r.ok) {
    ++ss->refused;
    out = {false, "subject", r};
  } else {
    cp::ChargeResult t = cp::charge(ts->bucket, now_us, cost);
    if (!t.ok) {
      ss->bucket.tokens += cost;  // all or nothing: give the subject's tokens back
      ++ts->refused;
      out = {false, "tenant", t};
    }
  }
  LWLockRelease(g_limits->lock);
}

void provider_limits_snapshot(void (*row)(void* arg, const LimitsRow& r), void* arg) {
  if (!g_limits) return;
  const int64 now_us = GetCurrentTimestamp();
  LWLockAcquire(g_limits->lock, LW_SHARED);
  for (const Slot& s : g_limits->slots) {
    if (!s.used || (s.key[0] != 's' && s.key[0] != 't')) continue;
    // The tenant from the key ("t5:acme:"); a truncated key gives what it holds.
    const char* colon = strchr(s.key + 1, ':');
    if (!colon) continue;
    const long len = strtol(s.key + 1, nullptr, 10);
    LimitsRow r;
    strlcpy(r.tenant, colon + 1, std::min<long>(len + 1, static_cast<long>(sizeof r.tenant)));
    r.subject = s.key[0] == 's';
    const cp::TokenBucket& b = s.bucket;
    const double elapsed_s = now_us > b.last_refill_us ? (now_us - b.last_refill_us) / 1e6 : 0;
    const double tokens = std::min(b.capacity, b.tokens + b.refill_per_s * elapsed_s);
    r.pressure = b.capacity > 0 ? 1.0 - tokens / b.capacity : 0;
    r.empty = tokens < 1.0;
    r.refused = s.refused;
    row(arg, r);
  }
  LWLockRelease(g_limits->lock);
}

bool provider_limits_reset() {
  if (!g_limits) return false;
  LWLockAcquire(g_limits->lock, LW_EXCLUSIVE);
  for (Slot& s : g_limits->slots) s.used = false;
  LWLockRelease(g_limits->lock);
  return true;
}

}  // namespace pgp
