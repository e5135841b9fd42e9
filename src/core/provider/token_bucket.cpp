// Token-bucket refill and charge: pure functions of the bucket, the clock and the cost.
#include "core/provider/token_bucket.hpp"

#include "core/provider/sqlstate.hpp"

#include <algorithm>
#include <cmath>

namespace pgp::core::provider {

TokenBucket make_bucket(double capacity, double refill_per_s, std::int64_t now_us) {
  return {capacity, refill_per_s, capacity, now_us};
}

void reconfigure(TokenBucket& bucket, double capacity, double refill_per_s) {
  bucket.capacity = capacity;
  bucket.refill_per_s = refill_per_s;
  bucket.tokens = std::min(bucket.tokens, capacity);
}

ChargeResult charge(TokenBucket& b, std::int64_t now_us, double cost) {
  if (now_us > b.last_refill_us) {
    const double elapsed_s = static_cast<double>(now_us - b.last_refill_us) / 1e6;
    b.tokens = std::min(b.capacity, b.tokens + elapsed_s * b.refill_per_s);
    b.last_refill_us = now_us;
  }
  if (b.tokens >= cost) {
    b.tokens -= cost;
    return {true, 0};
  }
  if (cost > b.capacity || b.refill_per_s <= 0) return {false, -1};
  const double wait_ms = (cost - b.tokens) / b.refill_per_s * 1000.0;
  return {false, std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait_ms)))};
}

Error rate_limited_error(const char* scope, const ChargeResult& refused) {
  const std::string message = std::string("provider rate limit reached for the ") + scope;
  if (refused.retry_after_ms < 0)
    return Error(provider_sqlstate::kRateLimited, message,
                 "The call costs more than the limit allows at once, or the limit does not refill.",
                 "Ask an administrator to raise the provider rate limit.");
  return Error(provider_sqlstate::kRateLimited, message, {},
               "Retry after " + std::to_string(refused.retry_after_ms) + " ms.");
}

}  // namespace pgp::core::provider
