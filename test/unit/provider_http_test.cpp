// Unit tests of the provider HTTP client against the loopback fixture (one fixture process per
// test process): both dialects end to end, retries on 429 and 5xx, malformed and endless
// answers, hung servers cut by the abort check, timeouts, and perform_many's order and limit.
#include "core/provider/dialect.hpp"
#include "core/provider/http.hpp"
#include "core/provider/response.hpp"
#include "common/fixture_process.hpp"
#include "common/sha256_hex.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

namespace pgp::core::provider {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace ss = provider_sqlstate;

const std::string kKey = "sk-test-0123456789abcdefghij";

std::int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

class ProviderHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { fixture_ = std::make_unique<test::FixtureProcess>(); }
  static void TearDownTestSuite() { fixture_.reset(); }
  void SetUp() override {
    fixture_->control("/__reset", "{}");
    options.retry = {3, 10, 100};
    options.total_timeout_ms = 10'000;
  }

  static test::FixtureProcess& fixture() { return *fixture_; }

  // A call in `d` with `n` user messages; `mode` goes to the fixture as X-Fixture.
  HttpRequest call(Dialect d, int n = 1, const std::string& mode = {}) const {
    ChatRequest r;
    for (int i = 0; i < n; ++i) r.messages.push_back({"user", "message " + std::to_string(i)});
    HttpRequest req{request_url(d, fixture_->base_url()), request_headers(d, kKey),
                    to_wire(d, r, {"fixture-model"}).dump()};
    if (!mode.empty()) req.headers.push_back("X-Fixture: " + mode);
    return req;
  }

  // The SQLSTATE perform() fails with, or "ok".
  std::string failure(const HttpRequest& req, const AbortCheck& abort = {}) {
    try {
      client.perform(req, options, abort);
      return "ok";
    } catch (const Error& e) {
      const std::string all = std::string(e.what()) + e.detail() + e.hint();
      EXPECT_EQ(all.find(kKey), std::string::npos) << "an error carries the API key";
      return e.sqlstate();
    }
  }

  HttpClient client;
  HttpOptions options;

 private:
  static inline std::unique_ptr<test::FixtureProcess> fixture_;
};

TEST_F(ProviderHttp, openai_call_round_trips_and_is_recorded) {
  const HttpRequest req = call(Dialect::OpenAI, 3);
  const HttpResponse resp = client.perform(req, options);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.attempts, 1);
  const ChatResponse r = parse_response(Dialect::OpenAI, resp.status, resp.body, "fx");
  EXPECT_EQ(r.content, "summary of 3 messages");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.model, "fixture-model");
  EXPECT_EQ(r.usage.total_tokens, r.usage.prompt_tokens + 5);

  const json recorded = json::parse(fixture().control("/__requests"));
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0]["path"], "/v1/chat/completions");
  EXPECT_EQ(recorded[0]["body"], json::parse(req.body));
  EXPECT_EQ(recorded[0]["api_key_sha256"], test::sha256_hex(kKey));
  EXPECT_FALSE(recorded[0]["headers"].contains("authorization"));
  EXPECT_FALSE(recorded[0]["headers"].contains("expect"));
}

TEST_F(ProviderHttp, anthropic_call_round_trips_with_its_headers) {
  ChatRequest r;
  r.messages = {{"system", "be brief"}, {"user", "hi"}};
  r.max_tokens = 2;  // the fixture answers max_tokens when fewer than 5 are allowed
  const Dialect d = Dialect::Anthropic;
  const HttpRequest req{request_url(d, fixture().base_url()), request_headers(d, kKey),
                        to_wire(d, r, {"claude-fixture"}).dump()};
  const HttpResponse resp = client.perform(req, options);
  const ChatResponse out = parse_response(d, resp.status, resp.body, "fx");
  EXPECT_EQ(out.content, "summary of 1 messages");  // the system message went to "system"
  EXPECT_EQ(out.finish_reason, "length");
  const json recorded = json::parse(fixture().control("/__requests"));
  EXPECT_EQ(recorded[0]["headers"]["anthropic-version"], "2023-06-01");
  EXPECT_EQ(recorded[0]["api_key_sha256"], test::sha256_hex(kKey));
  EXPECT_EQ(recorded[0]["body"]["system"], "be brief");
}

TEST_F(ProviderHttp, a_429_is_retried_after_the_servers_retry_after) {
  fixture().control("/__control", R"({"mode":"status=429;retry-after=1","count":1})");
  const auto start = Clock::now();
  const HttpResponse resp = client.perform(call(Dialect::OpenAI), options);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.attempts, 2);
  EXPECT_GE(ms_since(start), 1000) << "Retry-After: 1 must be honoured";
  EXPECT_LT(ms_since(start), 3000);
}

TEST_F(ProviderHttp, server_errors_are_retried_then_reported_with_the_status) {
  fixture().control("/__control", R"({"mode":"status=500","count":2})");
  HttpResponse resp = client.perform(call(Dialect::OpenAI), options);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.attempts, 3);

  resp = client.perform(call(Dialect::Anthropic, 1, "status=503"), options);
  EXPECT_EQ(resp.status, 503);
  EXPECT_EQ(resp.attempts, 3);  // max_attempts
  try {
    parse_response(Dialect::Anthropic, resp.status, resp.body, "fx");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), ss::kHttpStatus);
    EXPECT_STREQ(e.what(), "provider answered with HTTP status 503");
    EXPECT_EQ(e.detail(), "The provider's error type is api_error.");
  }
}

TEST_F(ProviderHttp, client_errors_are_not_retried) {
  const HttpResponse resp = client.perform(call(Dialect::OpenAI, 1, "status=400"), options);
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(resp.attempts, 1);
}

TEST_F(ProviderHttp, malformed_json_is_pv615) {
  const HttpResponse resp = client.perform(call(Dialect::OpenAI, 1, "malformed"), options);
  EXPECT_EQ(resp.status, 200);
  try {
    parse_response(Dialect::OpenAI, resp.status, resp.body, "fx");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), ss::kMalformedResponse);
    EXPECT_EQ(std::string(e.what()).find("trunc"), std::string::npos);
  }
}

TEST_F(ProviderHttp, an_endless_body_is_cut_at_the_size_cap) {
  options.max_response_bytes = 1 << 20;
  const auto start = Clock::now();
  EXPECT_EQ(failure(call(Dialect::OpenAI, 1, "endless")), ss::kResponseTooLarge);
  EXPECT_LT(ms_since(start), 2000);
}

TEST_F(ProviderHttp, a_hung_server_is_cut_off_by_should_abort) {
  const auto start = Clock::now();
  Clock::time_point aborted_at{};
  // Simulates a cancel arriving 100 ms into the call.
  const AbortCheck abort = [&] {
    if (ms_since(start) < 100) return false;
    if (aborted_at == Clock::time_point{}) aborted_at = Clock::now();
    return true;
  };
  EXPECT_EQ(failure(call(Dialect::OpenAI, 1, "hang"), abort), ss::kCancelled);
  const std::int64_t total = ms_since(start);
  std::printf("cancel raised at 100 ms, seen at %lld ms, call ended at %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         aborted_at - start).count()),
              static_cast<long long>(total));
  // The check runs every kPollIntervalMs (20 ms), so the call ends about 120 ms in; the bound
  // leaves room for a loaded machine.
  EXPECT_LT(total, 500);
}

TEST_F(ProviderHttp, a_retry_wait_is_interruptible_too) {
  const auto start = Clock::now();
  const AbortCheck abort = [&] { return ms_since(start) >= 100; };
  fixture().control("/__control", R"({"mode":"status=429;retry-after=30","count":1})");
  options.total_timeout_ms = 60'000;
  EXPECT_EQ(failure(call(Dialect::OpenAI), abort), ss::kCancelled);
  EXPECT_LT(ms_since(start), 500);
}

TEST_F(ProviderHttp, a_hung_server_hits_the_total_timeout) {
  options.total_timeout_ms = 300;
  const auto start = Clock::now();
  EXPECT_EQ(failure(call(Dialect::OpenAI, 1, "hang")), ss::kTimeout);
  EXPECT_GE(ms_since(start), 290);
  EXPECT_LT(ms_since(start), 1000);
}

TEST_F(ProviderHttp, a_retry_after_beyond_the_time_left_gives_up_with_the_status) {
  options.total_timeout_ms = 2000;
  const HttpResponse resp =
      client.perform(call(Dialect::OpenAI, 1, "status=429;retry-after=60"), options);
  EXPECT_EQ(resp.status, 429);
  EXPECT_EQ(resp.attempts, 1);
}

TEST_F(ProviderHttp, a_refused_connection_is_pv610) {
  HttpRequest req = call(Dialect::OpenAI);
  req.url = "http://127.0.0.1:1/v1/chat/completions";
  EXPECT_EQ(failure(req), ss::kConnectionFailed);
}

// A TLS server with a self-signed certificate for 127.0.0.1 (openssl s_server), for as long as
// the object lives.
class TlsServer {
 public:
  TlsServer() : dir_(make_dir()) {
    const std::string cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
    const std::string gen = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                            "-keyout " + key + " -out " + cert + " -subj /CN=localhost "
                            "-addext subjectAltName=IP:127.0.0.1 -days 1 >/dev/null 2>&1";
    if (std::system(gen.c_str()) != 0) throw std::runtime_error("openssl req failed");
    port_ = free_port();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      const std::string accept = "127.0.0.1:" + std::to_string(port_);
      freopen("/dev/null", "w", stdout);
      freopen("/dev/null", "w", stderr);
      execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(),
             "-cert", cert.c_str(), "-key", key.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100 && !listening(); ++i) usleep(20'000);
  }
  ~TlsServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    std::system(("rm -rf " + dir_).c_str());
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/v1/chat/completions"; }
  std::string cert() const { return dir_ + "/cert.pem"; }

 private:
  static std::string make_dir() {
    char tmpl[] = "/tmp/pgp_tls_XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    return tmpl;
  }
  static int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
  }
  bool listening() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
  }

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(ProviderHttp, tls_certificates_are_verified) {
  // A missing tool fails the test (scripts/deps.sh installs the openssl CLI), never skips it.
  ASSERT_EQ(std::system("command -v openssl >/dev/null 2>&1"), 0) << "the openssl CLI is missing: run scripts/deps.sh";
  TlsServer tls;
  options.total_timeout_ms = 1000;
  HttpRequest req = call(Dialect::OpenAI);
  req.url = tls.url();
  try {
    client.perform(req, options);
    FAIL() << "a self-signed certificate was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), ss::kConnectionFailed);
    EXPECT_NE(e.detail().find("certificate"), std::string::npos) << e.detail();
  }
  // Trusting its certificate, the handshake passes (s_server -www then answers no POST: the
  // call fails later, or times out).
  options.ca_file = tls.cert();
  try {
    client.perform(req, options);
  } catch (const Error& e) {
    EXPECT_EQ(e.detail().find("certificate"), std::string::npos) << e.detail();
  }
}

TEST_F(ProviderHttp, perform_many_keeps_order_and_the_concurrency_limit) {
  std::vector<HttpRequest> requests;
  for (int i = 1; i <= 20; ++i) requests.push_back(call(Dialect::OpenAI, i, "delay=100"));
  requests[6] = call(Dialect::OpenAI, 7, "endless");
  requests[11] = call(Dialect::OpenAI, 12, "status=404");
  options.max_response_bytes = 256 << 10;
  const auto start = Clock::now();
  const std::vector<HttpResult> results = client.perform_many(requests, options, 5);
  const std::int64_t wall = ms_since(start);
  ASSERT_EQ(results.size(), 20u);
  for (int i = 1; i <= 20; ++i) {
    const HttpResult& r = results[i - 1];
    ASSERT_EQ(r.response.has_value(), !r.error.has_value()) << i;
    if (i == 7) {
      ASSERT_TRUE(r.error) << i;
      EXPECT_EQ(r.error->sqlstate(), ss::kResponseTooLarge);
    } else if (i == 12) {
      EXPECT_EQ(r.response->status, 404);
    } else {
      ASSERT_TRUE(r.response) << i;
      EXPECT_EQ(parse_response(Dialect::OpenAI, r.response->status, r.response->body, "fx").content,
                "summary of " + std::to_string(i) + " messages");
    }
  }
  // 18 delayed requests, 5 at a time: 4 rounds of 100 ms; 20 at once would take 100 ms.
  EXPECT_GE(wall, 350);
  EXPECT_LT(wall, 2000);
}

TEST_F(ProviderHttp, perform_many_is_cancelled_as_a_whole) {
  std::vector<HttpRequest> requests(10, call(Dialect::OpenAI, 1, "hang"));
  const auto start = Clock::now();
  try {
    client.perform_many(requests, options, 4, [&] { return ms_since(start) >= 100; });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), ss::kCancelled);
  }
  EXPECT_LT(ms_since(start), 500);
  // The client is still usable after a cancel.
  EXPECT_EQ(client.perform(call(Dialect::OpenAI), options).status, 200);
}

TEST(ProviderFixture, records_every_request_to_the_record_file) {
  char path[] = "/tmp/pgp_fixture_record_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    test::FixtureProcess fx({"--record", path});
    HttpClient client;
    HttpRequest req{fx.base_url() + "/v1/chat/completions",
                    request_headers(Dialect::OpenAICompatible, ""),
                    R"({"model":"m","messages":[{"role":"user","content":"a"}]})"};
    client.perform(req, {});
    client.perform(req, {});
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const json rec = json::parse(line);
    EXPECT_EQ(rec["seq"], ++lines);
    EXPECT_TRUE(rec["api_key_sha256"].is_null());  // openai-compatible without a key
    EXPECT_EQ(rec["body"]["messages"][0]["content"], "a");
  }
  EXPECT_EQ(lines, 2);
  std::remove(path);
}

}  // namespace
}  // namespace pgp::core::provider
