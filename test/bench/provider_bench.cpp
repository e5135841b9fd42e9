// Latency the provider core adds to an HTTP call (validation, redaction, translation, client,
// normalization) over a bare libcurl request to the same loopback fixture, and the wall time of
// perform_many for 100 requests against a fixture answering in 50 ms.
#include "core/provider/dialect.hpp"
#include "core/provider/http.hpp"
#include "core/provider/redaction.hpp"
#include "core/provider/response.hpp"
#include "common/fixture_process.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace pgp::core::provider;
using Clock = std::chrono::steady_clock;

const char* kRequest = R"({"model":"gpt-4o-mini","temperature":0.2,"max_tokens":300,"messages":[
  {"role":"system","content":"You are a support assistant. Answer briefly and politely."},
  {"role":"user","content":"Hi, my order 18832 has not arrived. You can reach me at jane.doe@example.com or +1 415 555 2671. Can you check the status and tell me when it will be delivered?"},
  {"role":"assistant","content":"Thanks, let me look that up. Could you confirm the delivery address?"},
  {"role":"user","content":"It is the one on file, the order was paid with my card ending 1111."}]})";
const std::string kKey = "sk-bench-0123456789abcdefghijklmnop";

double us_since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// The baseline: one reused easy handle posting a ready-made body, as a C extension would.
struct BareCurl {
  CURL* easy = curl_easy_init();
  curl_slist* headers = nullptr;
  std::string body, url, out;
  BareCurl(const std::string& u, const std::string& b) : body(b), url(u) {
    for (const std::string& h : request_headers(Dialect::OpenAI, kKey))
      headers = curl_slist_append(headers, h.c_str());
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, +[](char* d, std::size_t s, std::size_t n, void* u) {
      static_cast<std::string*>(u)->append(d, s * n);
      return s * n;
    });
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &out);
  }
  ~BareCurl() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
  }
  void call() {
    out.clear();
    if (curl_easy_perform(easy) != CURLE_OK) throw std::runtime_error("bare curl failed");
  }
};

// Everything privacy.provider_call does in the core, from the request's JSON text to the
// normalized answer's JSON text.
std::string provider_call(HttpClient& client, const pgp::core::redact::Engine& engine,
                          const std::string& base_url, const HttpOptions& options) {
  ChatRequest request = parse_request(std::string_view(kRequest));
  const RedactionReport report = redact_request(request, engine);
  const HttpRequest http{request_url(Dialect::OpenAI, base_url),
                         request_headers(Dialect::OpenAI, kKey),
                         to_wire(Dialect::OpenAI, request, {"gpt-4o-mini"}).dump()};
  const HttpResponse resp = client.perform(http, options);
  ChatResponse out = parse_response(Dialect::OpenAI, resp.status, resp.body, "default");
  out.redactions = report.counts;
  return to_json(out).dump();
}

void latency(int rounds) {
  pgp::test::FixtureProcess fixture({"--delay-ms", "0"});
  const auto engine = pgp::core::redact::Engine::build({});
  HttpClient client;
  const HttpOptions options;
  ChatRequest wire_request = parse_request(std::string_view(kRequest));
  redact_request(wire_request, *engine);
  BareCurl bare(request_url(Dialect::OpenAI, fixture.base_url()),
                to_wire(Dialect::OpenAI, wire_request, {"gpt-4o-mini"}).dump());
  std::vector<double> bare_us, core_us;
  for (int i = 0; i < rounds + 100; ++i) {  // the first 100 rounds warm up
    auto t = Clock::now();
    bare.call();
    const double b = us_since(t);
    t = Clock::now();
    provider_call(client, *engine, fixture.base_url(), options);
    const double c = us_since(t);
    if (i >= 100) {
      bare_us.push_back(b);
      core_us.push_back(c);
    }
  }
  for (auto [name, v] : {std::pair{"bare curl", &bare_us}, std::pair{"provider core", &core_us}})
    std::printf("%-14s p50 %7.1f us  p90 %7.1f us  p99 %7.1f us  (%d calls)\n", name,
                percentile(*v, 0.5), percentile(*v, 0.9), percentile(*v, 0.99), rounds);
  const double added = percentile(core_us, 0.5) - percentile(bare_us, 0.5);
  std::printf("added latency at p50: %.1f us (target <= 1000 us); ratio core/bare %.2fx\n", added,
              percentile(core_us, 0.5) / percentile(bare_us, 0.5));
}

void many(int repeats) {
  pgp::test::FixtureProcess fixture({"--delay-ms", "50"});
  HttpClient client;
  HttpOptions options;
  std::vector<HttpRequest> requests;
  ChatRequest r = parse_request(std::string_view(kRequest));
  for (int i = 0; i < 100; ++i)
    requests.push_back({request_url(Dialect::OpenAI, fixture.base_url()),
                        request_headers(Dialect::OpenAI, kKey),
                        to_wire(Dialect::OpenAI, r, {"gpt-4o-mini"}).dump()});
  for (std::size_t concurrency : {16u, 32u, 100u}) {
    std::vector<double> wall_ms;
    for (int rep = 0; rep < repeats; ++rep) {
      const auto t = Clock::now();
      const std::vector<HttpResult> results = client.perform_many(requests, options, concurrency);
      wall_ms.push_back(us_since(t) / 1000);
      for (const HttpResult& res : results)
        if (!res.response || res.response->status != 200) throw std::runtime_error("request failed");
    }
    std::printf("perform_many 100 x 50 ms, concurrency %3zu: median %6.1f ms, best %6.1f ms "
                "(%d runs; target <= 600 ms)\n",
                concurrency, percentile(wall_ms, 0.5), *std::min_element(wall_ms.begin(), wall_ms.end()),
                repeats);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 2000;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  latency(rounds);
  many(5);
  return 0;
}
