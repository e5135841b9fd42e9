// The HTTP transfer of provider calls over libcurl, fit for a Postgres backend: no threads, no
// signals, TLS verified, bounded in time and size, and cut off within one poll interval when
// the caller's should_abort() says so (the SQL layer checks the backend's pending interrupts).
#pragma once

#include "core/common.hpp"
#include "core/provider/retry.hpp"
#include "core/provider/sqlstate.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pgp::core::provider {

// A POST. The headers hold the API key: they are never logged, printed or put in an error.
struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
};

struct HttpOptions {
  std::int64_t connect_timeout_ms = 5000;
  std::int64_t total_timeout_ms = 60000;  // the whole call: every attempt and every wait
  std::size_t max_response_bytes = 8u << 20;
  RetryPolicy retry;
  std::string ca_file;  // a CA bundle to trust instead of the system's; verification stays on
};

// The final answer after retries, whatever its status (parse_response() judges the status).
struct HttpResponse {
  long status = 0;
  std::string body;
  int attempts = 0;
  std::int64_t elapsed_ms = 0;
};

// One request's outcome in perform_many(): exactly one of the two is set.
struct HttpResult {
  std::optional<HttpResponse> response;
  std::optional<Error> error;
};

// Polled between waits of at most kPollIntervalMs; true cancels every transfer of the call.
// It runs in our loop, never inside a libcurl callback: it may throw a C++ exception (the
// transfers are cleaned up), but must not longjmp (no ereport, no CHECK_FOR_INTERRUPTS).
using AbortCheck = std::function<bool()>;
inline constexpr int kPollIntervalMs = 20;

// One per process (a backend keeps it for its lifetime): it holds the connection cache, so
// consecutive calls to the same provider reuse the TLS connection. Not thread-safe.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Throws Error: kConnectionFailed, kTimeout, kResponseTooLarge, kCancelled.
  HttpResponse perform(const HttpRequest& request, const HttpOptions& options,
                       const AbortCheck& should_abort = {});

  // Runs the requests concurrently, at most max_concurrency (at least 1) in flight (a request
  // waiting to retry holds no slot); results in the order of `requests`. Each request has its
  // own total_timeout_ms from its first attempt. A cancel throws kCancelled for all.
  std::vector<HttpResult> perform_many(const std::vector<HttpRequest>& requests,
                                       const HttpOptions& options, std::size_t max_concurrency,
                                       const AbortCheck& should_abort = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgp::core::provider
