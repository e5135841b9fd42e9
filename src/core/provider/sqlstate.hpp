// SQLSTATEs of the provider call (class PV6xx): the core raises PV601 and PV607-PV616; the SQL
// layer raises PV602-PV606 with the same codes so that docs, tests and callers agree.
#pragma once

namespace pgp::core::provider::provider_sqlstate {
// Keep in sync with docs/sqlstates.md.
inline constexpr const char* kInvalidRequest = "PV601";     // request not a valid OpenAI chat shape
inline constexpr const char* kUnknownProvider = "PV602";    // no provider of that name (SQL layer)
inline constexpr const char* kProviderDisabled = "PV603";   // provider exists, enabled = false (SQL)
inline constexpr const char* kNotOptedIn = "PV604";         // tenant has not opted in (SQL layer)
inline constexpr const char* kRegionMismatch = "PV605";     // provider region != tenant region (SQL)
inline constexpr const char* kRateLimited = "PV606";        // token bucket empty; hint says when (SQL)
inline constexpr const char* kBlockedContent = "PV607";     // a message holds a BLOCK entity
inline constexpr const char* kInvalidProvider = "PV608";    // bad dialect, base URL or API key shape
inline constexpr const char* kConnectionFailed = "PV610";   // DNS, connect, TLS, send or receive failed
inline constexpr const char* kTimeout = "PV611";            // connect or total timeout reached
inline constexpr const char* kCancelled = "PV612";          // should_abort() said stop
inline constexpr const char* kResponseTooLarge = "PV613";   // body over max_response_bytes
inline constexpr const char* kHttpStatus = "PV614";         // non-2xx status after the retries
inline constexpr const char* kMalformedResponse = "PV615";  // not JSON, or not the dialect's shape
inline constexpr const char* kProviderError = "PV616";      // 2xx answer carrying an error object
}  // namespace pgp::core::provider::provider_sqlstate
