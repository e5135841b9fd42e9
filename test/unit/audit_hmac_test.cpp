// Unit tests of the audit HMAC: RFC 4231 test vectors, and that the key matters.
#include "core/audit/hmac.hpp"

#include <gtest/gtest.h>

namespace pgp::core::audit {
namespace {

TEST(AuditHmac, matches_rfc4231_test_case_2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(AuditHmac, matches_rfc4231_test_case_1) {
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(AuditHmac, different_keys_give_different_macs) {
  EXPECT_NE(hmac_sha256_hex(std::string(32, 'a'), "ana@example.com"),
            hmac_sha256_hex(std::string(32, 'b'), "ana@example.com"));
  EXPECT_EQ(hmac_sha256_hex("k", "").size(), 64u);
}

TEST(AuditHmac, alternating_keys_each_give_their_own_mac) {
  // The context is kept keyed between calls: a change of key must take effect every time.
  const std::string k1(32, 'a'), k2(32, 'b');
  const std::string m1 = hmac_sha256_hex(k1, "v"), m2 = hmac_sha256_hex(k2, "v");
  EXPECT_EQ(hmac_sha256_hex(k1, "v"), m1);
  EXPECT_EQ(hmac_sha256_hex(k2, "v"), m2);
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_hex(k1, "v"), m1);
}

TEST(AuditHmac, subject_pseudonym_is_the_hmac_until_erased_then_the_stored_value) {
  const std::string key(32, 'k');
  SubjectPseudonym p(key);
  const std::string mac = hmac_sha256_hex(key, "u-17");
  EXPECT_EQ(p.field(std::string_view("u-17"), false), std::optional<std::string_view>(mac));
  // Erased: the column already holds the HMAC, hashed as it is, so the field is unchanged.
  EXPECT_EQ(p.field(std::string_view(mac), true), std::optional<std::string_view>(mac));
  EXPECT_EQ(p.field(std::nullopt, false), std::nullopt);
  EXPECT_EQ(p.field(std::nullopt, true), std::nullopt);
  // The cache of the last subject never answers for another one.
  EXPECT_EQ(p.field(std::string_view("u-18"), false),
            std::optional<std::string_view>(hmac_sha256_hex(key, "u-18")));
  EXPECT_EQ(p.field(std::string_view("u-17"), false), std::optional<std::string_view>(mac));
  EXPECT_EQ(p.field(std::string_view(""), false), std::optional<std::string_view>(hmac_sha256_hex(key, "")));
}

}  // namespace
}  // namespace pgp::core::audit
