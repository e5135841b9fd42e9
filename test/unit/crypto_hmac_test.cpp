// Unit tests of HMAC-SHA256 (RFC 4231 vectors) and pseudonyms: deterministic, HKDF-Expand as
// documented, and different for another tenant key, domain or value.
#include "core/crypto/hmac.hpp"
#include "common/crypto_test_util.hpp"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

namespace {

using namespace pgp::core::crypto;
using pgp::test::unhex;

std::string hmac_hex(std::string_view key, std::string_view data) {
  return to_hex(hmac_sha256(key, data));
}

TEST(Hmac, matches_rfc4231_vectors) {
  EXPECT_EQ(hmac_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_hex(std::string(131, '\xaa'),
                     "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// OpenSSL's own HKDF in expand-only mode, for the documented derivation.
std::string openssl_hkdf_expand(const SecretKey& prk, const std::string& info) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                        &EVP_KDF_free);
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()),
                                                                &EVP_KDF_CTX_free);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  char digest[] = "SHA256";
  std::string key(prk.view()), info_copy = info;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, key.data(), key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info_copy.data(), info_copy.size()),
      OSSL_PARAM_construct_end()};
  std::string out(32, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     params) != 1)
    throw std::runtime_error("HKDF failed");
  return out;
}

TEST(Pseudonym, domain_key_is_hkdf_expand) {
  const SecretKey tenant = SecretKey::random();
  const std::string info = std::string("pg_privacy pseudonym v1", 24) + "email";
  EXPECT_EQ(derive_pseudonym_key(tenant, "email").view(), openssl_hkdf_expand(tenant, info));
}

TEST(Pseudonym, is_deterministic_lowercase_hex) {
  const SecretKey tenant = SecretKey::from_bytes(std::string(32, 'k'));
  const std::string p = pseudonymize(tenant, "email", "alice@example.com");
  EXPECT_EQ(p, pseudonymize(tenant, "email", "alice@example.com"));
  EXPECT_EQ(p, pseudonym(derive_pseudonym_key(tenant, "email"), "alice@example.com"));
  ASSERT_EQ(p.size(), 64u);
  EXPECT_EQ(p.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(p.find("alice"), std::string::npos);
}

TEST(Pseudonym, differs_by_tenant_domain_and_value) {
  const SecretKey a = SecretKey::random(), b = SecretKey::random();
  const std::string base = pseudonymize(a, "email", "alice@example.com");
  EXPECT_NE(base, pseudonymize(b, "email", "alice@example.com"));
  EXPECT_NE(base, pseudonymize(a, "emails", "alice@example.com"));
  EXPECT_NE(base, pseudonymize(a, "email", "alice@example.co"));
  // The NUL after the label and the derivation step keep domain and value apart.
  EXPECT_NE(pseudonymize(a, "ab", "c"), pseudonymize(a, "a", "bc"));
  EXPECT_NE(derive_pseudonym_key(a, "a"), derive_pseudonym_key(a, std::string("a\0", 2)));
}

}  // namespace
