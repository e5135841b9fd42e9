// Token-bucket arithmetic of the provider rate limit. The SQL layer keeps the buckets in shared
// memory (one per subject, one per tenant) and calls charge() under its lock.
#pragma once

#include "core/common.hpp"

#include <cstdint>
#include <type_traits>

namespace pgp::core::provider {

// Plain data: lives in shared memory, so no pointers and no heap.
struct TokenBucket {
  double capacity;        // the burst: most tokens the bucket holds
  double refill_per_s;    // tokens added per second
  double tokens;          // tokens now (as of last_refill_us)
  std::int64_t last_refill_us;  // the caller's clock, microseconds
};
static_assert(std::is_trivially_copyable_v<TokenBucket> && std::is_standard_layout_v<TokenBucket>);

struct ChargeResult {
  bool ok;
  // When ok is false: milliseconds until `cost` tokens are there (rounded up, at least 1), or
  // -1 when they never will be (cost over capacity, or no refill).
  std::int64_t retry_after_ms;
};

// A full bucket.
TokenBucket make_bucket(double capacity, double refill_per_s, std::int64_t now_us);

// Adopts new limits (a changed setting) keeping the tokens, at most the new capacity.
void reconfigure(TokenBucket& bucket, double capacity, double refill_per_s);

// Refills for the time since last_refill_us, then takes `cost` tokens if there are enough.
// A clock that went backwards refills nothing. A refused charge takes nothing.
ChargeResult charge(TokenBucket& bucket, std::int64_t now_us, double cost);

// The error for a refused charge: PV606, the scope ("subject" or "tenant") in the message, the
// hint saying when to retry (or that waiting will not help).
Error rate_limited_error(const char* scope, const ChargeResult& refused);

}  // namespace pgp::core::provider
