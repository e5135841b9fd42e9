// Unit tests of the redaction of provider calls: planted PII and secrets never leave, counts
// per entity type, BLOCK findings reported by type only, and the optional answer redaction.
#include "core/provider/redaction.hpp"

#include <gtest/gtest.h>

namespace pgp::core::provider {
namespace {

namespace ss = provider_sqlstate;

const redact::Engine& engine() {
  static const auto e = [] {
    redact::EngineConfig c;
    c.rules.push_back({"codename", "PROJECT_CODE", "PROJECT-[0-9]{4}", redact::Action::Block, "", 100});
    return redact::Engine::build(c);
  }();
  return *e;
}

ChatRequest request(std::vector<Message> messages) {
  ChatRequest r;
  r.messages = std::move(messages);
  return r;
}

TEST(ProviderRedaction, planted_pii_and_secrets_are_gone_from_every_message) {
  const std::string key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
  ChatRequest r = request({{"system", "You help jane.doe@example.com."},
                           {"user", "My card is 4111 1111 1111 1111, key " + key},
                           {"assistant", "Noted."}});
  const RedactionReport report = redact_request(r, engine());
  EXPECT_EQ(r.messages[0].content, "You help [EMAIL_REDACTED].");
  EXPECT_EQ(r.messages[1].content, "My card is [CREDIT_CARD_REDACTED], key [OPENAI_API_KEY_REDACTED]");
  EXPECT_EQ(r.messages[2].content, "Noted.");
  EXPECT_EQ(report.counts, (std::map<std::string, std::int64_t>{
                               {"CREDIT_CARD", 1}, {"EMAIL", 1}, {"OPENAI_API_KEY", 1}}));
  EXPECT_TRUE(report.blocked_types.empty());
}

TEST(ProviderRedaction, placeholder_options_are_honoured) {
  ChatRequest r = request({{"user", "mail a@b.io or call +14155552671"}});
  redact::RedactOptions o;
  o.placeholder = "<{type}>";
  o.only_types = {"EMAIL"};
  const RedactionReport report = redact_request(r, engine(), o);
  EXPECT_EQ(r.messages[0].content, "mail <EMAIL> or call +14155552671");
  EXPECT_EQ(report.counts, (std::map<std::string, std::int64_t>{{"EMAIL", 1}}));
}

TEST(ProviderRedaction, block_findings_are_reported_by_type_never_by_value) {
  ChatRequest r = request({{"user", "status of PROJECT-1234 for a@b.io"}});
  const RedactionReport report = redact_request(r, engine());
  EXPECT_EQ(report.blocked_types, std::set<std::string>{"PROJECT_CODE"});
  EXPECT_EQ(report.counts.at("PROJECT_CODE"), 1);
  EXPECT_EQ(r.messages[0].content.find("PROJECT-1234"), std::string::npos);
  const Error e = blocked_error(report);
  EXPECT_EQ(e.sqlstate(), ss::kBlockedContent);
  EXPECT_STREQ(e.what(), "request contains blocked content");
  EXPECT_EQ(e.detail(), "Entity types whose action is BLOCK: PROJECT_CODE.");
  EXPECT_EQ((std::string(e.what()) + e.detail() + e.hint()).find("1234"), std::string::npos);
}

TEST(ProviderRedaction, stop_sequences_are_redacted_and_blocked_like_messages) {
  ChatRequest r = request({{"user", "hello"}});
  r.stop = {"END", "mail jane.doe@example.com", "PROJECT-9876"};
  const RedactionReport report = redact_request(r, engine());
  EXPECT_EQ(r.stop[0], "END");
  EXPECT_EQ(r.stop[1], "mail [EMAIL_REDACTED]");
  EXPECT_EQ(r.stop[2].find("9876"), std::string::npos);
  EXPECT_EQ(report.counts.at("EMAIL"), 1);
  EXPECT_EQ(report.blocked_types, std::set<std::string>{"PROJECT_CODE"});
}

TEST(ProviderRedaction, clean_messages_are_left_as_they_are) {
  ChatRequest r = request({{"user", "What is the capital of France?"}});
  EXPECT_TRUE(redact_request(r, engine()).counts.empty());
  EXPECT_EQ(r.messages[0].content, "What is the capital of France?");
}

TEST(ProviderRedaction, answers_can_be_redacted_and_counted_too) {
  ChatResponse resp;
  resp.content = "Write to jane@example.com.";
  resp.redactions = {{"EMAIL", 2}};
  const RedactionReport report = redact_response(resp, engine());
  EXPECT_EQ(resp.content, "Write to [EMAIL_REDACTED].");
  EXPECT_EQ(report.counts.at("EMAIL"), 1);
  EXPECT_EQ(resp.redactions.at("EMAIL"), 3);
}

}  // namespace
}  // namespace pgp::core::provider
