// Cost of verify_jwt per token for HS256, RS256 and ES256 with cached public keys, against the
// naive baseline that parses the PEM on every call; prints the uncached/cached ratios at the end.
#include "core/crypto/jwt.hpp"
#include "common/test_keys.hpp"
#include "common/time_reporter.hpp"

#include <benchmark/benchmark.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

using namespace pgp::core::crypto;

constexpr std::int64_t kNow = 1'700'000'000;

using pgp::test::KeyPair;

KeyPair make_keypair(JwtAlg alg) {
  return alg == JwtAlg::RS256 ? pgp::test::make_keypair("RSA", nullptr, 2048)
                              : pgp::test::make_keypair("EC", "P-256");
}

// One key and one token per algorithm, made once.
struct Fixture {
  std::map<std::string, SigningKey, std::less<>> keys;
  std::map<JwtAlg, std::string> tokens;
  VerifyOptions opts;

  Fixture() {
    const std::string secret = "bench-secret-bench-secret-bench-secret!!";
    const KeyPair rsa = make_keypair(JwtAlg::RS256), ec = make_keypair(JwtAlg::ES256);
    keys["hs"] = {"hs", JwtAlg::HS256, secret, {}, {}, false};
    keys["rsa"] = {"rsa", JwtAlg::RS256, rsa.public_pem, {}, {}, false};
    keys["ec"] = {"ec", JwtAlg::ES256, ec.public_pem, {}, {}, false};
    const std::string payload =
        R"({"tenant_id":"acme","sub":"user-42","roles":["reader","writer"],"region":"eu",)"
        R"("iss":"https://issuer.example","aud":"pg_privacy","iat":)" +
        std::to_string(kNow) + R"(,"exp":)" + std::to_string(kNow + 600) + "}";
    tokens[JwtAlg::HS256] = sign_jwt(JwtAlg::HS256, "hs", secret, payload);
    tokens[JwtAlg::RS256] = sign_jwt(JwtAlg::RS256, "rsa", rsa.private_pem, payload);
    tokens[JwtAlg::ES256] = sign_jwt(JwtAlg::ES256, "ec", ec.private_pem, payload);
    opts.now = kNow;
    opts.issuer = "https://issuer.example";
    opts.audience = "pg_privacy";
  }

  KeyLookup lookup() const {
    return [this](std::string_view kid) -> const SigningKey* {
      auto it = keys.find(kid);
      return it == keys.end() ? nullptr : &it->second;
    };
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

// cached: the bounded KeyCache (as verify_jwt uses by default). uncached: a KeyCache of
// capacity 0, i.e. PEM parsed and the key checked on every call, as a naive verifier does.
void run(benchmark::State& state, JwtAlg alg, bool cached) {
  const Fixture& f = fixture();
  const std::string& token = f.tokens.at(alg);
  const KeyLookup lookup = f.lookup();
  KeyCache cache(cached ? KeyCache::kDefaultCapacity : 0);
  for (auto _ : state) {
    Claims c = verify_jwt(token, lookup, f.opts, cache);
    benchmark::DoNotOptimize(c);
  }
}

void BM_Verify_HS256(benchmark::State& s) { run(s, JwtAlg::HS256, true); }
void BM_Verify_RS256_cached(benchmark::State& s) { run(s, JwtAlg::RS256, true); }
void BM_Verify_RS256_uncached(benchmark::State& s) { run(s, JwtAlg::RS256, false); }
void BM_Verify_ES256_cached(benchmark::State& s) { run(s, JwtAlg::ES256, true); }
void BM_Verify_ES256_uncached(benchmark::State& s) { run(s, JwtAlg::ES256, false); }

BENCHMARK(BM_Verify_HS256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Verify_RS256_cached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Verify_RS256_uncached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Verify_ES256_cached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Verify_ES256_uncached)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fixture();  // key generation stays out of the measurements
  pgp::test::TimeReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  for (const char* alg : {"HS256", "RS256", "ES256"}) {
    const std::string base = std::string("BM_Verify_") + alg;
    const double cached = reporter.time.count(base) ? reporter.time[base] : reporter.time[base + "_cached"];
    if (cached > 0) std::printf("verify %s cached: %.2f us/op\n", alg, cached);
    const double uncached = reporter.time[base + "_uncached"];
    if (uncached > 0) std::printf("verify %s uncached: %.2f us/op\n", alg, uncached);
    if (cached > 0 && uncached > 0)
      std::printf("ratio uncached/cached %s: %.1fx\n", alg, uncached / cached);
  }
  benchmark::Shutdown();
  return 0;
}
