// The built-in detectors as data: entity type, RE2 pattern, span check, prefilter trigger and
// masking style. The engine compiles this table; nothing here touches RE2 objects.
#pragma once

#include "core/redact/engine.hpp"
#include "core/redact/validators.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgp::core::redact::detail {

// Cheap facts about a text, gathered in one pass, that a detector needs before it can match.
// A detector whose trigger bit is absent is skipped without running any regular expression.
enum Trigger : std::uint32_t {
  kTrigAt = 1u << 0,          // an '@'
  // Numbers (digits and separators). Besides a digit count, each bit asks for the shape its
  // detector's pattern needs somewhere in the number's window (see number_shapes).
  kTrigIban = 1u << 1,        // 8+ digits, and a number right after two capitals
  kTrigPhoneIntl = 1u << 2,   // 7+ digits, and a number right after '+'
  kTrigSsn = 1u << 3,         // 9+ digits, and groups of 3+, 2 and 4+ digits (078-05-1120)
  kTrigDigits12 = 1u << 4,    // 12+ digits (cards)
  kTrigDotted = 1u << 5,      // a number with 4+ digits and 3+ dots (IPv4)
  kTrigIPv6 = 1u << 6,        // a hex run with "::" or 7 colons, and a digit
  kTrigPwdKey = 1u << 7,      // ':' or '=' after password, passwd, pwd, pass, ...
  kTrigSecretKey = 1u << 8,   // ':' or '=' after *key, secret, token, auth, credentials
  kTrigAuthKey = 1u << 9,     // ':' or '=' after authorization
  kTrigUrlAt = 1u << 10,      // "://" and an '@' (credentials in a URL)
  kTrigUrl = 1u << 11,        // "://"
  kTrigTokSk = 1u << 12,      // "sk-" (OpenAI, Anthropic)
  kTrigTokStripe = 1u << 13,  // "sk_", "rk_", "pk_", "whsec_"
  kTrigTokGithub = 1u << 14,  // "gh?_", "github_"
  kTrigTokSlack = 1u << 15,   // "xox?-", "xapp-"
  kTrigTokAws = 1u << 16,     // "AKIA", "ASIA", "ABIA", "ACCA"
  kTrigTokGoogle = 1u << 17,  // "AIza"
  kTrigTokJwt = 1u << 18,     // "eyJ"
  kTrigPem = 1u << 19,        // "-----BEGIN"
  kTrigPhoneNanp = 1u << 20,  // 7+ digits, and a 3-digit group, one separator, 4+ digits
  kTrigPhoneNational = 1u << 21,  // 7+ digits, and a group starting 0[1-9]
  kTrigSlackHook = 1u << 22,  // "https://hooks.slack.com/services/" (a kTrigUrl with that prefix)
  kTrigAlways = 1u << 31,     // custom rules: no prefilter
};

// Where in the text a trigger fired, grouped by family: the detectors of a family only search
// these windows, which are a few dozen bytes in a chat message, instead of the whole text.
enum Family : int { kFamAt, kFamNumber, kFamIPv6, kFamKeyword, kFamUrl, kFamToken, kFamPem, kFamilies };

// The families whose windows cover every match of a detector with these trigger bits.
std::uint32_t families_of(std::uint32_t trigger_bits);

// No default member initialisers: ScanResult is made per call and only `count` entries of
// each family are ever read, so zeroing all windows would be wasted work.
struct Window {
  std::size_t begin;
  std::size_t end;
  std::uint32_t triggers;  // detectors that may match here: kAllTriggers unless the family tells
};

// A window of a family whose windows do not tell their detectors apart.
constexpr std::uint32_t kAllTriggers = ~0u;

struct ScanResult {
  static constexpr int kMaxWindows = 16;  // more anchors than this: search the whole text
  std::uint32_t bits = 0;
  std::array<std::array<Window, kMaxWindows>, kFamilies> windows;
  std::array<std::uint8_t, kFamilies> count{};
  std::array<bool, kFamilies> whole{};

  // Records [b, e) padded by one byte each side (the patterns' boundary characters), merged
  // with the previous window of the family when they touch (and their triggers with it).
  void add(Family f, std::size_t b, std::size_t e, std::size_t text_size,
           std::uint32_t triggers = kAllTriggers);

  // Where the family's last window ends (unpadded), 0 if none. Expansions start there instead of
  // rescanning text a previous window already covers, which keeps runs of anchors linear.
  std::size_t covered_until(Family f) const {
    return whole[f] ? static_cast<std::size_t>(-1) : count[f] ? windows[f][count[f] - 1].end - 1 : 0;
  }
};

// One pass over the text that sets the trigger bits and windows. It skips ordinary prose
// (lowercase letters, spaces, punctuation) in a tight loop and looks closer only at digits,
// ':', '=', '@', '-', '_' and a few capitals; every look-around is bounded, so it stays linear.
void scan_text(std::string_view text, ScanResult& out);

// True when `s` holds a byte the scan stops at: a digit, '@', ':', '=', '-', '_', 'A' or 'J'.
// Every built-in pattern needs one of these bytes in its match (see make_defs), so a built-in
// cannot match in a stretch of text without one and the engine need not search it.
bool has_anchor_byte(std::string_view s);

// How mask() keeps a recognisable part of a finding.
enum class MaskStyle { Full, LastFourDigits, EmailDomain, FirstFour };

// Writing one finding into the output, shared by Engine::apply and the engine's own redact(),
// mask() and redact_into() so that they cannot drift apart.
bool selected(const RedactOptions& opts, std::string_view type);  // passes only_types
bool acted_on(Action action, std::string_view type, const RedactOptions& opts);  // not ALLOW, selected
void append_placeholder(std::string& out, std::string_view tmpl, std::string_view type);
void append_masked(std::string& out, std::string_view type, std::string_view value);  // as mask_value
// MASK: masked; REDACT and BLOCK: the placeholder.
void append_replacement(std::string& out, std::string_view value, std::string_view type, Action action,
                        const RedactOptions& opts);

// Extra work after the pattern matched, for spans a regular expression cannot delimit in
// linear time (the END line of a PEM block). `state` lets it remember, across the matches of one
// detect() call, that a later search already failed.
struct ExtendState {
  std::size_t no_end_after = static_cast<std::size_t>(-1);
};
using Extend = std::optional<Span> (*)(std::string_view text, Span begin_line, ExtendState& st);

// How to get the span out of the whole match without asking RE2 for capture groups (which
// costs a backtracking pass per match): the pattern is one boundary character, the span, then
// up to two boundary characters, and these classes tell the span's first and last characters.
enum class Trim {
  None,    // use capture group 1 (or the whole match when the pattern has no group)
  Digits,  // span starts with [0-9+(] and ends with a digit (numbers)
  Token,   // span starts with a letter and ends with [A-Za-z0-9_-] (provider tokens)
  Alnum,   // span starts with a letter and ends with a letter or digit (IBAN)
  Lead,    // only the leading boundary character; the check trims the end (IPv6)
  Value,   // key, separator, optional quote, value[, closing quote]: the span is the value
  UrlPassword,  // scheme://user:password@host + one boundary: the span is the password
};

struct BuiltinDef {
  const char* type;
  const char* pattern;   // group 1, when present, is the span; else the whole match
  Trim trim;
  Check check;           // may be null
  Extend extend;         // may be null
  std::uint32_t trigger;  // any of these bits makes the detector a candidate
  int specificity;       // breaks ties between equal spans: the more specific detector names it
  MaskStyle mask;
  const char* description;
};

const std::vector<BuiltinDef>& builtin_defs();
MaskStyle mask_style_for(std::string_view type);

}  // namespace pgp::core::redact::detail
