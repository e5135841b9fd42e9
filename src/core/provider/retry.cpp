// Backoff arithmetic and Retry-After parsing. No clock and no random source of its own: the
// caller passes both, so the tests pin every branch.
#include "core/provider/retry.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>

namespace pgp::core::provider {

namespace {

constexpr std::int64_t kMaxDeltaSeconds = 365LL * 24 * 3600;

bool digits(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "Wed, 21 Oct 2015 07:28:00 GMT" (RFC 9110 IMF-fixdate) as unix seconds.
std::optional<std::int64_t> parse_imf_fixdate(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s.substr(3, 2) != ", " || s.substr(25) != " GMT" || s[7] != ' ' ||
      s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':')
    return std::nullopt;
  std::tm tm{};
  const auto month = std::find(kMonths.begin(), kMonths.end(), s.substr(8, 3));
  if (month == kMonths.end()) return std::nullopt;
  int year = 0;
  if (!digits(s.substr(5, 2), tm.tm_mday) || !digits(s.substr(12, 4), year) ||
      !digits(s.substr(17, 2), tm.tm_hour) || !digits(s.substr(20, 2), tm.tm_min) ||
      !digits(s.substr(23, 2), tm.tm_sec))
    return std::nullopt;
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  tm.tm_mon = static_cast<int>(month - kMonths.begin());
  tm.tm_year = year - 1900;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

bool is_retryable_status(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::int64_t backoff_ceiling_ms(const RetryPolicy& policy, int retry) {
  std::int64_t ceiling = std::max<std::int64_t>(policy.base_ms, 0);
  for (int i = 0; i < retry && ceiling < policy.cap_ms; ++i) ceiling *= 2;
  return std::min(ceiling, policy.cap_ms);
}

std::int64_t backoff_ms(const RetryPolicy& policy, int retry, std::uint64_t random) {
  const auto ceiling = static_cast<std::uint64_t>(backoff_ceiling_ms(policy, retry));
  return static_cast<std::int64_t>(random % (ceiling + 1));
}

std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_unix_s) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r' ||
                            value.back() == '\n'))
    value.remove_suffix(1);
  std::int64_t seconds = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (!value.empty() && ec == std::errc() && p == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::min(seconds, kMaxDeltaSeconds) * 1000;
  }
  const auto date = parse_imf_fixdate(value);
  if (!date) return std::nullopt;
  return std::clamp<std::int64_t>(*date - now_unix_s, 0, kMaxDeltaSeconds) * 1000;
}

std::optional<std::int64_t> retry_delay(const RetryPolicy& policy, int attempts_done, long status,
                                        std::optional<std::int64_t> retry_after_ms,
                                        std::int64_t remaining_ms, std::uint64_t random) {
  if (!is_retryable_status(status) || attempts_done >= policy.max_attempts) return std::nullopt;
  const std::int64_t delay =
      retry_after_ms ? *retry_after_ms : backoff_ms(policy, attempts_done - 1, random);
  if (delay >= remaining_ms) return std::nullopt;
  return delay;
}

}  // namespace pgp::core::provider
