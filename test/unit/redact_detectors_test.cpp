// Unit tests of the built-in detectors through Engine::detect: real formats are found with the
// exact span, look-alikes (order numbers, hashes, UUIDs, versions, placeholders) are not.
#include "core/redact/engine.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgp::core::redact {
namespace {

struct Hit {
  std::string type;
  std::string text;
  bool operator==(const Hit&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Hit& h) { return os << h.type << ":" << h.text; }

const Engine& engine() {
  static std::unique_ptr<Engine> e = Engine::build({});
  return *e;
}

std::vector<Hit> hits(std::string_view text) {
  std::vector<Hit> out;
  for (const Finding& f : engine().detect(text))
    out.push_back({f.type, std::string(text.substr(f.begin, f.end - f.begin))});
  return out;
}

void expect_one(std::string_view text, const std::string& type, const std::string& value) {
  EXPECT_EQ(hits(text), (std::vector<Hit>{{type, value}})) << text;
}

void expect_none(std::string_view text) { EXPECT_EQ(hits(text), std::vector<Hit>{}) << text; }

TEST(RedactDetectors, email) {
  expect_one("write to jane.doe+tag@mail.example.co.uk today", "EMAIL", "jane.doe+tag@mail.example.co.uk");
  expect_one("<zoë@exämple.de>", "EMAIL", "zoë@exämple.de");
  expect_none("icons are in logo@2x.png");
  expect_none("ping @channel about it");
}

TEST(RedactDetectors, phone_formats) {
  expect_one("call +14155552671 now", "PHONE", "+14155552671");
  expect_one("call +44 20 7946 0958.", "PHONE", "+44 20 7946 0958");
  expect_one("call (415) 555-2671", "PHONE", "(415) 555-2671");
  expect_one("call 415-555-2671", "PHONE", "415-555-2671");
  expect_one("call 020 7946 0958", "PHONE", "020 7946 0958");
  expect_one("call +33 6 30 70 01 97", "PHONE", "+33 6 30 70 01 97");
  expect_one("call +1 (415) 555-2671 2024", "PHONE", "+1 (415) 555-2671");
  expect_one("+33 6 30 70 01 97 12 34", "PHONE", "+33 6 30 70 01 97");
}

TEST(RedactDetectors, phone_look_alikes) {
  expect_none("due 2026-06-12 at 10:30");
  expect_none("order #4383354 and 1234567890123");
  expect_none("version 3.10.12 and v10.2.3");
  expect_none("ISBN 978-3-16-148410-0");
  expect_none("+33 6 30 70 01 9");  // too few digits for France
  expect_none("+0 123 456 7890");   // no country code starts with 0
  expect_none("05.01.2024 14.30");
}

TEST(RedactDetectors, credit_cards) {
  expect_one("card 4111 1111 1111 1111 please", "CREDIT_CARD", "4111 1111 1111 1111");
  expect_one("card 6011-1517-0282-1641.", "CREDIT_CARD", "6011-1517-0282-1641");
  expect_one("amex 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005");
  expect_one("mc 5555555555554444", "CREDIT_CARD", "5555555555554444");
  expect_none("Card number 4057 9747 8188 9337 was declined");
  expect_none("Order 4177763170669074 shipped");
  expect_none("id 41111111111111111111");  // longer run
  expect_none("hash a4111111111111111b");
}

TEST(RedactDetectors, ssn) {
  expect_one("SSN 077-65-6124.", "US_SSN", "077-65-6124");
  expect_one("SSN 077 65 6124", "US_SSN", "077 65 6124");
  expect_none("SSN 666-65-6124 or 900-12-1234 or 123-00-4567");
  expect_none("part 12-077-65-6124");
}

TEST(RedactDetectors, iban) {
  expect_one("IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN", "GB82 WEST 1234 5698 7654 32");
  expect_one("IBAN DE89370400440532013000.", "IBAN", "DE89370400440532013000");
  expect_none("IBAN GB82 WEST 1234 5698 7654 31");
}

TEST(RedactDetectors, ip_addresses) {
  expect_one("from 105.185.162.40 at", "IP_ADDRESS", "105.185.162.40");
  expect_one("host 1.2.3.4.", "IP_ADDRESS", "1.2.3.4");
  expect_one("link fe80::1 up", "IP_ADDRESS", "fe80::1");
  expect_one("ip 2001:db8::8a2e:370:7334,", "IP_ADDRESS", "2001:db8::8a2e:370:7334");
  expect_one("lo ::1.", "IP_ADDRESS", "::1");
  expect_one("[2001:db8::1]:8080", "IP_ADDRESS", "2001:db8::1");
  expect_none("python 3.10.12, oid 1.3.6.1.4.1, v1.2.3.4");
  expect_none("at 12:30:45, mac 00:1a:2b:3c:4d:5e, std::vector, 256.1.1.1");
}

TEST(RedactDetectors, passwords_key_value) {
  expect_one("password=hunter22 ok", "PASSWORD", "hunter22");
  expect_one("pwd = zo&J6sx8Cp (staging)", "PASSWORD", "zo&J6sx8Cp");
  expect_one("passwd: ?OfDCt2pj12&W6mzhYAB", "PASSWORD", "?OfDCt2pj12&W6mzhYAB");
  expect_one(R"({"password": "G28gL?#S#q5s8t"})", "PASSWORD", "G28gL?#S#q5s8t");
  expect_one("DB_PASSWORD='s3cr et'", "PASSWORD", "s3cr et");
  expect_none("password=<your password>");
  expect_none("password: ${DB_PASSWORD}");
  expect_none("The field is called password_hash.");
  expect_none("bypass: true");
}

TEST(RedactDetectors, passwords_in_urls) {
  expect_one("postgresql://user:secret1@host/db", "PASSWORD", "secret1");
  expect_one("mysql://admin:p@ss@db.internal/main", "PASSWORD", "p@ss");
  EXPECT_EQ(hits("redis://etl:Pap45SNZR#oWWAaJ&z@10.1.2.3/main"),
            (std::vector<Hit>{{"PASSWORD", "Pap45SNZR#oWWAaJ&z"}, {"IP_ADDRESS", "10.1.2.3"}}));
  expect_none("https://example.com:8443/path");
  expect_none("postgresql://user:password@localhost/db");
}

TEST(RedactDetectors, private_key_block) {
  std::string key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nq83vEg==\n-----END RSA PRIVATE KEY-----";
  expect_one("key:\n" + key + "\nthanks", "PRIVATE_KEY", key);
  std::string cut = "-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nq83vEg";
  expect_one(cut + "\n\nis it valid?", "PRIVATE_KEY", cut);
  expect_none("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----");
}

TEST(RedactDetectors, provider_tokens) {
  expect_one("AKIA6A4YFECV3SCEBABU here", "AWS_ACCESS_KEY", "AKIA6A4YFECV3SCEBABU");
  expect_one("ghp_Zyuw0QAl0pEPHqsXSgPlWxH1Yy9mYiLvgo8k", "GITHUB_TOKEN", "ghp_Zyuw0QAl0pEPHqsXSgPlWxH1Yy9mYiLvgo8k");
  expect_one("t xoxb-111329567172-4769848661790-UYHBoKW5xLQ20QmBQjWC7KVo", "SLACK_TOKEN",
             "xoxb-111329567172-4769848661790-UYHBoKW5xLQ20QmBQjWC7KVo");
  expect_one("sk_live_yMq6YKVFETtB8rNxapzL7jXj", "STRIPE_KEY", "sk_live_yMq6YKVFETtB8rNxapzL7jXj");
  expect_one("key sk-proj-2VAa_qwWaxcHUB0yF1z1WfvaAmhLsYUxvus_l5xKIS4F.", "OPENAI_API_KEY",
             "sk-proj-2VAa_qwWaxcHUB0yF1z1WfvaAmhLsYUxvus_l5xKIS4F");
  expect_one("sk-ant-api03-WRpLI_C68TYFkdcBw7s_2KuWGbm338ZYpH5aQGXB", "ANTHROPIC_API_KEY",
             "sk-ant-api03-WRpLI_C68TYFkdcBw7s_2KuWGbm338ZYpH5aQGXB");
  expect_one("'AIzawrjsuZcr6k8YKAqrH1Qc_98nK9dl6LK54C-'", "GOOGLE_API_KEY", "AIzawrjsuZcr6k8YKAqrH1Qc_98nK9dl6LK54C-");
  expect_one("jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl.", "JWT",
             "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl");
}

TEST(RedactDetectors, provider_token_placeholders) {
  expect_none("Use the placeholder sk-your-key-here and replace it.");
  expect_none("export OPENAI_API_KEY=sk-...");
  expect_none("AKIAIOSFODNN7EXAMPLE is the documented example");
  expect_none("set YOUR_API_KEY in the env");
  expect_none("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

TEST(RedactDetectors, bearer_and_generic_secrets) {
  expect_one("Authorization: Bearer abcDEF123ghiJKL456mno", "BEARER_TOKEN", "abcDEF123ghiJKL456mno");
  expect_one("api_key: 9fK2xQ7vL0pR4tZ8wY6u", "GENERIC_SECRET", "9fK2xQ7vL0pR4tZ8wY6u");
  expect_one("client_secret=\"Zx8Qp2Lr7Tn4Vb6Mk9Ws\"", "GENERIC_SECRET", "Zx8Qp2Lr7Tn4Vb6Mk9Ws");
  expect_none("Authorization: Bearer <token>");
  expect_none("Authorization: Bearer $TOKEN");
  expect_none("api_key: your-key-here, token: changeme, secret=xxxxxxxxxxxx");
  expect_none("max_tokens=4096 and primary key: user_id");
}

TEST(RedactDetectors, provider_token_beats_generic_and_bearer) {
  expect_one("export TOKEN=ghp_Muk3kvXfnVYsJL8eFKD0GCyxHXOHEZl1R71j", "GITHUB_TOKEN",
             "ghp_Muk3kvXfnVYsJL8eFKD0GCyxHXOHEZl1R71j");
  expect_one("Authorization: Bearer sk_live_B0zV9cXNhg9ihyvDDew1ncEl", "STRIPE_KEY",
             "sk_live_B0zV9cXNhg9ihyvDDew1ncEl");
}

TEST(RedactDetectors, hard_negatives) {
  expect_none("Version 1.5.33 fixed the bug; see commit b49d89d8daf6fcd2246470384f3c502d16db13d3.");
  expect_none("Request id 2c3e9fc3-f34c-4658-ad9f-6af30b81e937 failed at step 3.");
  expect_none("The invoice total was 79513.73 EUR, due 2026-06-12.");
  expect_none("Ticket 575927 mentions error code 0x48156F61.");
  expect_none("Temperature went from 18.3 to 21.5 degrees between 10:00 and 12:30.");
  expect_none("SELECT count(*) FROM orders WHERE total > 88431 AND region = 'EU';");
}

}  // namespace
}  // namespace pgp::core::redact
