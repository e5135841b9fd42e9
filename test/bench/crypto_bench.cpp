// Cost of the envelope (AES-256-GCM, header, owner binding) at 1 KB and 1 MB, against the
// unauthenticated baseline of pgcrypto's raw encrypt(): AES-256-CBC through EVP with a context
// made per call. Also the naive GCM (context and implicit fetch per call, RAND_bytes per nonce)
// that the envelope's per-thread context and nonce pool replace, and the per-call cost of
// unwrapping a data key and of a pseudonym. Prints the ratios at the end.
#include "core/crypto/envelope.hpp"
#include "core/crypto/hmac.hpp"
#include "core/crypto/wrap.hpp"
#include "common/time_reporter.hpp"

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

using namespace pgp::core::crypto;

constexpr std::int64_t kKB = 1024, kMB = 1 << 20;
const EnvelopeOwner kOwner{"acme", {}};

const SecretKey& key() {
  static const SecretKey k = SecretKey::random();
  return k;
}

std::string plaintext(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

unsigned char* u(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* u(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void check(bool ok) {
  if (!ok) throw std::runtime_error("OpenSSL call failed in the benchmark");
}

void BM_EnvelopeSeal(benchmark::State& state) {
  const std::string in = plaintext(state.range(0));
  std::string out(envelope_size({}, in.size()), '\0');
  for (auto _ : state) {
    seal_envelope_into(key(), {}, kOwner, in, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_EnvelopeOpen(benchmark::State& state) {
  const std::string env = seal_envelope(key(), {}, kOwner, plaintext(state.range(0)));
  std::string out(envelope_plaintext_size(env), '\0');
  for (auto _ : state) {
    open_envelope_into(key(), kOwner, env, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

// GCM as a first version would write it: everything per call.
void BM_NaiveGcmSeal(benchmark::State& state) {
  const std::string in = plaintext(state.range(0));
  std::string out(in.size() + 28, '\0');
  for (auto _ : state) {
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                       &EVP_CIPHER_CTX_free);
    int len = 0;
    check(RAND_bytes(u(out), 12) == 1);
    check(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key().data(), u(out)) == 1);
    check(EVP_EncryptUpdate(ctx.get(), nullptr, &len, u(std::string("acme")), 4) == 1);
    check(EVP_EncryptUpdate(ctx.get(), u(out) + 12, &len, u(in), static_cast<int>(in.size())) == 1);
    check(EVP_EncryptFinal_ex(ctx.get(), u(out) + 12 + len, &len) == 1);
    check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, u(out) + 12 + in.size()) == 1);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

// pgcrypto's encrypt(data, key, 'aes'): AES-256-CBC, PKCS padding, zero IV, no authentication,
// a cipher context made per call (px_find_cipher), the cipher fetched implicitly.
void cbc(benchmark::State& state, bool encrypt) {
  const unsigned char iv[16] = {0};
  std::string in = plaintext(state.range(0));
  if (!encrypt) {  // decrypt what encrypt produced
    std::string ct(in.size() + 16, '\0');
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                       &EVP_CIPHER_CTX_free);
    int len = 0, fin = 0;
    check(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, key().data(), iv) == 1);
    check(EVP_EncryptUpdate(ctx.get(), u(ct), &len, u(in), static_cast<int>(in.size())) == 1);
    check(EVP_EncryptFinal_ex(ctx.get(), u(ct) + len, &fin) == 1);
    ct.resize(len + fin);
    in = ct;
  }
  std::string out(in.size() + 16, '\0');
  for (auto _ : state) {
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                       &EVP_CIPHER_CTX_free);
    int len = 0, fin = 0;
    check(EVP_CipherInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, key().data(), iv,
                            encrypt ? 1 : 0) == 1);
    check(EVP_CipherUpdate(ctx.get(), u(out), &len, u(in), static_cast<int>(in.size())) == 1);
    check(EVP_CipherFinal_ex(ctx.get(), u(out) + len, &fin) == 1);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_CbcEncrypt(benchmark::State& state) { cbc(state, true); }
void BM_CbcDecrypt(benchmark::State& state) { cbc(state, false); }

void BM_UnwrapDataKey(benchmark::State& state) {
  const SecretKey master = SecretKey::random();
  const WrapLabel label = WrapLabel::data_key(KeyKind::kTenant, "acme", 1);
  const std::string wrapped = wrap_secret(master, key().view(), label);
  for (auto _ : state) benchmark::DoNotOptimize(unwrap_data_key(master, wrapped, label));
}

void BM_Pseudonymize(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(pseudonymize(key(), "email", "alice.martin@example.com"));
}

void BM_PseudonymCachedDomainKey(benchmark::State& state) {
  const SecretKey domain_key = derive_pseudonym_key(key(), "email");
  for (auto _ : state)
    benchmark::DoNotOptimize(pseudonym(domain_key, "alice.martin@example.com"));
}

BENCHMARK(BM_EnvelopeSeal)->Arg(kKB)->Arg(kMB)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EnvelopeOpen)->Arg(kKB)->Arg(kMB)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NaiveGcmSeal)->Arg(kKB)->Arg(kMB)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CbcEncrypt)->Arg(kKB)->Arg(kMB)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CbcDecrypt)->Arg(kKB)->Arg(kMB)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_UnwrapDataKey)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Pseudonymize)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PseudonymCachedDomainKey)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  pgp::test::TimeReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& us = reporter.time;
  for (const auto& [size, label] : {std::pair{kKB, "1 KB"}, std::pair{kMB, "1 MB"}}) {
    const std::string arg = "/" + std::to_string(size);
    const double seal = us["BM_EnvelopeSeal" + arg], open = us["BM_EnvelopeOpen" + arg];
    const double cbc_enc = us["BM_CbcEncrypt" + arg], cbc_dec = us["BM_CbcDecrypt" + arg];
    const double naive = us["BM_NaiveGcmSeal" + arg];
    if (seal <= 0 || open <= 0) continue;
    const double mb = static_cast<double>(size) / (1 << 20);
    std::printf("envelope %s: seal %.2f us (%.0f MB/s), open %.2f us (%.0f MB/s)\n", label, seal,
                mb / seal * 1e6, open, mb / open * 1e6);
    if (cbc_enc > 0 && cbc_dec > 0)
      std::printf("ratio envelope/CBC time %s: seal %.2fx, open %.2fx\n", label, seal / cbc_enc,
                  open / cbc_dec);
    if (naive > 0) std::printf("ratio naive GCM/envelope seal time %s: %.2fx\n", label, naive / seal);
  }
  benchmark::Shutdown();
  return 0;
}
