// Unit tests of the redaction validators: checksums, number plans, placeholders and entropy,
// including the look-alikes each one exists to reject.
#include "core/redact/validators.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgp::core::redact::detail {
namespace {

std::optional<Span> whole(Check check, std::string_view text) { return check(text, {0, text.size()}); }

TEST(RedactValidators, luhn_accepts_valid_and_rejects_off_by_one) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("4111 1111 1111 1111"));
  EXPECT_TRUE(luhn_valid("378282246310005"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_FALSE(luhn_valid("4057 9747 8188 9337"));
  EXPECT_FALSE(luhn_valid(""));
}

TEST(RedactValidators, card_issuer_ranges_and_lengths) {
  EXPECT_TRUE(card_issuer_valid("4111111111111111"));     // Visa
  EXPECT_TRUE(card_issuer_valid("5555555555554444"));     // Mastercard 51-55
  EXPECT_TRUE(card_issuer_valid("2221000000000009"));     // Mastercard 2221-2720
  EXPECT_TRUE(card_issuer_valid("378282246310005"));      // Amex
  EXPECT_TRUE(card_issuer_valid("6011111111111117"));     // Discover
  EXPECT_TRUE(card_issuer_valid("3530111333300000"));     // JCB
  EXPECT_TRUE(card_issuer_valid("30569309025904"));       // Diners
  EXPECT_TRUE(card_issuer_valid("6200000000000005"));     // UnionPay
  EXPECT_TRUE(card_issuer_valid("6759649826438453"));     // Maestro
  EXPECT_FALSE(card_issuer_valid("378282246310005000"));  // Amex is 15 digits
  EXPECT_FALSE(card_issuer_valid("9111111111111111"));    // no issuer
  EXPECT_FALSE(card_issuer_valid("1234567812345670"));
}

TEST(RedactValidators, check_card_rejects_luhn_invalid_and_odd_groupings) {
  EXPECT_TRUE(whole(check_card, "4111 1111 1111 1111"));
  EXPECT_TRUE(whole(check_card, "4111-1111-1111-1111"));
  EXPECT_TRUE(whole(check_card, "3782 822463 10005"));
  EXPECT_FALSE(whole(check_card, "4111 1111 1111 1112"));   // Luhn
  EXPECT_FALSE(whole(check_card, "4111-1111 1111-1111"));   // mixed separators
  EXPECT_FALSE(whole(check_card, "41 1111 1111 1111 11"));  // not a card grouping
  EXPECT_FALSE(whole(check_card, "4177763170669074"));      // order number, Luhn-invalid
}

TEST(RedactValidators, check_card_drops_a_trailing_group) {
  std::string t = "4111 1111 1111 1111 2024";
  auto s = whole(check_card, t);
  ASSERT_TRUE(s);
  EXPECT_EQ(t.substr(s->begin, s->end - s->begin), "4111 1111 1111 1111");
}

TEST(RedactValidators, iban_mod97_and_country_length) {
  EXPECT_TRUE(iban_valid("GB82 WEST 1234 5698 7654 32"));
  EXPECT_TRUE(iban_valid("DE89370400440532013000"));
  EXPECT_TRUE(iban_valid("NL91ABNA0417164300"));
  EXPECT_FALSE(iban_valid("GB82 WEST 1234 5698 7654 33"));  // checksum
  EXPECT_FALSE(iban_valid("DE8937040044053201300"));        // length
  EXPECT_FALSE(iban_valid("ZZ82WEST12345698765432"));       // no such country
  EXPECT_EQ(iban_length("FR"), 27);
  EXPECT_EQ(iban_length("XX"), 0);
}

TEST(RedactValidators, check_iban_keeps_the_country_length) {
  std::string t = "DE89 3704 0044 0532 0130 00 EURO";
  auto s = whole(check_iban, t);
  ASSERT_TRUE(s);
  EXPECT_EQ(t.substr(s->begin, s->end - s->begin), "DE89 3704 0044 0532 0130 00");
}

TEST(RedactValidators, ssn_rules) {
  EXPECT_TRUE(us_ssn_valid("077-65-6124"));
  EXPECT_TRUE(us_ssn_valid("123 45 6789"));
  EXPECT_FALSE(us_ssn_valid("000-12-3456"));
  EXPECT_FALSE(us_ssn_valid("666-12-3456"));
  EXPECT_FALSE(us_ssn_valid("900-12-3456"));
  EXPECT_FALSE(us_ssn_valid("123-00-4567"));
  EXPECT_FALSE(us_ssn_valid("123-45-0000"));
}

TEST(RedactValidators, ipv4_and_ipv6_parsing) {
  EXPECT_TRUE(ipv4_valid("1.2.3.4"));
  EXPECT_TRUE(ipv4_valid("255.255.255.0"));
  EXPECT_FALSE(ipv4_valid("256.1.1.1"));
  EXPECT_FALSE(ipv4_valid("01.2.3.4"));
  EXPECT_FALSE(ipv4_valid("1.2.3"));
  EXPECT_TRUE(ipv6_valid("2001:db8::8a2e:370:7334"));
  EXPECT_TRUE(ipv6_valid("fe80::1"));
  EXPECT_TRUE(ipv6_valid("::1"));
  EXPECT_TRUE(ipv6_valid("::ffff:192.0.2.1"));
  EXPECT_TRUE(ipv6_valid("2001:0db8:85a3:0000:0000:8a2e:0370:7334"));
  EXPECT_FALSE(ipv6_valid("12:30:45"));
  EXPECT_FALSE(ipv6_valid("1::2::3"));
  EXPECT_FALSE(ipv6_valid("00:1a:2b:3c:4d:5e"));
  EXPECT_FALSE(ipv6_valid("12345::1"));
}

TEST(RedactValidators, phone_country_lengths) {
  EXPECT_TRUE(phone_country_valid("14155552671"));
  EXPECT_TRUE(phone_country_valid("442079460958"));
  EXPECT_TRUE(phone_country_valid("33630700197"));
  EXPECT_TRUE(phone_country_valid("420646208990"));
  EXPECT_FALSE(phone_country_valid("11155552671"));    // NANP area code cannot start with 1
  EXPECT_FALSE(phone_country_valid("3363070019712"));  // France has 9 national digits
  EXPECT_FALSE(phone_country_valid("0123456789"));
}

TEST(RedactValidators, placeholders_are_recognised) {
  for (const char* p : {"sk-your-key-here", "<your password>", "<token>", "YOUR_API_KEY", "xxxxxxxx",
                        "changeme", "${DB_PASSWORD}", "{{ secret }}", "********", "password",
                        "AKIAIOSFODNN7EXAMPLE", "[REDACTED]", "%(password)s"})
    EXPECT_TRUE(is_placeholder(p)) << p;
  for (const char* p : {"hunter2", "Tr0ub4dor&3", "wZj#PTg27&*XTYXxTNX", "$ecret123"})
    EXPECT_FALSE(is_placeholder(p)) << p;
}

TEST(RedactValidators, entropy_separates_random_from_words) {
  EXPECT_LT(shannon_entropy("aaaaaaaa"), 0.01);
  EXPECT_NEAR(shannon_entropy("abcd"), 2.0, 1e-9);
  EXPECT_TRUE(looks_random("9fK2xQ7vL0pR4tZ8", 12, 3.0));
  EXPECT_FALSE(looks_random("internationalization", 12, 3.0));  // one character class
  EXPECT_FALSE(looks_random("your-api-key-here", 12, 3.0));
  EXPECT_FALSE(looks_random("short1A", 12, 3.0));
}

TEST(RedactValidators, jwt_needs_a_jose_header) {
  EXPECT_TRUE(whole(check_jwt, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"));
  EXPECT_FALSE(whole(check_jwt, "eyJub3RoaW5nIjoxfQ.eyJzdWIiOiIxIn0.c2ln"));  // {"nothing":1}
}

TEST(RedactValidators, openai_keys_need_length_and_variety) {
  EXPECT_TRUE(whole(check_openai, "sk-proj-4f9Q2xLk8RtY7uVb3NcZ1aWq6EjHs5Dm"));
  EXPECT_FALSE(whole(check_openai, "sk-your-key-here"));
  EXPECT_FALSE(whole(check_openai, "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
  EXPECT_FALSE(whole(check_openai, "sk-proj-this-is-not-a-real-key-at-all"));
  EXPECT_FALSE(whole(check_openai, "sk-ant-api03-4f9Q2xLk8RtY7uVb3NcZ1aWq6EjHs5Dm"));
}

TEST(RedactValidators, validators_by_name) {
  EXPECT_NE(check_by_name("luhn"), nullptr);
  EXPECT_NE(check_by_name("iban"), nullptr);
  EXPECT_NE(check_by_name("us_ssn"), nullptr);
  EXPECT_NE(check_by_name("ipv4"), nullptr);
  EXPECT_NE(check_by_name("entropy"), nullptr);
  EXPECT_EQ(check_by_name("crc32"), nullptr);
}

}  // namespace
}  // namespace pgp::core::redact::detail
