// When and how long to wait before retrying a provider call: exponential backoff with full
// jitter, the server's Retry-After honoured, only on 429 and 5xx, within the call's time left.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pgp::core::provider {

struct RetryPolicy {
  int max_attempts = 4;          // the first try included; 1 means no retry
  std::int64_t base_ms = 250;    // backoff ceiling of the first retry
  std::int64_t cap_ms = 8000;    // backoff ceiling never exceeds this
};

// 429, 500, 502, 503, 504. Other 4xx are the caller's mistake and would fail again.
bool is_retryable_status(long status);

// min(cap_ms, base_ms * 2^retry), retry counting from 0.
std::int64_t backoff_ceiling_ms(const RetryPolicy& policy, int retry);

// Full jitter: uniform in [0, backoff_ceiling_ms] drawn from `random` (any 64-bit value), so
// that clients refused together do not come back together.
std::int64_t backoff_ms(const RetryPolicy& policy, int retry, std::uint64_t random);

// A Retry-After value as milliseconds from now: delta-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT", IMF-fixdate) against now_unix_s; a date in the past is 0.
// nullopt for anything else.
std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_unix_s);

// The wait before the next attempt after `attempts_done` attempts ended with `status`, or
// nullopt to give up: not retryable, attempts used up, or the wait would not leave time for
// another attempt within `remaining_ms`. Retry-After, when given, replaces the backoff.
std::optional<std::int64_t> retry_delay(const RetryPolicy& policy, int attempts_done, long status,
                                        std::optional<std::int64_t> retry_after_ms,
                                        std::int64_t remaining_ms, std::uint64_t random);

}  // namespace pgp::core::provider
