// Unit tests of the JWT verification core: each refusal's SQLSTATE and order, the three
// algorithms, key validation, the key cache, and messages that never echo secrets.
#include "core/crypto/base64url.hpp"
#include "core/crypto/jwt.hpp"
#include "common/test_keys.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <memory>
#include <string>

namespace {

using namespace pgp::core::crypto;
namespace ss = pgp::core::crypto::jwt_sqlstate;
using pgp::core::Error;

constexpr std::int64_t kNow = 1'700'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-hs-secret";

using pgp::test::KeyPair;
using pgp::test::make_keypair;

const KeyPair& rsa() {
  static const KeyPair k = make_keypair("RSA", nullptr, 2048);
  return k;
}
const KeyPair& ec() {
  static const KeyPair k = make_keypair("EC", "P-256");
  return k;
}

std::string b64(std::string_view s) { return base64url_encode(s); }

// Builds a token from raw header/payload JSON and raw signature bytes, bypassing sign_jwt.
std::string forge(std::string_view header, std::string_view payload, std::string_view sig) {
  return b64(header) + "." + b64(payload) + "." + b64(sig);
}

std::string payload(std::int64_t exp = kNow + 600, const std::string& extra = "") {
  return R"({"tenant_id":"acme","sub":"user-42","roles":["reader","writer"],"region":"eu",)"
         R"("iat":)" + std::to_string(kNow - 10) + R"(,"exp":)" + std::to_string(exp) + extra + "}";
}

class Jwt : public ::testing::Test {
 protected:
  void SetUp() override {
    add({"hs", JwtAlg::HS256, kSecret, {}, {}, false});
    add({"rsa", JwtAlg::RS256, rsa().public_pem, {}, {}, false});
    add({"ec", JwtAlg::ES256, ec().public_pem, {}, {}, false});
    opts.now = kNow;
  }
  void add(SigningKey k) { keys[k.kid] = std::move(k); }
  KeyLookup lookup() {
    return [this](std::string_view kid) -> const SigningKey* {
      auto it = keys.find(std::string(kid));
      return it == keys.end() ? nullptr : &it->second;
    };
  }
  Claims verify(const std::string& token) { return verify_jwt(token, lookup(), opts, cache); }
  // The SQLSTATE verify_jwt refuses `token` with, or "ok"; remembers the error for inspection.
  std::string refusal(const std::string& token) {
    try {
      verify(token);
      return "ok";
    } catch (const Error& e) {
      last_error = std::string(e.what()) + "|" + e.detail() + "|" + e.hint();
      return e.sqlstate();
    }
  }

  std::map<std::string, SigningKey> keys;
  VerifyOptions opts;
  KeyCache cache;
  std::string last_error;
};

TEST_F(Jwt, accepts_valid_hs256) {
  Claims c = verify(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload()));
  EXPECT_EQ(c.kid, "hs");
  EXPECT_EQ(c.tenant, "acme");
  EXPECT_EQ(c.subject, "user-42");
  EXPECT_EQ(c.roles, (std::vector<std::string>{"reader", "writer"}));
  EXPECT_EQ(c.region, "eu");
  EXPECT_EQ(c.exp, kNow + 600);
}

TEST_F(Jwt, accepts_valid_rs256) {
  Claims c = verify(sign_jwt(JwtAlg::RS256, "rsa", rsa().private_pem, payload()));
  EXPECT_EQ(c.kid, "rsa");
  EXPECT_EQ(c.tenant, "acme");
}

TEST_F(Jwt, accepts_valid_es256) {
  std::string token = sign_jwt(JwtAlg::ES256, "ec", ec().private_pem, payload());
  EXPECT_EQ(base64url_decode(token.substr(token.rfind('.') + 1))->size(), 64u);
  Claims c = verify(token);
  EXPECT_EQ(c.kid, "ec");
  EXPECT_EQ(c.subject, "user-42");
}

TEST_F(Jwt, header_is_alg_typ_kid) {
  std::string token = sign_jwt(JwtAlg::HS256, "hs", kSecret, payload());
  EXPECT_EQ(*base64url_decode(token.substr(0, token.find('.'))),
            R"({"alg":"HS256","typ":"JWT","kid":"hs"})");
}

TEST_F(Jwt, parses_and_names_algorithms) {
  EXPECT_EQ(parse_jwt_alg("HS256"), JwtAlg::HS256);
  EXPECT_EQ(parse_jwt_alg("RS256"), JwtAlg::RS256);
  EXPECT_EQ(parse_jwt_alg("ES256"), JwtAlg::ES256);
  EXPECT_EQ(parse_jwt_alg("hs256"), std::nullopt);
  EXPECT_EQ(parse_jwt_alg("none"), std::nullopt);
  EXPECT_STREQ(jwt_alg_name(JwtAlg::ES256), "ES256");
}

TEST_F(Jwt, refuses_alg_none) {
  EXPECT_EQ(refusal(forge(R"({"alg":"none","kid":"hs"})", payload(), "")), ss::kUnsupportedAlg);
  EXPECT_EQ(refusal(forge(R"({"alg":"None","kid":"hs"})", payload(), "")), ss::kUnsupportedAlg);
}

TEST_F(Jwt, refuses_unsupported_algorithms) {
  EXPECT_EQ(refusal(forge(R"({"alg":"HS512","kid":"hs"})", payload(), std::string(64, 'x'))),
            ss::kUnsupportedAlg);
  EXPECT_EQ(refusal(forge(R"({"alg":"RS512","kid":"rsa"})", payload(), std::string(256, 'x'))),
            ss::kUnsupportedAlg);
  EXPECT_EQ(refusal(forge(R"({"alg":"PS256","kid":"rsa"})", payload(), "x")), ss::kUnsupportedAlg);
  // The algorithm is refused before the key is looked up.
  EXPECT_EQ(refusal(forge(R"({"alg":"HS512","kid":"nope"})", payload(), "x")), ss::kUnsupportedAlg);
}

TEST_F(Jwt, refuses_missing_or_non_string_alg) {
  EXPECT_EQ(refusal(forge(R"({"kid":"hs"})", payload(), "x")), ss::kMalformed);
  EXPECT_EQ(refusal(forge(R"({"alg":1,"kid":"hs"})", payload(), "x")), ss::kMalformed);
}

TEST_F(Jwt, refuses_hs256_token_signed_with_rsa_public_key) {
  // Classic algorithm confusion: the RSA public key (public!) used as an HMAC secret.
  std::string token = sign_jwt(JwtAlg::HS256, "rsa", rsa().public_pem, payload());
  EXPECT_EQ(refusal(token), ss::kAlgMismatch);
}

TEST_F(Jwt, refuses_rs256_token_against_hmac_key) {
  std::string token = sign_jwt(JwtAlg::RS256, "hs", rsa().private_pem, payload());
  EXPECT_EQ(refusal(token), ss::kAlgMismatch);
}

TEST_F(Jwt, refuses_unknown_kid) {
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "other", kSecret, payload())), ss::kUnknownKey);
  EXPECT_EQ(last_error.find("other"), std::string::npos);
}

TEST_F(Jwt, refuses_missing_kid) {
  std::string p = payload();
  std::string input = b64(R"({"alg":"HS256"})") + "." + b64(p);
  EXPECT_EQ(refusal(input + "." + b64("sig")), ss::kMalformed);
  EXPECT_EQ(refusal(forge(R"({"alg":"HS256","kid":""})", p, "sig")), ss::kMalformed);
  EXPECT_EQ(refusal(forge(R"({"alg":"HS256","kid":7})", p, "sig")), ss::kMalformed);
}

TEST_F(Jwt, refuses_revoked_key) {
  keys["hs"].revoked = true;
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload())), ss::kRevokedKey);
}

TEST_F(Jwt, refuses_key_outside_its_validity_window) {
  std::string token = sign_jwt(JwtAlg::HS256, "hs", kSecret, payload());
  keys["hs"].not_before = kNow + 1;
  EXPECT_EQ(refusal(token), ss::kKeyNotValid);
  keys["hs"].not_before = kNow;
  EXPECT_EQ(refusal(token), "ok");
  keys["hs"].expires_at = kNow - 1;
  EXPECT_EQ(refusal(token), ss::kKeyNotValid);
  keys["hs"].expires_at = kNow;
  EXPECT_EQ(refusal(token), "ok");
}

TEST_F(Jwt, refuses_flipped_signature_byte) {
  for (auto [alg, kid, material] :
       {std::tuple{JwtAlg::HS256, "hs", kSecret}, std::tuple{JwtAlg::RS256, "rsa", rsa().private_pem},
        std::tuple{JwtAlg::ES256, "ec", ec().private_pem}}) {
    std::string token = sign_jwt(alg, kid, material, payload());
    std::size_t dot = token.rfind('.');
    std::string sig = *base64url_decode(token.substr(dot + 1));
    sig[sig.size() / 2] ^= 0x01;
    EXPECT_EQ(refusal(token.substr(0, dot + 1) + b64(sig)), ss::kBadSignature) << kid;
  }
}

TEST_F(Jwt, refuses_tampered_payload) {
  for (auto [alg, kid, material] :
       {std::tuple{JwtAlg::HS256, "hs", kSecret}, std::tuple{JwtAlg::RS256, "rsa", rsa().private_pem},
        std::tuple{JwtAlg::ES256, "ec", ec().private_pem}}) {
    std::string token = sign_jwt(alg, kid, material, payload());
    std::size_t dot1 = token.find('.'), dot2 = token.rfind('.');
    std::string evil = R"({"tenant_id":"evil","sub":"user-42","exp":)" + std::to_string(kNow + 600) + "}";
    EXPECT_EQ(refusal(token.substr(0, dot1 + 1) + b64(evil) + token.substr(dot2)), ss::kBadSignature)
        << kid;
  }
}

TEST_F(Jwt, refuses_hs256_signed_with_another_secret) {
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret + "x", payload())), ss::kBadSignature);
}

TEST_F(Jwt, refuses_rs256_signed_by_another_key) {
  KeyPair other = make_keypair("RSA", nullptr, 2048);
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::RS256, "rsa", other.private_pem, payload())), ss::kBadSignature);
}

TEST_F(Jwt, refuses_es256_signature_of_wrong_length) {
  std::string token = sign_jwt(JwtAlg::ES256, "ec", ec().private_pem, payload());
  std::size_t dot = token.rfind('.');
  std::string input = token.substr(0, dot + 1);
  std::string sig = *base64url_decode(token.substr(dot + 1));
  EXPECT_EQ(refusal(input + b64(sig.substr(0, 63))), ss::kBadSignature);
  EXPECT_EQ(refusal(input + b64(sig + '\0')), ss::kBadSignature);
  EXPECT_EQ(refusal(input + b64("")), ss::kBadSignature);
  EXPECT_EQ(refusal(input + b64(std::string(64, '\0'))), ss::kBadSignature);
  // The DER form a naive signer would emit is not the JWS encoding.
  std::string der = "\x30\x44\x02\x20" + sig.substr(0, 32) + "\x02\x20" + sig.substr(32);
  der[4] &= 0x7F;
  der[38] &= 0x7F;
  EXPECT_EQ(refusal(input + b64(der)), ss::kBadSignature);
}

TEST_F(Jwt, refuses_rs256_signature_of_wrong_length) {
  std::string token = sign_jwt(JwtAlg::RS256, "rsa", rsa().private_pem, payload());
  std::size_t dot = token.rfind('.');
  std::string sig = *base64url_decode(token.substr(dot + 1));
  EXPECT_EQ(refusal(token.substr(0, dot + 1) + b64(sig.substr(1))), ss::kBadSignature);
  EXPECT_EQ(refusal(token.substr(0, dot + 1) + b64(std::string(1, '\0') + sig)), ss::kBadSignature);
}

TEST_F(Jwt, refuses_expired_token_and_honours_leeway) {
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload(kNow - 10))), "ok");
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload(kNow - 31))), ss::kExpired);
  opts.leeway = 0;
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload(kNow))), ss::kExpired);
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload(kNow + 1))), "ok");
}

TEST_F(Jwt, requires_exp_unless_told_otherwise) {
  std::string token = sign_jwt(JwtAlg::HS256, "hs", kSecret, R"({"tenant_id":"t","sub":"s"})");
  EXPECT_EQ(refusal(token), ss::kExpired);
  opts.require_exp = false;
  Claims c = verify(token);
  EXPECT_EQ(c.exp, 0);
  EXPECT_TRUE(c.roles.empty());
  EXPECT_EQ(c.region, "");
}

TEST_F(Jwt, accepts_extreme_and_fractional_exp) {
  std::string p = R"({"tenant_id":"t","sub":"s","exp":18446744073709551615})";
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, p)), "ok");
  p = R"({"tenant_id":"t","sub":"s","exp":1e300})";
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, p)), "ok");
  p = R"({"tenant_id":"t","sub":"s","exp":)" + std::to_string(kNow + 100) + ".5}";
  EXPECT_EQ(verify(sign_jwt(JwtAlg::HS256, "hs", kSecret, p)).exp, kNow + 100);
  p = R"({"tenant_id":"t","sub":"s","exp":-9223372036854775808})";
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, p)), ss::kExpired);
}

TEST_F(Jwt, refuses_non_numeric_exp) {
  std::string p = R"({"tenant_id":"t","sub":"s","exp":"tomorrow"})";
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, p)), ss::kMalformed);
}

TEST_F(Jwt, refuses_nbf_in_future) {
  std::string late = "," R"("nbf":)" + std::to_string(kNow + 31);
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload(kNow + 600, late))),
            ss::kNotYetValid);
  std::string within = "," R"("nbf":)" + std::to_string(kNow + 30);
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload(kNow + 600, within))), "ok");
}

TEST_F(Jwt, refuses_iat_in_future) {
  std::string p = R"({"tenant_id":"t","sub":"s","exp":)" + std::to_string(kNow + 600) +
                  R"(,"iat":)" + std::to_string(kNow + 120) + "}";
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, p)), ss::kNotYetValid);
}

TEST_F(Jwt, checks_issuer) {
  opts.issuer = "https://issuer.example";
  std::string good = payload(kNow + 600, R"(,"iss":"https://issuer.example")");
  std::string bad = payload(kNow + 600, R"(,"iss":"https://evil.example")");
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, good)), "ok");
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, bad)), ss::kWrongIssuer);
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload())), ss::kWrongIssuer);
  EXPECT_EQ(last_error.find("evil"), std::string::npos);
}

TEST_F(Jwt, checks_audience_string_and_array) {
  opts.audience = "pg_privacy";
  auto with_aud = [&](const std::string& aud) {
    return sign_jwt(JwtAlg::HS256, "hs", kSecret, payload(kNow + 600, R"(,"aud":)" + aud));
  };
  EXPECT_EQ(refusal(with_aud(R"("pg_privacy")")), "ok");
  EXPECT_EQ(refusal(with_aud(R"(["other","pg_privacy"])")), "ok");
  EXPECT_EQ(refusal(with_aud(R"("other")")), ss::kWrongAudience);
  EXPECT_EQ(refusal(with_aud(R"(["other",1])")), ss::kWrongAudience);
  EXPECT_EQ(refusal(with_aud(R"([])")), ss::kWrongAudience);
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, payload())), ss::kWrongAudience);
  opts.audience.clear();
  EXPECT_EQ(refusal(with_aud(R"("other")")), "ok");
}

TEST_F(Jwt, refuses_oversized_token) {
  std::string big = payload(kNow + 600, R"(,"pad":")" + std::string(9000, 'a') + "\"");
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, big)), ss::kTooLarge);
  // Size comes first: even garbage of that size is refused as too large.
  EXPECT_EQ(refusal(std::string(8193, '!')), ss::kTooLarge);
  EXPECT_NE(refusal(std::string(8192, '!')), ss::kTooLarge);
}

TEST_F(Jwt, refuses_malformed_structure) {
  std::string token = sign_jwt(JwtAlg::HS256, "hs", kSecret, payload());
  std::size_t dot2 = token.rfind('.');
  EXPECT_EQ(refusal(""), ss::kMalformed);
  EXPECT_EQ(refusal(token.substr(0, dot2)), ss::kMalformed);          // 2 segments
  EXPECT_EQ(refusal(token + ".abc"), ss::kMalformed);                 // 4 segments
  EXPECT_EQ(refusal(token + "."), ss::kMalformed);                    // 4 segments, last empty
  EXPECT_EQ(refusal("a.b"), ss::kMalformed);
  EXPECT_EQ(refusal(token + "="), ss::kMalformed);                    // padding
  EXPECT_EQ(refusal(" " + token), ss::kMalformed);                    // whitespace
  std::string bad_b64 = token;
  bad_b64[2] = '+';
  EXPECT_EQ(refusal(bad_b64), ss::kMalformed);
  EXPECT_EQ(refusal(b64("not json") + "." + b64(payload()) + "." + b64("s")), ss::kMalformed);
  EXPECT_EQ(refusal(b64(R"({"alg":"HS256","kid":"hs"})") + "." + b64("{\"a\":") + "." + b64("s")),
            ss::kMalformed);
  EXPECT_EQ(refusal(forge(R"(["alg","HS256"])", payload(), "s")), ss::kMalformed);
  EXPECT_EQ(refusal(forge(R"({"alg":"HS256","kid":"hs"})", R"(["tenant_id"])", "s")),
            ss::kMalformed);
  EXPECT_EQ(refusal(forge(R"({"alg":"HS256","kid":"hs"})", "{} {}", "s")), ss::kMalformed);
}

TEST_F(Jwt, refuses_padding_in_any_segment) {
  std::string header = b64(R"({"alg":"HS256","kid":"hs"})");
  ASSERT_NE(header.size() % 4, 0u);
  std::string padded = header + std::string(4 - header.size() % 4, '=');
  EXPECT_EQ(refusal(padded + "." + b64(payload()) + "." + b64("s")), ss::kMalformed);
}

TEST_F(Jwt, refuses_non_canonical_base64url) {
  // "QR" decodes to 'A' with non-zero trailing bits (canonical form is "QQ").
  EXPECT_EQ(base64url_decode("QQ"), std::string("A"));
  EXPECT_EQ(base64url_decode("QR"), std::nullopt);
  EXPECT_EQ(base64url_decode("Q"), std::nullopt);
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  std::string token = sign_jwt(JwtAlg::HS256, "hs", kSecret, payload());
  std::size_t dot = token.rfind('.');
  std::string sig = token.substr(dot + 1);  // 43 chars: last has 2 unused bits
  ASSERT_EQ(sig.size(), 43u);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::size_t v = alphabet.find(sig.back());
  sig.back() = alphabet[v ^ 1];
  EXPECT_EQ(refusal(token.substr(0, dot + 1) + sig), ss::kMalformed);
}

TEST_F(Jwt, base64url_round_trips_every_length) {
  std::string bytes;
  for (int n = 0; n < 20; ++n) {
    std::string enc = base64url_encode(bytes);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(base64url_decode(enc), bytes) << n;
    bytes.push_back(static_cast<char>(0xF0 + n * 7));
  }
}

TEST_F(Jwt, refuses_duplicate_claims_and_crit) {
  std::string dup = R"({"tenant_id":"acme","sub":"s","exp":)" + std::to_string(kNow + 600) +
                    R"(,"tenant_id":"other"})";
  EXPECT_EQ(refusal(forge(R"({"alg":"HS256","kid":"hs"})", dup, "s")), ss::kMalformed);
  EXPECT_THROW(sign_jwt(JwtAlg::HS256, "hs", kSecret, dup), Error);
  EXPECT_EQ(refusal(forge(R"({"alg":"HS256","kid":"hs","kid":"rsa"})", payload(), "s")),
            ss::kMalformed);
  EXPECT_EQ(refusal(forge(R"({"alg":"HS256","kid":"hs","crit":["b64"],"b64":false})", payload(),
                          "s")),
            ss::kMalformed);
}

TEST_F(Jwt, refuses_deeply_nested_json) {
  std::string deep = std::string(100, '[') + std::string(100, ']');
  std::string p = R"({"tenant_id":"t","sub":"s","x":)" + deep + "}";
  EXPECT_EQ(refusal(forge(R"({"alg":"HS256","kid":"hs"})", p, "s")), ss::kMalformed);
}

TEST_F(Jwt, refuses_missing_tenant_or_subject) {
  std::string exp = std::to_string(kNow + 600);
  auto sign = [&](const std::string& p) { return sign_jwt(JwtAlg::HS256, "hs", kSecret, p); };
  EXPECT_EQ(refusal(sign(R"({"sub":"s","exp":)" + exp + "}")), ss::kMissingClaim);
  EXPECT_NE(last_error.find("tenant_id"), std::string::npos);
  EXPECT_EQ(refusal(sign(R"({"tenant_id":"t","exp":)" + exp + "}")), ss::kMissingClaim);
  EXPECT_EQ(refusal(sign(R"({"tenant_id":"","sub":"s","exp":)" + exp + "}")), ss::kMissingClaim);
  EXPECT_EQ(refusal(sign(R"({"tenant_id":5,"sub":"s","exp":)" + exp + "}")), ss::kMissingClaim);
  EXPECT_EQ(refusal(sign(R"({"tenant_id":"t","sub":null,"exp":)" + exp + "}")), ss::kMissingClaim);
  EXPECT_EQ(refusal(sign(R"({"tenant_id":"t\u0000x","sub":"s","exp":)" + exp + "}")),
            ss::kMissingClaim);
}

TEST_F(Jwt, honours_configured_claim_names) {
  opts.tenant_claim = "org";
  opts.subject_claim = "uid";
  opts.roles_claim = "groups";
  opts.region_claim = "geo";
  std::string p = R"({"org":"o1","uid":"u1","groups":"admin","geo":"us","exp":)" +
                  std::to_string(kNow + 600) + "}";
  Claims c = verify(sign_jwt(JwtAlg::HS256, "hs", kSecret, p));
  EXPECT_EQ(c.tenant, "o1");
  EXPECT_EQ(c.subject, "u1");
  EXPECT_EQ(c.roles, std::vector<std::string>{"admin"});
  EXPECT_EQ(c.region, "us");
}

TEST_F(Jwt, accepts_roles_as_string_or_array_and_refuses_other_types) {
  auto roles = [&](const std::string& r) {
    return sign_jwt(JwtAlg::HS256, "hs", kSecret,
                    R"({"tenant_id":"t","sub":"s","exp":)" + std::to_string(kNow + 600) +
                        R"(,"roles":)" + r + "}");
  };
  EXPECT_EQ(verify(roles(R"("admin")")).roles, std::vector<std::string>{"admin"});
  EXPECT_EQ(verify(roles(R"(["a","b"])")).roles, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(verify(roles("[]")).roles.empty());
  EXPECT_EQ(refusal(roles("1")), ss::kMissingClaim);
  EXPECT_EQ(refusal(roles(R"({"a":1})")), ss::kMissingClaim);
  EXPECT_EQ(refusal(roles(R"(["a",2])")), ss::kMissingClaim);
  EXPECT_EQ(refusal(roles("null")), ss::kMissingClaim);
  EXPECT_NE(last_error.find("roles"), std::string::npos);
}

TEST_F(Jwt, refuses_region_of_wrong_type) {
  std::string p = R"({"tenant_id":"t","sub":"s","region":["eu"],"exp":)" +
                  std::to_string(kNow + 600) + "}";
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, p)), ss::kMissingClaim);
}

TEST_F(Jwt, checks_run_in_documented_order) {
  // Revoked beats key window and algorithm mismatch; mismatch beats a bad signature;
  // a bad signature beats expiry; expiry beats a missing tenant.
  keys["rsa"].revoked = true;
  keys["rsa"].expires_at = kNow - 100;
  std::string confused = sign_jwt(JwtAlg::HS256, "rsa", rsa().public_pem, payload());
  EXPECT_EQ(refusal(confused), ss::kRevokedKey);
  keys["rsa"].revoked = false;
  EXPECT_EQ(refusal(confused), ss::kKeyNotValid);
  keys["rsa"].expires_at.reset();
  EXPECT_EQ(refusal(confused), ss::kAlgMismatch);
  std::string expired_no_tenant = R"({"sub":"s","exp":)" + std::to_string(kNow - 1000) + "}";
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret + "!", expired_no_tenant)),
            ss::kBadSignature);
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::HS256, "hs", kSecret, expired_no_tenant)), ss::kExpired);
}

TEST_F(Jwt, refuses_stored_key_with_bad_material_at_verification) {
  // A key row that escaped validation (e.g. an EC key registered as RS256) is not used.
  keys["rsa"].material = ec().public_pem;
  EXPECT_EQ(refusal(sign_jwt(JwtAlg::RS256, "rsa", rsa().private_pem, payload())), ss::kInvalidKey);
  keys["hs"].material = "short";
  EXPECT_EQ(refusal(forge(R"({"alg":"HS256","kid":"hs"})", payload(), "s")), ss::kInvalidKey);
}

TEST_F(Jwt, validate_signing_key_accepts_good_material) {
  EXPECT_NO_THROW(validate_signing_key(JwtAlg::HS256, std::string(32, 'k')));
  EXPECT_NO_THROW(validate_signing_key(JwtAlg::RS256, rsa().public_pem));
  EXPECT_NO_THROW(validate_signing_key(JwtAlg::ES256, ec().public_pem));
}

TEST_F(Jwt, validate_signing_key_refuses_bad_material) {
  auto code = [](JwtAlg alg, const std::string& material) -> std::string {
    try {
      validate_signing_key(alg, material);
      return "ok";
    } catch (const Error& e) {
      std::string all = std::string(e.what()) + e.detail() + e.hint();
      // No line of the material (a PEM's base64 body, a secret) is echoed.
      std::size_t start = 0;
      while (start < material.size()) {
        std::size_t end = material.find('\n', start);
        if (end == std::string::npos) end = material.size();
        std::string line = material.substr(start, end - start);
        if (line.size() >= 8 && line.find("-----") == std::string::npos &&
            all.find(line) != std::string::npos)
          return "leak";
        start = end + 1;
      }
      return e.sqlstate();
    }
  };
  EXPECT_EQ(code(JwtAlg::HS256, std::string(31, 'k')), ss::kInvalidKey);
  EXPECT_EQ(code(JwtAlg::HS256, ""), ss::kInvalidKey);
  EXPECT_EQ(code(JwtAlg::RS256, make_keypair("RSA", nullptr, 1024).public_pem), ss::kInvalidKey);
  EXPECT_EQ(code(JwtAlg::ES256, make_keypair("EC", "P-384").public_pem), ss::kInvalidKey);
  EXPECT_EQ(code(JwtAlg::RS256, ec().public_pem), ss::kInvalidKey);
  EXPECT_EQ(code(JwtAlg::ES256, rsa().public_pem), ss::kInvalidKey);
  EXPECT_EQ(code(JwtAlg::RS256, "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n"),
            ss::kInvalidKey);
  EXPECT_EQ(code(JwtAlg::ES256, "not a key at all"), ss::kInvalidKey);
  // A private key is not a public key.
  EXPECT_EQ(code(JwtAlg::RS256, rsa().private_pem), ss::kInvalidKey);
}

TEST_F(Jwt, sign_refuses_bad_input) {
  EXPECT_THROW(sign_jwt(JwtAlg::HS256, "hs", kSecret, "[1,2]"), Error);
  EXPECT_THROW(sign_jwt(JwtAlg::HS256, "hs", kSecret, "not json"), Error);
  EXPECT_THROW(sign_jwt(JwtAlg::HS256, "", kSecret, "{}"), Error);
  EXPECT_THROW(sign_jwt(JwtAlg::HS256, "hs", "short", "{}"), Error);
  EXPECT_THROW(sign_jwt(JwtAlg::ES256, "ec", rsa().private_pem, "{}"), Error);
  EXPECT_THROW(sign_jwt(JwtAlg::RS256, "rsa", "garbage", "{}"), Error);
}

TEST_F(Jwt, error_messages_never_contain_token_secret_kid_or_claims) {
  add({"kid-secret-name", JwtAlg::HS256, kSecret, {}, {}, true});
  opts.issuer = "iss-expected";
  opts.audience = "aud-expected";
  std::vector<std::string> tokens = {
      sign_jwt(JwtAlg::HS256, "kid-secret-name", kSecret, payload()),    // revoked
      sign_jwt(JwtAlg::HS256, "unknown-kid-value", kSecret, payload()),  // unknown
      sign_jwt(JwtAlg::HS256, "hs", kSecret + "x", payload()),           // bad signature
      sign_jwt(JwtAlg::HS256, "hs", kSecret, payload(kNow - 1000)),      // expired
      sign_jwt(JwtAlg::HS256, "hs", kSecret, payload()),                 // wrong issuer
      sign_jwt(JwtAlg::HS256, "hs", kSecret, payload(kNow + 600, R"(,"iss":"iss-expected")")),
      sign_jwt(JwtAlg::HS256, "hs", kSecret,                             // roles of wrong type
               R"({"tenant_id":"acme","sub":"user-42","roles":7,"iss":"iss-expected",)"
               R"("aud":"aud-expected","exp":)" + std::to_string(kNow + 600) + "}"),
      sign_jwt(JwtAlg::HS256, "rsa", rsa().public_pem, payload()),        // confusion
      forge(R"({"alg":"none","kid":"hs"})", payload(), ""),
  };
  for (const std::string& token : tokens) {
    std::string code = refusal(token);
    ASSERT_NE(code, "ok");
    const std::vector<std::string> needles = {
        token, kSecret, "kid-secret-name", "unknown-kid-value", "acme", "user-42", "BEGIN",
        token.substr(0, token.find('.'))};
    for (const std::string& needle : needles) {
      EXPECT_EQ(last_error.find(needle), std::string::npos) << code << ": " << last_error;
    }
    EXPECT_FALSE(last_error.empty());
    char first = last_error[0];
    EXPECT_TRUE(first >= 'a' && first <= 'z') << last_error;
    EXPECT_NE(last_error.substr(0, last_error.find('|')).back(), '.') << last_error;
  }
}

TEST_F(Jwt, key_cache_parses_each_key_once) {
  std::string rs = sign_jwt(JwtAlg::RS256, "rsa", rsa().private_pem, payload());
  std::string es = sign_jwt(JwtAlg::ES256, "ec", ec().private_pem, payload());
  for (int i = 0; i < 5; ++i) {
    verify(rs);
    verify(es);
  }
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.hits(), 8u);
  EXPECT_EQ(cache.size(), 2u);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(Jwt, key_cache_is_bounded_and_evicts_least_recently_used) {
  KeyCache small(2);
  KeyPair a = make_keypair("EC", "P-256"), b = make_keypair("EC", "P-256"),
          c = make_keypair("EC", "P-256");
  small.get(JwtAlg::ES256, a.public_pem);
  small.get(JwtAlg::ES256, b.public_pem);
  small.get(JwtAlg::ES256, a.public_pem);  // a is now the most recent
  small.get(JwtAlg::ES256, c.public_pem);  // evicts b
  EXPECT_EQ(small.size(), 2u);
  EXPECT_EQ(small.misses(), 3u);
  small.get(JwtAlg::ES256, a.public_pem);
  EXPECT_EQ(small.misses(), 3u);
  small.get(JwtAlg::ES256, b.public_pem);
  EXPECT_EQ(small.misses(), 4u);
  EXPECT_EQ(small.size(), 2u);
}

TEST_F(Jwt, key_cache_keeps_key_alive_after_eviction) {
  KeyCache small(1);
  PkeyPtr held = small.get(JwtAlg::RS256, rsa().public_pem);
  small.get(JwtAlg::ES256, ec().public_pem);  // evicts the RSA entry
  small.clear();
  EXPECT_NE(held, nullptr);
  std::string token = sign_jwt(JwtAlg::RS256, "rsa", rsa().private_pem, payload());
  EXPECT_EQ(refusal(token), "ok");
}

TEST_F(Jwt, uncached_mode_parses_every_time) {
  KeyCache none(0);
  std::string token = sign_jwt(JwtAlg::ES256, "ec", ec().private_pem, payload());
  for (int i = 0; i < 3; ++i) verify_jwt(token, lookup(), opts, none);
  EXPECT_EQ(none.misses(), 3u);
  EXPECT_EQ(none.size(), 0u);
}

TEST_F(Jwt, default_overload_uses_shared_cache) {
  std::string token = sign_jwt(JwtAlg::RS256, "rsa", rsa().private_pem, payload());
  std::size_t before = KeyCache::shared().hits() + KeyCache::shared().misses();
  EXPECT_EQ(verify_jwt(token, lookup(), opts).tenant, "acme");
  EXPECT_EQ(KeyCache::shared().hits() + KeyCache::shared().misses(), before + 1);
}

TEST_F(Jwt, null_lookup_means_unknown_key) {
  std::string token = sign_jwt(JwtAlg::HS256, "hs", kSecret, payload());
  EXPECT_THROW(
      {
        try {
          verify_jwt(token, KeyLookup{}, opts, cache);
        } catch (const Error& e) {
          EXPECT_STREQ(e.sqlstate().c_str(), ss::kUnknownKey);
          throw;
        }
      },
      Error);
}

}  // namespace
