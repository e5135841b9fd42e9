// libcurl multi-interface loop shared by perform() and perform_many(): transfers are started
// up to the concurrency limit, polled in short slices with the abort check between slices, and
// scheduled again after a backoff when the retry policy allows.
#include "core/provider/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <random>
#include <string_view>

namespace pgp::core::provider {

namespace {

namespace ss = provider_sqlstate;
using Clock = std::chrono::steady_clock;

std::int64_t ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// One request across its attempts.
struct Transfer {
  const HttpRequest* request = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  std::optional<std::string> retry_after;
  bool too_large = false;
  bool started = false;  // the first attempt began: `first_start` and `deadline` are set
  bool done = false;
  int attempts = 0;
  std::size_t max_bytes = 0;
  Clock::time_point first_start, deadline, start_at;
  HttpResult result;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  if (bytes > t->max_bytes - t->body.size()) {
    t->too_large = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, bytes);
  return bytes;
}

// Keeps Retry-After only; no other header (least of all a request header) is looked at.
std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i)
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))) == kName[i];
    if (match) t->retry_after = std::string(line.substr(kName.size()));
  }
  return size * n;
}

Error transport_error(CURLcode code, const Transfer& t) {
  if (t.too_large || code == CURLE_FILESIZE_EXCEEDED)
    return Error(ss::kResponseTooLarge, "provider response is too large",
                 "The answer exceeded max_response_bytes (" + std::to_string(t.max_bytes) + ").");
  const std::string detail = std::string("libcurl: ") + curl_easy_strerror(code) + ".";
  if (code == CURLE_OPERATION_TIMEDOUT)
    return Error(ss::kTimeout, "provider call timed out", detail,
                 "Raise the provider's timeouts or retry later.");
  return Error(ss::kConnectionFailed, "provider call failed to connect or transfer", detail);
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw Error(sqlstate::kInternal, "libcurl could not be initialised");
  });
}

}  // namespace

struct HttpClient::Impl {
  CURLM* multi = nullptr;
  std::mt19937_64 rng{std::random_device{}()};

  CURL* start(Transfer& t, const HttpOptions& o, Clock::time_point now);
  void finish(Transfer& t, CURLcode code, const HttpOptions& o, Clock::time_point now);
  void release(Transfer& t);
  void run(std::vector<Transfer>& transfers, const HttpOptions& o, std::size_t limit,
           const AbortCheck& should_abort);
  std::vector<HttpResult> run_requests(const HttpRequest* const* requests, std::size_t n,
                                       const HttpOptions& options, std::size_t max_concurrency,
                                       const AbortCheck& should_abort);
};

CURL* HttpClient::Impl::start(Transfer& t, const HttpOptions& o, Clock::time_point now) {
  if (!t.started) {
    t.started = true;
    t.first_start = now;
    t.deadline = now + std::chrono::milliseconds(o.total_timeout_ms);
  }
  t.body.clear();
  t.retry_after.reset();
  t.too_large = false;
  t.easy = curl_easy_init();
  if (!t.easy) throw Error(sqlstate::kInternal, "libcurl could not create a transfer");
  if (!t.headers) {
    for (const std::string& h : t.request->headers) t.headers = curl_slist_append(t.headers, h.c_str());
    // Without this curl waits up to a second for "100 Continue" before sending a large body.
    t.headers = curl_slist_append(t.headers, "Expect:");
  }
  const long remaining = std::max<long>(1, ms_between(now, t.deadline));
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, t.request->url.c_str());
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.request->body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.request->body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // a backend owns its signals
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect would carry the key elsewhere
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!o.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, o.ca_file.c_str());
  // 0 would mean curl's default of 300 s: a connect timeout is at least 1 ms.
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   std::clamp<long>(o.connect_timeout_ms, 1, remaining));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, remaining);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_response_bytes));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  if (curl_multi_add_handle(multi, e) != CURLM_OK) {
    release(t);
    throw Error(sqlstate::kInternal, "libcurl could not start a transfer");
  }
  ++t.attempts;
  return e;
}

void HttpClient::Impl::release(Transfer& t) {
  if (t.easy) {
    curl_multi_remove_handle(multi, t.easy);
    curl_easy_cleanup(t.easy);
    t.easy = nullptr;
  }
}

void HttpClient::Impl::finish(Transfer& t, CURLcode code, const HttpOptions& o,
                              Clock::time_point now) {
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  release(t);
  if (code != CURLE_OK) {
    t.result.error = transport_error(code, t);
  } else {
    std::optional<std::int64_t> retry_after;
    if (t.retry_after) {
      const auto wall = std::chrono::system_clock::now().time_since_epoch();
      retry_after = parse_retry_after(*t.retry_after,
                                      std::chrono::duration_cast<std::chrono::seconds>(wall).count());
    }
    const auto delay = retry_delay(o.retry, t.attempts, status, retry_after,
                                   ms_between(now, t.deadline), rng());
    if (delay) {
      t.start_at = now + std::chrono::milliseconds(*delay);
      return;
    }
    t.result.response = HttpResponse{status, std::move(t.body), t.attempts, ms_between(t.first_start, now)};
  }
  t.done = true;
  curl_slist_free_all(t.headers);
  t.headers = nullptr;
}

void HttpClient::Impl::run(std::vector<Transfer>& transfers, const HttpOptions& o,
                           std::size_t limit, const AbortCheck& should_abort) {
  std::size_t remaining = transfers.size(), active = 0;
  while (remaining > 0) {
    if (should_abort && should_abort()) throw Error(ss::kCancelled, "provider call cancelled");
    auto now = Clock::now();
    auto next_start = now + std::chrono::milliseconds(kPollIntervalMs);
    for (Transfer& t : transfers) {
      if (t.done || t.easy) continue;
      if (t.start_at > now) {
        next_start = std::min(next_start, t.start_at);
      } else if (active < limit) {
        start(t, o, now);
        ++active;
      }
    }
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK)
      throw Error(sqlstate::kInternal, "libcurl transfer loop failed");
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      const CURLcode code = msg->data.result;
      finish(*t, code, o, Clock::now());
      --active;
      if (t->done) --remaining;
    }
    if (remaining == 0) break;
    now = Clock::now();
    const long wait = std::clamp<long>(ms_between(now, next_start), 0, kPollIntervalMs);
    // With no transfer in flight this is an interruptible sleep until the next retry is due.
    if (curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait), nullptr) != CURLM_OK)
      throw Error(sqlstate::kInternal, "libcurl transfer loop failed");
  }
}

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
  init_curl_once();
  impl_->multi = curl_multi_init();
  if (!impl_->multi) throw Error(sqlstate::kInternal, "libcurl could not be initialised");
}

HttpClient::~HttpClient() { curl_multi_cleanup(impl_->multi); }

std::vector<HttpResult> HttpClient::Impl::run_requests(const HttpRequest* const* requests,
                                                       std::size_t n, const HttpOptions& options,
                                                       std::size_t max_concurrency,
                                                       const AbortCheck& should_abort) {
  std::vector<Transfer> transfers(n);
  const auto now = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    transfers[i].request = requests[i];
    transfers[i].max_bytes = options.max_response_bytes;
    transfers[i].start_at = now;
  }
  // Whatever ends the loop (a cancel, an error), no handle may stay in the multi handle.
  struct Cleanup {
    Impl& impl;
    std::vector<Transfer>& transfers;
    ~Cleanup() {
      for (Transfer& t : transfers) {
        impl.release(t);
        curl_slist_free_all(t.headers);
      }
    }
  } cleanup{*this, transfers};
  run(transfers, options, std::max<std::size_t>(1, max_concurrency), should_abort);
  std::vector<HttpResult> results;
  results.reserve(n);
  for (Transfer& t : transfers) results.push_back(std::move(t.result));
  return results;
}

std::vector<HttpResult> HttpClient::perform_many(const std::vector<HttpRequest>& requests,
                                                 const HttpOptions& options,
                                                 std::size_t max_concurrency,
                                                 const AbortCheck& should_abort) {
  std::vector<const HttpRequest*> pointers;
  pointers.reserve(requests.size());
  for (const HttpRequest& r : requests) pointers.push_back(&r);
  return impl_->run_requests(pointers.data(), pointers.size(), options, max_concurrency,
                             should_abort);
}

HttpResponse HttpClient::perform(const HttpRequest& request, const HttpOptions& options,
                                 const AbortCheck& should_abort) {
  const HttpRequest* one = &request;
  HttpResult r = std::move(impl_->run_requests(&one, 1, options, 1, should_abort).front());
  if (r.error) throw *r.error;
  return std::move(*r.response);
}

}  // namespace pgp::core::provider
