// HMAC-SHA256 over EVP_MAC (the implementation fetched once per process) and the pseudonym
// derivation described in hmac.hpp and docs/crypto-format.md.
#include "core/crypto/hmac.hpp"

#include "core/crypto/openssl_util.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace pgp::core::crypto {

namespace {

struct MacFree {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};
using MacPtr = std::unique_ptr<EVP_MAC, MacFree>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

// A context with the digest already set, duplicated per call: setting "SHA256" by name on a
// fresh context fetches the digest every time, a quarter of the cost of a short HMAC
// (test/bench/crypto_bench.cpp). Constructed after OpenSSL is initialised so that it is
// destroyed before OpenSSL's own atexit cleanup runs.
const EVP_MAC_CTX* hmac_sha256_template() {
  static const MacCtxPtr ctx = []() -> MacCtxPtr {
    OPENSSL_init_crypto(0, nullptr);
    const MacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    MacCtxPtr c(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end()};
    // Initialised with a fixed, public key: some OpenSSL 3.0 releases cannot duplicate an
    // HMAC context that was never initialised. Every call replaces the key.
    static constexpr unsigned char kPublicKey[32] = {0};
    if (c && EVP_MAC_init(c.get(), kPublicKey, sizeof kPublicKey, params) != 1) c.reset();
    return c;
  }();
  if (!ctx) fail_internal("HMAC-SHA256 is not available");
  return ctx.get();
}

// The NUL ends the label, so no domain can extend it into another label.
constexpr char kPseudonymInfo[] = "pg_privacy pseudonym v1";

}  // namespace

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
  ErrQueueGuard guard;
  MacCtxPtr ctx(EVP_MAC_CTX_dup(hmac_sha256_template()));
  if (!ctx) fail_internal("EVP_MAC_CTX_dup failed");
  Sha256Digest out{};
  std::size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 || out_len != out.size())
    fail_internal("HMAC-SHA256 failed");
  return out;
}

std::string to_hex(const Sha256Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest.size());
  for (unsigned char b : digest) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

SecretKey derive_pseudonym_key(const SecretKey& tenant_pseudonym_key, std::string_view domain) {
  std::string info(kPseudonymInfo, sizeof kPseudonymInfo);  // with its NUL
  info += domain;
  info += '\x01';  // HKDF's block counter: T(1)
  Sha256Digest okm = hmac_sha256(tenant_pseudonym_key.view(), info);
  SecretKey key = SecretKey::from_bytes({reinterpret_cast<const char*>(okm.data()), okm.size()});
  OPENSSL_cleanse(okm.data(), okm.size());
  return key;
}

std::string pseudonym(const SecretKey& domain_key, std::string_view value) {
  return to_hex(hmac_sha256(domain_key.view(), value));
}

std::string pseudonymize(const SecretKey& tenant_pseudonym_key, std::string_view domain,
                         std::string_view value) {
  return pseudonym(derive_pseudonym_key(tenant_pseudonym_key, domain), value);
}

}  // namespace pgp::core::crypto
