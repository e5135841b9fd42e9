// Unit tests of the provider rate limit's token bucket and of the retry policy: refill, burst,
// retry_after, Retry-After in both forms, jitter bounds and which statuses are retried.
#include "core/provider/retry.hpp"
#include "core/provider/token_bucket.hpp"

#include <gtest/gtest.h>

#include <random>

namespace pgp::core::provider {
namespace {

constexpr std::int64_t kSecond = 1'000'000;  // microseconds

TEST(ProviderTokenBucket, a_full_bucket_allows_a_burst_then_refuses) {
  TokenBucket b = make_bucket(5, 1, 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(charge(b, 0, 1).ok) << i;
  const ChargeResult r = charge(b, 0, 1);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.retry_after_ms, 1000);
}

TEST(ProviderTokenBucket, refills_at_its_rate_up_to_capacity) {
  TokenBucket b = make_bucket(10, 2, 0);
  EXPECT_TRUE(charge(b, 0, 10).ok);
  EXPECT_FALSE(charge(b, kSecond / 4, 1).ok);  // 0.5 token
  EXPECT_TRUE(charge(b, kSecond / 2, 1).ok);   // 1 token
  EXPECT_TRUE(charge(b, 100 * kSecond, 10).ok);  // capped at 10, not 200
  EXPECT_FALSE(charge(b, 100 * kSecond, 1).ok);
}

TEST(ProviderTokenBucket, retry_after_says_when_the_cost_will_be_there) {
  TokenBucket b = make_bucket(10, 4, 0);
  EXPECT_TRUE(charge(b, 0, 9).ok);
  ChargeResult r = charge(b, 0, 3);  // 1 token, needs 2 more at 4/s: 500 ms
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.retry_after_ms, 500);
  EXPECT_EQ(b.tokens, 1);  // a refused charge takes nothing
  EXPECT_TRUE(charge(b, 500'000, 3).ok);
  r = charge(b, 500'000, 0.001);  // rounds up, never 0
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.retry_after_ms, 1);
}

TEST(ProviderTokenBucket, impossible_charges_say_never) {
  TokenBucket b = make_bucket(3, 1, 0);
  EXPECT_EQ(charge(b, 0, 4).retry_after_ms, -1);
  TokenBucket frozen = make_bucket(3, 0, 0);
  EXPECT_TRUE(charge(frozen, 0, 3).ok);
  EXPECT_EQ(charge(frozen, 10 * kSecond, 1).retry_after_ms, -1);
}

TEST(ProviderTokenBucket, a_clock_going_backwards_refills_nothing) {
  TokenBucket b = make_bucket(2, 1, 10 * kSecond);
  EXPECT_TRUE(charge(b, 10 * kSecond, 2).ok);
  EXPECT_FALSE(charge(b, 5 * kSecond, 1).ok);
  EXPECT_EQ(b.last_refill_us, 10 * kSecond);
  EXPECT_TRUE(charge(b, 11 * kSecond, 1).ok);
}

TEST(ProviderTokenBucket, reconfigure_keeps_tokens_within_the_new_capacity) {
  TokenBucket b = make_bucket(100, 1, 0);
  reconfigure(b, 10, 5);
  EXPECT_EQ(b.tokens, 10);
  EXPECT_EQ(b.refill_per_s, 5);
  reconfigure(b, 50, 5);
  EXPECT_EQ(b.tokens, 10);
}

TEST(ProviderTokenBucket, the_rate_limit_error_says_when_to_retry) {
  const pgp::core::Error later = rate_limited_error("tenant", {false, 1500});
  EXPECT_EQ(later.sqlstate(), "PV606");
  EXPECT_STREQ(later.what(), "provider rate limit reached for the tenant");
  EXPECT_EQ(later.hint(), "Retry after 1500 ms.");
  const pgp::core::Error never = rate_limited_error("subject", {false, -1});
  EXPECT_STREQ(never.what(), "provider rate limit reached for the subject");
  EXPECT_EQ(never.hint(), "Ask an administrator to raise the provider rate limit.");
}

TEST(ProviderRetry, only_429_and_5xx_gateway_statuses_retry) {
  for (long s : {429L, 500L, 502L, 503L, 504L}) EXPECT_TRUE(is_retryable_status(s)) << s;
  for (long s : {200L, 400L, 401L, 403L, 404L, 408L, 413L, 422L, 501L, 505L})
    EXPECT_FALSE(is_retryable_status(s)) << s;
}

TEST(ProviderRetry, backoff_ceiling_doubles_up_to_the_cap) {
  const RetryPolicy p{10, 100, 1000};
  EXPECT_EQ(backoff_ceiling_ms(p, 0), 100);
  EXPECT_EQ(backoff_ceiling_ms(p, 1), 200);
  EXPECT_EQ(backoff_ceiling_ms(p, 3), 800);
  EXPECT_EQ(backoff_ceiling_ms(p, 4), 1000);
  EXPECT_EQ(backoff_ceiling_ms(p, 62), 1000);  // no overflow
}

TEST(ProviderRetry, full_jitter_stays_within_bounds_and_spreads) {
  const RetryPolicy p{10, 100, 1000};
  std::mt19937_64 rng(7);
  for (int retry = 0; retry < 6; ++retry) {
    std::int64_t lo = INT64_MAX, hi = -1;
    for (int i = 0; i < 2000; ++i) {
      const std::int64_t d = backoff_ms(p, retry, rng());
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_GE(lo, 0);
    EXPECT_LE(hi, backoff_ceiling_ms(p, retry));
    EXPECT_LT(lo, backoff_ceiling_ms(p, retry) / 10) << "jitter reaches down to 0";
    EXPECT_GT(hi, backoff_ceiling_ms(p, retry) * 9 / 10) << "jitter reaches up to the ceiling";
  }
  EXPECT_EQ(backoff_ms(p, 0, UINT64_MAX), static_cast<std::int64_t>(UINT64_MAX % 101));
}

TEST(ProviderRetry, retry_after_reads_delta_seconds_and_http_dates) {
  const std::int64_t now = 1445412480;  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120'000);
  EXPECT_EQ(parse_retry_after(" 0\r\n", now), 0);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), 30'000);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), 0);  // past
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", 0), 0);
  for (const char* bad : {"", "-1", "1.5", "soon", "Wed, 21 Oct 2015 07:28:30 UTC",
                          "Wed, 21 Foo 2015 07:28:30 GMT", "Wed, 32 Oct 2015 07:28:30 GMT"})
    EXPECT_FALSE(parse_retry_after(bad, now)) << bad;
}

TEST(ProviderRetry, retry_delay_honours_status_attempts_retry_after_and_time_left) {
  const RetryPolicy p{3, 100, 1000};
  EXPECT_FALSE(retry_delay(p, 1, 400, std::nullopt, 10'000, 5));
  EXPECT_EQ(retry_delay(p, 1, 503, std::nullopt, 10'000, 5), 5);      // jitter of retry 0
  EXPECT_EQ(retry_delay(p, 2, 503, std::nullopt, 10'000, 150), 150);  // ceiling 200
  EXPECT_FALSE(retry_delay(p, 3, 503, std::nullopt, 10'000, 5));      // attempts used up
  EXPECT_EQ(retry_delay(p, 1, 429, 2000, 10'000, 5), 2000);           // Retry-After wins
  EXPECT_FALSE(retry_delay(p, 1, 429, 20'000, 10'000, 5));            // would overrun the call
  EXPECT_FALSE(retry_delay(p, 1, 500, std::nullopt, 50, 60));         // no time left
}

}  // namespace
}  // namespace pgp::core::provider
