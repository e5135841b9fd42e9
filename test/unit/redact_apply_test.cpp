// Unit tests of Engine::apply(): each finding is written per its action (REDACT and BLOCK as the
// placeholder, MASK masked, ALLOW kept), limited to the selected types.
#include "core/redact/engine.hpp"

#include <gtest/gtest.h>

namespace pgp::core::redact {
namespace {

std::unique_ptr<Engine> engine_with(Action ticket_action) {
  EngineConfig cfg;
  RuleSpec r;
  r.name = "ticket";
  r.entity_type = "TICKET_ID";
  r.pattern = "TCK-[0-9]{6}";
  r.action = ticket_action;
  cfg.rules.push_back(r);
  return Engine::build(cfg);
}

TEST(RedactApply, redact_and_block_become_the_placeholder) {
  for (Action a : {Action::Redact, Action::Block}) {
    auto e = engine_with(a);
    const std::string t = "see TCK-123456 and ana@example.com";
    EXPECT_EQ(e->apply(t, e->detect(t)), "see [TICKET_ID_REDACTED] and [EMAIL_REDACTED]");
  }
}

TEST(RedactApply, mask_rules_are_masked_and_allow_rules_kept) {
  auto masked = engine_with(Action::Mask);
  const std::string t = "see TCK-123456";
  EXPECT_EQ(masked->apply(t, masked->detect(t)), "see **********");
  auto allowed = engine_with(Action::Allow);
  EXPECT_EQ(allowed->apply(t, allowed->detect(t)), t);
}

TEST(RedactApply, only_types_limits_what_is_written) {
  auto e = engine_with(Action::Redact);
  const std::string t = "TCK-123456 ana@example.com";
  RedactOptions o;
  o.only_types = {"EMAIL"};
  EXPECT_EQ(e->apply(t, e->detect(t), o), "TCK-123456 [EMAIL_REDACTED]");
}

TEST(RedactApply, agrees_with_redact_for_default_actions) {
  auto e = Engine::build({});
  const std::string t = "card 4111 1111 1111 1111, ssn 078-05-1120, ip 192.168.1.20";
  EXPECT_EQ(e->apply(t, e->detect(t)), e->redact(t));
}

TEST(RedactApply, mask_value_keeps_separators_and_last_four_digits) {
  EXPECT_EQ(mask_value("CREDIT_CARD", "4111-1111-1111-1111"), "****-****-****-1111");
  EXPECT_EQ(mask_value("EMAIL", "ana.silva@example.com"), "*********@example.com");
}

TEST(RedactApply, mask_whole_hides_everything_but_what_findings_keep) {
  auto eng = Engine::build(EngineConfig{});
  // Undetected text (an SSN-shaped value that fails the SSN rules, a name) is hidden entirely.
  EXPECT_EQ(mask_whole(*eng, "987-65-4321"), "***********");
  EXPECT_EQ(mask_whole(*eng, "Ana Silva"), "*** *****");
  // A finding keeps what mask() keeps; the rest is hidden.
  const std::string card = mask_whole(*eng, "card 4111 1111 1111 1111");
  EXPECT_EQ(card.substr(0, 5), "**** ");
  EXPECT_EQ(card.substr(card.size() - 4), "1111");
  EXPECT_EQ(card.find("4111"), std::string::npos);
  // Multi-byte characters become one '*' each.
  EXPECT_EQ(mask_whole(*eng, "Zoë"), "***");
  EXPECT_EQ(mask_whole(*eng, ""), "");
}

}  // namespace
}  // namespace pgp::core::redact
