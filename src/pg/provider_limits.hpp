// Provider rate limits: token buckets per (tenant, subject) and per tenant in shared memory,
// charged by privacy.provider_call before a request leaves the database.
#pragma once

#include "core/provider/token_bucket.hpp"
#include "pg/pg.hpp"

namespace pgp {

struct Limits {
  double rpm_subject, rpm_tenant;      // refill, requests per minute (0: no refill)
  double burst_subject, burst_tenant;  // capacity
};

// Plain data, so it can come back through pg_call.
struct LimitOutcome {
  bool ok;
  const char* scope;  // "subject" or "tenant" when refused; nullptr when not preloaded
  core::provider::ChargeResult refused;
};

// Takes `cost` tokens from both buckets or from neither. May ereport (LWLock): call through
// pg_call or with no C++ objects alive.
void provider_limits_charge(const char* tenant, const char* subject, const Limits& limits,
                            double cost, LimitOutcome* out);
// One bucket as monitoring sees it: its tenant (never a subject id), whether it is a subject's,
// how full of requests it is now (0 idle .. 1 empty) and how many charges it refused.
struct LimitsRow {
  char tenant[201];
  bool subject;
  double pressure;
  bool empty;
  uint64 refused;
};
// Calls `row` for every bucket, under the lock (shared): `row` must not ereport.
void provider_limits_snapshot(void (*row)(void* arg, const LimitsRow& r), void* arg);
bool provider_limits_reset();  // false when not preloaded

}  // namespace pgp
