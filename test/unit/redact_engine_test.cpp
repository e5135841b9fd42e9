// Unit tests of the redaction engine as a whole: overlaps, allow-lists, custom rules,
// dictionaries, redact/mask output, UTF-8 offsets, hostile and very large inputs, the corpus.
#include "core/redact/engine.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <random>
#include <string>

namespace pgp::core::redact {
namespace {

std::unique_ptr<Engine> default_engine() { return Engine::build({}); }

std::vector<std::string> types(const Engine& e, std::string_view text) {
  std::vector<std::string> out;
  for (const Finding& f : e.detect(text)) out.push_back(f.type + ":" + std::string(text.substr(f.begin, f.end - f.begin)));
  return out;
}

TEST(RedactEngine, empty_and_clean_input_have_no_findings) {
  auto e = default_engine();
  EXPECT_TRUE(e->detect("").empty());
  EXPECT_EQ(e->redact(""), "");
  EXPECT_EQ(e->mask(""), "");
  EXPECT_EQ(e->redact("nothing to see here"), "nothing to see here");
}

TEST(RedactEngine, redact_uses_the_placeholder_template) {
  auto e = default_engine();
  EXPECT_EQ(e->redact("mail a@b.io or call +14155552671"),
            "mail [EMAIL_REDACTED] or call [PHONE_REDACTED]");
  RedactOptions o;
  o.placeholder = "<{type}/{type}>";
  EXPECT_EQ(e->redact("mail a@b.io", o), "mail <EMAIL/EMAIL>");
  o.placeholder = "***";
  o.only_types = {"PHONE"};
  EXPECT_EQ(e->redact("mail a@b.io or call +14155552671", o), "mail a@b.io or call ***");
}

TEST(RedactEngine, mask_keeps_what_identifies) {
  auto e = default_engine();
  EXPECT_EQ(e->mask("card 4111 1111 1111 1111"), "card **** **** **** 1111");
  EXPECT_EQ(e->mask("mail jane@example.com"), "mail ****@example.com");
  EXPECT_EQ(e->mask("tok ghp_Zyuw0QAl0pEPHqsXSgPlWxH1Yy9mYiLvgo8k"), "tok ghp_************************************");
  EXPECT_EQ(e->mask("ip 10.0.0.1"), "ip ********");
  EXPECT_EQ(e->mask("IBAN GB82 WEST 1234 5698 7654 32"), "IBAN **** **** **** **** **54 32");
  // One '*' per character, not per byte.
  EXPECT_EQ(e->mask("mail zoë@exämple.de"), "mail ***@exämple.de");
}

TEST(RedactEngine, findings_are_sorted_and_do_not_overlap) {
  auto e = default_engine();
  std::string t = "a@b.io 4111 1111 1111 1111 postgres://u:pw12@10.0.0.1/x +14155552671";
  auto f = e->detect(t);
  ASSERT_GE(f.size(), 5u);
  for (std::size_t i = 1; i < f.size(); ++i) EXPECT_LE(f[i - 1].end, f[i].begin);
  EXPECT_EQ(f[0].rule, "builtin:EMAIL");
  EXPECT_EQ(f[0].action, Action::Redact);
}

TEST(RedactEngine, overlap_longest_wins_then_priority) {
  EngineConfig c;
  c.rules.push_back({"order", "ORDER_ID", "ORD-[0-9]{6}", Action::Redact, "", 100});
  c.rules.push_back({"order_digits", "DIGITS", "[0-9]{6}", Action::Redact, "", 200});
  auto e = Engine::build(c);
  // The longer span wins even against a higher priority.
  EXPECT_EQ(types(*e, "see ORD-123456"), std::vector<std::string>{"ORDER_ID:ORD-123456"});
  // On equal spans the higher priority wins: a custom rule (100) over a built-in (50).
  EngineConfig c2;
  c2.rules.push_back({"staff", "STAFF_EMAIL", "[a-z]+@corp\\.example", Action::Mask, "", 100});
  auto e2 = Engine::build(c2);
  auto f = e2->detect("mail bob@corp.example now");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, "STAFF_EMAIL");
  EXPECT_EQ(f[0].action, Action::Mask);
  EXPECT_EQ(f[0].rule, "staff");
}

TEST(RedactEngine, url_userinfo_is_a_password_not_an_email) {
  auto e = default_engine();
  EXPECT_EQ(types(*e, "postgresql://etl:jbSH0Mt7H!v7@prod-pg.acme.io/main"),
            std::vector<std::string>{"PASSWORD:jbSH0Mt7H!v7"});
}

TEST(RedactEngine, allow_list_by_value_and_pattern) {
  EngineConfig c;
  c.allow.push_back({"Support@Example.com", ""});
  c.allow.push_back({"", "[0-9.]+\\.0\\.0\\.1|10\\..*"});
  auto e = Engine::build(c);
  EXPECT_TRUE(e->detect("mail support@example.com from 127.0.0.1 or 10.2.3.4").empty());
  // A pattern must match the whole finding.
  EXPECT_EQ(types(*e, "from 192.168.0.1"), std::vector<std::string>{"IP_ADDRESS:192.168.0.1"});
  EXPECT_EQ(types(*e, "mail other@example.com"), std::vector<std::string>{"EMAIL:other@example.com"});
}

TEST(RedactEngine, allow_action_keeps_text_but_reports) {
  EngineConfig c;
  c.rules.push_back({"test_cards", "TEST_CARD", "4111 1111 1111 1111", Action::Allow, "", 100});
  auto e = Engine::build(c);
  auto f = e->detect("card 4111 1111 1111 1111");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].action, Action::Allow);
  EXPECT_EQ(e->redact("card 4111 1111 1111 1111"), "card 4111 1111 1111 1111");
}

TEST(RedactEngine, disabled_builtins_and_no_builtins) {
  EngineConfig c;
  c.disabled_builtins = {"EMAIL"};
  EXPECT_EQ(types(*Engine::build(c), "a@b.io +14155552671"), std::vector<std::string>{"PHONE:+14155552671"});
  EngineConfig none;
  none.builtins = false;
  EXPECT_TRUE(Engine::build(none)->detect("a@b.io +14155552671").empty());
}

TEST(RedactEngine, custom_rule_group_one_is_the_span_and_validator_applies) {
  EngineConfig c;
  c.builtins = false;
  c.rules.push_back({"emp", "EMPLOYEE_ID", "emp(?:loyee)? id:? ?(E[0-9]{5})", Action::Block, "", 100});
  c.rules.push_back({"acct", "ACCOUNT", "acct ([0-9]{16})", Action::Redact, "luhn", 100});
  auto e = Engine::build(c);
  auto f = e->detect("employee id E12345, acct 4111111111111111, acct 4111111111111112");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].type, "EMPLOYEE_ID");
  EXPECT_EQ(f[0].action, Action::Block);
  EXPECT_EQ(f[1].type, "ACCOUNT");
  EXPECT_EQ(e->redact("emp id E12345"), "emp id [EMPLOYEE_ID_REDACTED]");
}

TEST(RedactEngine, bad_custom_rule_is_refused_without_echoing_the_pattern) {
  const std::string secret_pattern = "(sekrit-4111-lookbehind(?<=x)";
  RuleSpec r{"broken", "THING", secret_pattern, Action::Redact, "", 100};
  try {
    validate_rule(r);
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_EQ(err.sqlstate(), sqlstate::kInvalidRule);
    EXPECT_EQ(std::string(err.what()).find("sekrit"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("broken"), std::string::npos);
  }
  EngineConfig c;
  c.rules.push_back(r);
  EXPECT_THROW(Engine::build(c), Error);
}

TEST(RedactEngine, rule_validation_covers_type_validator_empty_match_and_size) {
  auto code = [](const RuleSpec& r, std::int64_t mem = 8 << 20) {
    try {
      validate_rule(r, mem);
    } catch (const Error& e) {
      return e.sqlstate();
    }
    return std::string("ok");
  };
  EXPECT_EQ(code({"ok", "T", "abc", Action::Redact, "", 100}), "ok");
  EXPECT_EQ(code({"", "T", "abc", Action::Redact, "", 100}), sqlstate::kInvalidRule);
  EXPECT_EQ(code({"r", "bad type!", "abc", Action::Redact, "", 100}), sqlstate::kInvalidRule);
  EXPECT_EQ(code({"r", "T", "abc", Action::Redact, "md5", 100}), sqlstate::kInvalidRule);
  EXPECT_EQ(code({"r", "T", "a*", Action::Redact, "", 100}), sqlstate::kInvalidRule);
  EXPECT_EQ(code({"r", "T", "(a|b)\\1", Action::Redact, "", 100}), sqlstate::kInvalidRule);
  EXPECT_EQ(code({"r", "T", "((a{100}){100}){100}", Action::Redact, "", 100}, 1 << 20), sqlstate::kInvalidRule);
}

TEST(RedactEngine, bad_allow_pattern_is_refused) {
  EngineConfig c;
  c.allow.push_back({"", "([unclosed"});
  try {
    Engine::build(c);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.sqlstate(), sqlstate::kInvalidRule);
    EXPECT_EQ(std::string(e.what()).find("unclosed"), std::string::npos);
  }
}

TEST(RedactEngine, dictionary_whole_words_case_insensitive_multi_word) {
  EngineConfig c;
  c.builtins = false;
  c.dictionaries.push_back({"projects", "PROJECT", Action::Redact, {"Blue Falcon", "zephyr", "Café Noir"}});
  auto e = Engine::build(c);
  EXPECT_EQ(types(*e, "The blue   falcon and ZEPHYR launch; zephyrs do not count."),
            (std::vector<std::string>{"PROJECT:blue   falcon", "PROJECT:ZEPHYR"}));
  EXPECT_EQ(types(*e, "CAFÉ NOIR, café-noir"), std::vector<std::string>{"PROJECT:CAFÉ NOIR"});
  EXPECT_TRUE(e->detect("bluefalcon blue-falcon").empty());
  auto f = e->detect("zephyr");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].rule, "dict:projects");
}

TEST(RedactEngine, dictionary_with_100k_terms_builds_and_runs_fast) {
  std::vector<std::string> terms;
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) terms.push_back("term" + std::to_string(rng()) + (i % 10 == 0 ? " extra" : ""));
  terms.push_back("needle in haystack");
  EngineConfig c;
  c.dictionaries.push_back({"big", "SECRET_TERM", Action::Redact, terms});
  // Speed is measured by the benchmarks, not asserted here: this checks that 100k terms build,
  // match on word boundaries and stay within a memory bound.
  auto e = Engine::build(c);
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "some words here and a " + terms[i * 3] + " then more text. ";
  text += "Needle  in HAYSTACK.";
  auto f = e->detect(text);
  EXPECT_GE(f.size(), 20001u);
  EXPECT_EQ(f.back().type, "SECRET_TERM");
  EXPECT_LT(e->memory_bytes(), std::size_t(64) << 20);
}

TEST(RedactEngine, utf8_offsets_count_code_points) {
  std::string t = "zoë → a@b.io";
  auto f = default_engine()->detect(t);
  ASSERT_EQ(f.size(), 1u);
  auto chars = utf8_char_offsets(t, {f[0].begin, f[0].end});
  EXPECT_EQ(chars, (std::vector<std::size_t>{6, 12}));
  EXPECT_EQ(utf8_char_offsets("", {0}), std::vector<std::size_t>{0});
}

TEST(RedactEngine, invalid_utf8_never_splits_a_code_point) {
  auto e = default_engine();
  std::string t = "\xff\xfe a@b.io \xc3 4111 1111 1111 1111 \xe2\x82 \x80\x80 +14155552671\xc3";
  auto f = e->detect(t);
  // RE2 in UTF-8 mode does not match a stray byte as a boundary, so the phone glued to the
  // invalid byte at the end is not found; Postgres text is always valid UTF-8.
  EXPECT_GE(f.size(), 2u);
  for (const Finding& x : f) {
    EXPECT_TRUE(x.begin == 0 || (static_cast<unsigned char>(t[x.begin]) & 0xC0) != 0x80);
    EXPECT_TRUE(x.end == t.size() || (static_cast<unsigned char>(t[x.end]) & 0xC0) != 0x80);
  }
  std::mt19937 rng(1);
  std::string noise(1 << 16, '\0');
  for (char& ch : noise) ch = static_cast<char>(rng());
  EXPECT_NO_THROW(e->redact(noise));
  EXPECT_NO_THROW(e->mask(noise));
}

double seconds_for(const Engine& e, const std::string& text) {
  auto t0 = std::chrono::steady_clock::now();
  (void)e.redact(text);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(RedactEngine, hostile_inputs_stay_linear) {
  auto e = default_engine();
  // A complexity check, not a speed assertion: each shape at 1 MB and 4 MB, and the 4x input
  // may take at most ~10x as long (quadratic growth would be 16x and more). It caught a real
  // regression (the colon prefilter rescanning runs of colons).
  for (std::string unit : {"1", "1 ", "a:", "-----BEGIN PRIVATE KEY-----", "a@", "::", "1.", "password=",
                           "x://u:p@", "sk-", "ghp_", "eyJ", "AKIA", "@a.", "+1 ", "0 "}) {
    std::string small, big;
    while (small.size() < (1 << 20)) small += unit;
    while (big.size() < (4 << 20)) big += unit;
    double ts = seconds_for(*e, small), tb = seconds_for(*e, big);
    EXPECT_LT(tb, 10 * ts + 0.5) << "'" << unit << "' " << ts << "s -> " << tb << "s";
  }
}

TEST(RedactEngine, hundred_megabytes_complete) {
  auto e = default_engine();
  const std::string chunk =
      "Hi, I'm Anna. Reach me at anna.k@example.com or +1 (415) 555-2671. The build on 10.0.0.7 "
      "failed at 12:30 with exit code 137; card 4111 1111 1111 1111 is on file. Thanks!\n";
  std::string text;
  text.reserve(100u << 20);
  while (text.size() + chunk.size() <= (100u << 20)) text += chunk;
  std::string out = e->redact(text);
  EXPECT_EQ(out.find("anna.k@"), std::string::npos);
  EXPECT_EQ(out.find("4111"), std::string::npos);
}

TEST(RedactEngine, corpus_recall_and_precision) {
  std::ifstream in(std::string(PGP_CORPUS_DIR) + "/dev.jsonl");
  if (!in) GTEST_SKIP() << "corpus not found";
  auto e = default_engine();
  std::size_t labels = 0, caught = 0, spans = 0, right = 0;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    std::string text = j["text"];
    std::vector<std::size_t> cp;  // byte offset of each code point
    for (std::size_t i = 0; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) cp.push_back(i);
    cp.push_back(text.size());
    auto f = e->detect(text);
    std::vector<std::pair<std::size_t, std::size_t>> ents;
    for (auto& x : j["entities"]) ents.push_back({cp[x["start"]], cp[x["end"]]});
    for (auto [b, en] : ents) {
      ++labels;
      std::size_t covered = 0;
      for (const Finding& g : f) covered += std::max<std::ptrdiff_t>(0, std::ptrdiff_t(std::min(g.end, en)) - std::ptrdiff_t(std::max(g.begin, b)));
      caught += covered == en - b;
    }
    for (const Finding& g : f) {
      ++spans;
      bool ok = false;
      for (auto [b, en] : ents) ok |= g.begin < en && b < g.end;
      right += ok;
    }
  }
  EXPECT_GE(double(caught) / labels, 0.99);
  EXPECT_GE(double(right) / spans, 0.98);
}

TEST(RedactEngine, actions_and_catalog) {
  EXPECT_STREQ(action_name(Action::Block), "BLOCK");
  EXPECT_EQ(parse_action("mask"), Action::Mask);
  EXPECT_EQ(parse_action("ALLOW"), Action::Allow);
  EXPECT_EQ(parse_action("drop"), std::nullopt);
  EXPECT_EQ(validator_names().size(), 5u);
  bool has_phone = false;
  for (const auto& b : builtin_detectors()) has_phone |= b.type == "PHONE";
  EXPECT_TRUE(has_phone);
  EXPECT_EQ(builtin_detectors().size(), 18u);
  EXPECT_LT(default_engine()->memory_bytes(), std::size_t(16) << 20);
}

}  // namespace
}  // namespace pgp::core::redact
