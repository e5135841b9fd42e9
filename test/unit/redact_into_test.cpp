// Unit tests of the per-row entry points detect_into(), detect_any() and redact_into(): they must
// give exactly what detect() and apply(detect()) give, on the corpus and on edge cases.
#include "core/redact/engine.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace pgp::core::redact {
namespace {

// Custom rules with every action, a dictionary and an allow-list, besides the built-ins.
std::unique_ptr<Engine> configured_engine() {
  EngineConfig cfg;
  auto rule = [&](const char* name, const char* type, const char* pattern, Action a) {
    RuleSpec r;
    r.name = name;
    r.entity_type = type;
    r.pattern = pattern;
    r.action = a;
    cfg.rules.push_back(r);
  };
  rule("ticket", "TICKET_ID", "TCK-[0-9]{6}", Action::Mask);
  rule("internal", "INTERNAL_HOST", "[a-z]+\\.corp\\.local", Action::Allow);
  rule("project", "PROJECT", "PRJ-[A-Z]{3}", Action::Block);
  cfg.dictionaries.push_back({"staff", "PERSON", Action::Redact, {"Ana Silva", "Ravi"}});
  cfg.allow.push_back({"support@example.com", ""});
  return Engine::build(cfg);
}

void expect_same_findings(const std::vector<Finding>& a, const std::vector<Finding>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].type, b[i].type);
    EXPECT_EQ(a[i].begin, b[i].begin);
    EXPECT_EQ(a[i].end, b[i].end);
    EXPECT_EQ(a[i].action, b[i].action);
    EXPECT_EQ(a[i].rule, b[i].rule);
  }
}

// Checks every entry point against detect()/apply() with buffers reused across calls, as the
// SQL glue keeps them.
class Agreement {
 public:
  explicit Agreement(const Engine& e) : e_(e) {}

  void check(const std::string& text, const RedactOptions& opts) {
    SCOPED_TRACE(text);
    const std::vector<Finding> expected = e_.detect(text);
    e_.detect_into(text, findings_);
    expect_same_findings(findings_, expected);
    const bool any = std::any_of(expected.begin(), expected.end(), [](const Finding& f) { return f.action != Action::Allow; });
    EXPECT_EQ(e_.detect_any(text), any);
    e_.redact_into(text, opts, out_, &findings_);
    EXPECT_EQ(out_, e_.apply(text, expected, opts));
    expect_same_findings(findings_, expected);
    e_.redact_into(text, opts, out_);
    EXPECT_EQ(out_, e_.apply(text, expected, opts));
  }

 private:
  const Engine& e_;
  std::vector<Finding> findings_;
  std::string out_;
};

std::vector<std::string> corpus_texts() {
  std::vector<std::string> texts;
  std::ifstream in(std::string(PGP_CORPUS_DIR) + "/dev.jsonl");
  for (std::string line; std::getline(in, line);) texts.push_back(nlohmann::json::parse(line)["text"]);
  return texts;
}

TEST(RedactInto, agrees_with_detect_and_apply_on_the_corpus) {
  const std::vector<std::string> texts = corpus_texts();
  if (texts.empty()) GTEST_SKIP() << "corpus not found";
  auto plain = Engine::build({});
  auto configured = configured_engine();
  RedactOptions custom;
  custom.placeholder = "<{type}:{type}>";
  RedactOptions only;
  only.only_types = {"EMAIL", "PHONE", "PASSWORD"};
  for (const Engine* e : {plain.get(), configured.get()}) {
    Agreement a(*e);
    for (const RedactOptions& o : {RedactOptions{}, custom, only})
      for (const std::string& t : texts) a.check(t, o);
  }
}

TEST(RedactInto, agrees_on_edge_cases_and_every_action) {
  auto e = configured_engine();
  Agreement a(*e);
  RedactOptions only;
  only.only_types = {"TICKET_ID"};
  const std::vector<std::string> texts = {
      "",
      "nothing to see here",
      "see TCK-123456 about PRJ-ABC on build.corp.local",
      "Ana Silva and Ravi wrote to support@example.com and ana@example.org",
      "TCK-123456",
      "card 4111 1111 1111 1111, ssn 078-05-1120, TCK-654321 at the end TCK-000001",
  };
  for (const RedactOptions& o : {RedactOptions{}, only})
    for (const std::string& t : texts) a.check(t, o);
}

TEST(RedactInto, writes_each_action_like_apply) {
  auto e = configured_engine();
  std::string out = "left over from the previous row";
  std::vector<Finding> f(5);
  e->redact_into("see TCK-123456 about PRJ-ABC on build.corp.local", {}, out, &f);
  EXPECT_EQ(out, "see ********** about [PROJECT_REDACTED] on build.corp.local");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].action, Action::Mask);
  EXPECT_EQ(f[1].action, Action::Block);
  EXPECT_EQ(f[2].action, Action::Allow);
  EXPECT_TRUE(e->detect_any("PRJ-ABC"));
  EXPECT_FALSE(e->detect_any("build.corp.local"));  // ALLOW findings are not PII
}

TEST(RedactInto, clean_and_empty_texts_are_copied_and_clear_the_findings) {
  auto e = Engine::build({});
  std::string out = "stale";
  std::vector<Finding> f = e->detect("mail ana@example.com");
  e->redact_into("nothing to see here", {}, out, &f);
  EXPECT_EQ(out, "nothing to see here");
  EXPECT_TRUE(f.empty());
  e->redact_into("", {}, out, &f);
  EXPECT_EQ(out, "");
  EXPECT_FALSE(e->detect_any(""));
  e->detect_into("", f);
  EXPECT_TRUE(f.empty());
}

// An engine that only implements the required methods gets the per-row entry points from
// detect() and apply(), with the same results.
class MinimalEngine final : public Engine {
 public:
  explicit MinimalEngine(std::unique_ptr<Engine> inner) : inner_(std::move(inner)) {}
  std::vector<Finding> detect(std::string_view t) const override { return inner_->detect(t); }
  std::string redact(std::string_view t, const RedactOptions& o) const override { return inner_->redact(t, o); }
  std::string mask(std::string_view t) const override { return inner_->mask(t); }
  std::size_t memory_bytes() const override { return inner_->memory_bytes(); }

 private:
  std::unique_ptr<Engine> inner_;
};

TEST(RedactInto, default_implementations_agree_too) {
  MinimalEngine e(configured_engine());
  Agreement a(e);
  for (const char* t : {"", "clean", "see TCK-123456 about PRJ-ABC, mail ana@example.org"}) a.check(t, {});
}

// The prefilter tells number detectors apart by the digit groups around a number; these are the
// formats each must still see, including numbers right after a key and a colon.
TEST(RedactInto, number_formats_still_reach_their_detectors) {
  auto e = Engine::build({});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tel:020 7946 1958", "tel:[PHONE_REDACTED]"},
      {"call +44 20 7946 0958 now", "call [PHONE_REDACTED] now"},
      {"call +14155552671", "call [PHONE_REDACTED]"},
      {"x 1-800-555-0199 y", "x [PHONE_REDACTED] y"},
      {"ph (415) 555-2671", "ph [PHONE_REDACTED]"},
      {"ph 415.555.2671", "ph [PHONE_REDACTED]"},
      {"ssn 078-05-1120", "ssn [US_SSN_REDACTED]"},
      {"IBAN:DE89 3704 0044 0532 0130 00", "IBAN:[IBAN_REDACTED]"},
      {"to GB82 WEST 1234 5698 7654 32 and 4111 1111 1111 1111",
       "to [IBAN_REDACTED] and [CREDIT_CARD_REDACTED]"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(e->redact(in), want) << in;
}

}  // namespace
}  // namespace pgp::core::redact

namespace pgp::core::redact {
namespace {

// Regression: the IPv6 prefilter used to skip the hex run around any ':', hiding the number
// after "key:" from the card, SSN, IPv4 and phone detectors.
TEST(RedactPrefilter, numbers_right_after_a_colon_are_found) {
  auto e = Engine::build({});
  EXPECT_EQ(e->redact("card:4111111111111111 ssn:078-05-1120 ip:10.0.0.1"),
            "card:[CREDIT_CARD_REDACTED] ssn:[US_SSN_REDACTED] ip:[IP_ADDRESS_REDACTED]");
  EXPECT_EQ(e->redact("at 10:30:45 on fe80::1"), "at 10:30:45 on [IP_ADDRESS_REDACTED]");
}

}  // namespace
}  // namespace pgp::core::redact

#include "core/redact/detectors.hpp"

namespace pgp::core::redact {
namespace {

// The corpus (when present) plus samples that must be covered even without it.
std::vector<std::string> corpus_or_samples() {
  std::vector<std::string> texts = corpus_texts();
  texts.push_back("card 4111 1111 1111 1111, ana@example.com, +44 20 7946 0958, fe80::1, ssn:078-05-1120");
  return texts;
}

// redact_into_types() is the statistics path of privacy.redact(): same output as redact_into(),
// and the same entity types, in order, as detect().
TEST(RedactIntoTypes, agrees_with_redact_into_and_detect) {
  auto e = Engine::build({});
  std::string out_types, out_plain;
  std::vector<std::string_view> types;
  for (const std::string& t : corpus_or_samples()) {
    e->redact_into_types(t, {}, out_types, types);
    e->redact_into(t, {}, out_plain);
    ASSERT_EQ(out_types, out_plain) << t;
    const auto findings = e->detect(t);
    ASSERT_EQ(types.size(), findings.size()) << t;
    for (std::size_t i = 0; i < types.size(); ++i) EXPECT_EQ(types[i], findings[i].type) << t;
  }
}

// The engine skips stretches without an anchor byte; that is only sound while every built-in
// match contains one. A match can be wider than the span it reports (PASSWORD reports the
// value of "password: ..." or of a URL's userinfo), so the check looks a keyword's length back.
// A new built-in pattern that breaks the rule fails here.
TEST(RedactIntoTypes, every_builtin_match_contains_an_anchor_byte) {
  auto e = Engine::build({});
  constexpr std::size_t kLookBack = 24;  // longer than any keyword and its separator
  for (const std::string& t : corpus_or_samples())
    for (const Finding& f : e->detect(t)) {
      const std::size_t from = f.begin > kLookBack ? f.begin - kLookBack : 0;
      EXPECT_TRUE(detail::has_anchor_byte(std::string_view(t).substr(from, f.end - from)))
          << f.type << " in: " << t;
    }
}

}  // namespace
}  // namespace pgp::core::redact
