// Patterns of the built-in detectors and the one-pass prefilter that decides which of them can
// possibly match a given text. Patterns use only RE2 syntax (no look-around, no back-references).
#include "core/redact/detectors.hpp"

#include <algorithm>
#include <array>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pgp::core::redact::detail {
namespace {

// Shared boundary fragments. RE2 has no look-around, so boundaries consume one character; the
// engine resumes the search at the end of the span, so that character is seen again.
#define LB_NUM "(?:^|[^0-9A-Za-z_.\\-+])"
#define LB_NANP "(?:^|[^0-9A-Za-z_.\\-+(])"  // '(' may start the number itself
#define RB_NUM "(?:$|[^0-9A-Za-z_.\\-]|[.\\-](?:$|[^0-9A-Za-z_]))"
#define LB_TOK "(?:^|[^0-9A-Za-z_\\-])"
#define RB_TOK "(?:$|[^0-9A-Za-z_\\-])"
#define RB_TOK_DOT "(?:$|[^0-9A-Za-z_\\-.]|\\.(?:$|[^0-9A-Za-z_\\-]))"
#define OCTET "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#define IPV4 OCTET "\\." OCTET "\\." OCTET "\\." OCTET
// IPv6 candidates are runs of hex groups and colons; check_ipv6 parses the structure. One
// alternation of all compressed forms would be exact too, but its DFA is far larger.
#define IPV6 "(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|" IPV4 ")?(?:%[0-9A-Za-z]+)?"
// Letters of other scripts in addresses, without listing Unicode letter classes (whose DFA is
// large): any non-ASCII code point except the general punctuation block (dashes, quotes).
#define NON_ASCII "\\x{80}-\\x{1FFF}\\x{2070}-\\x{10FFFF}"
#define KV_SEP "[\"']?[ \\t]*(?:=>|:=|=|:)[ \\t]*"

// The END line of the PEM block a BEGIN line opened. Plain substring search keeps it linear: when
// no END follows, the block runs to the end of its base64 body instead.
std::optional<Span> extend_pem(std::string_view text, Span begin_line, ExtendState& st) {
  std::size_t pos = begin_line.end;
  if (pos < st.no_end_after) {
    for (;;) {
      std::size_t end = text.find("-----END ", pos);
      if (end == std::string_view::npos) {
        st.no_end_after = begin_line.end;
        break;
      }
      std::size_t close = text.find("-----", end + 9);
      if (close == std::string_view::npos) {
        st.no_end_after = begin_line.end;
        break;
      }
      std::string_view label = text.substr(end + 9, close - end - 9);
      bool is_key = label.size() < 64 && label.find("PRIVATE KEY") != std::string_view::npos;
      if (is_key) return Span{begin_line.begin, close + 5};
      pos = close + 5;
    }
  }
  // Truncated paste: take the armour headers and base64 lines that follow.
  std::size_t end = begin_line.end;
  std::size_t i = end;
  while (i < text.size()) {
    std::size_t nl = text.find('\n', i);
    std::size_t line_end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(i, line_end - i);
    bool body = !line.empty() && std::all_of(line.begin(), line.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '/' || c == '=' || c == '\r' || c == ':' || c == ',' || c == '-' ||
             c == ' ';
    });
    if (!body && i != end) break;
    if (body) end = line_end;
    if (nl == std::string_view::npos) break;
    i = nl + 1;
  }
  return Span{begin_line.begin, end};
}

// Each pattern's match contains a byte that the scan stops at (digit, '@', ':', '=', '-', '_',
// 'A', 'J'): its anchor, a separator, a token prefix or a digit. The prefilter relies on it, and
// so does the engine when it skips a rest of a window without such a byte (has_anchor_byte).
std::vector<BuiltinDef> make_defs() {
  using M = MaskStyle;
  using T = Trim;
  return {
      {"PRIVATE_KEY", "-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----", T::None, nullptr,
       extend_pem, kTrigPem, 90, M::Full, "PEM private key block, BEGIN to END line"},
      {"ANTHROPIC_API_KEY", LB_TOK "(sk-ant-[A-Za-z0-9_\\-]{20,})" RB_TOK, T::Token, check_token,
       nullptr, kTrigTokSk, 85, M::FirstFour, "Anthropic API key (sk-ant-...)"},
      {"OPENAI_API_KEY", LB_TOK "(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\\-]{20,})" RB_TOK,
       T::Token, check_openai, nullptr, kTrigTokSk, 80, M::FirstFour,
       "OpenAI API key (sk-..., sk-proj-...), random-looking only"},
      {"AWS_ACCESS_KEY", LB_TOK "((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})" RB_TOK, T::Token,
       check_token, nullptr, kTrigTokAws, 80, M::FirstFour, "AWS access key id (AKIA/ASIA...)"},
      {"GITHUB_TOKEN",
       LB_TOK "((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})" RB_TOK,
       T::Token, check_token, nullptr, kTrigTokGithub, 80, M::FirstFour,
       "GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)"},
      {"SLACK_TOKEN",
       LB_TOK "(xox[abposre]-[0-9A-Za-z]+(?:-[0-9A-Za-z]+)+|xapp-[0-9]-[A-Za-z0-9\\-]{10,}|"
              "https://hooks\\.slack\\.com/services/[A-Za-z0-9_/]{20,})" RB_TOK,
       T::Token, check_token, nullptr, kTrigTokSlack | kTrigSlackHook, 80, M::FirstFour,
       "Slack token (xoxb-, xoxp-, ...) or webhook URL"},
      {"STRIPE_KEY",
       LB_TOK "((?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}|whsec_[0-9A-Za-z]{24,})" RB_TOK,
       T::Token, check_token, nullptr, kTrigTokStripe, 80, M::FirstFour,
       "Stripe key (sk_live_, rk_live_, pk_live_, ..._test_, whsec_)"},
      {"GOOGLE_API_KEY", LB_TOK "(AIza[0-9A-Za-z_\\-]{35})" RB_TOK, T::Token, check_token, nullptr,
       kTrigTokGoogle, 80, M::FirstFour, "Google API key (AIza...)"},
      {"JWT", LB_TOK "(eyJ[A-Za-z0-9_\\-]{8,}\\.[A-Za-z0-9_\\-]{2,}\\.[A-Za-z0-9_\\-]*)" RB_TOK_DOT,
       T::Token, check_jwt, nullptr, kTrigTokJwt, 75, M::FirstFour,
       "JSON Web Token with a decodable JOSE header"},
      {"PASSWORD",
       "(?i)(?:password|passwd|passwort|passphrase|pwd|(?:^|[^a-z])pass)" KV_SEP
       "(?:\"([^\"\\r\\n]+)\"|'([^'\\r\\n]+)'|([^\\s\"'`]+))",
       T::Value, check_password, nullptr, kTrigPwdKey, 60, M::Full,
       "value of password=, passwd:, pwd:, \"password\": ..."},
      {"PASSWORD",
       "[A-Za-z][A-Za-z0-9+.\\-]*://[^\\s:/@]*:([^\\s/]+)@[A-Za-z0-9\\-._~%\\[\\]:]+"
       "(?:$|[/?#\\s'\",;)>])",
       T::UrlPassword, check_password, nullptr, kTrigUrlAt, 60, M::Full,
       "password in the userinfo of a URL (scheme://user:password@host)"},
      {"EMAIL",
       "[A-Za-z0-9._%+\\-" NON_ASCII "]+@(?:[A-Za-z0-9" NON_ASCII "](?:[A-Za-z0-9\\-" NON_ASCII
       "]*[A-Za-z0-9" NON_ASCII "])?\\.)+[A-Za-z]{2,24}",
       T::None, check_email, nullptr, kTrigAt, 50, M::EmailDomain, "email address"},
      {"CREDIT_CARD", LB_NUM "([0-9](?:[ \\-]?[0-9]){11,18})" RB_NUM, T::Digits, check_card, nullptr,
       kTrigDigits12, 50, M::LastFourDigits, "payment card number: issuer prefix, length, Luhn"},
      {"US_SSN", LB_NUM "([0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})" RB_NUM, T::Digits,
       check_ssn, nullptr, kTrigSsn, 50, M::LastFourDigits,
       "US social security number with valid area, group and serial"},
      {"IBAN",
       "(?:^|[^0-9A-Za-z_])([A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)"
       "(?:$|[^0-9A-Za-z_])",
       T::Alnum, check_iban, nullptr, kTrigIban, 50, M::LastFourDigits,
       "IBAN with country length and mod-97 check"},
      {"IP_ADDRESS", "(?:^|[^0-9A-Za-z_.])(" IPV4 ")(?:$|[^0-9A-Za-z_.]|\\.(?:$|[^0-9A-Za-z_]))",
       T::Digits, check_ipv4, nullptr, kTrigDotted, 50, M::Full, "IPv4 address"},
      {"IP_ADDRESS", "(?:^|[^0-9A-Za-z_:.])(" IPV6 ")(?:$|[^0-9A-Za-z_:.%]|[.:](?:$|[^0-9A-Za-z_]))",
       T::Lead, check_ipv6, nullptr, kTrigIPv6, 50, M::Full, "IPv6 address, compressed forms too"},
      {"PHONE",
       LB_NUM "(\\+[1-9][0-9]{0,2}(?:[ .\\-]?(?:\\([0-9]{1,4}\\)|[0-9]{1,5})){1,6})" RB_NUM, T::Digits,
       check_phone_intl, nullptr, kTrigPhoneIntl, 50, M::LastFourDigits,
       "international phone number (+CC ...), length checked per country"},
      {"PHONE",
       LB_NANP "((?:1[ .\\-]?)?(?:\\([0-9]{3}\\)[ .\\-]?|[0-9]{3}[ .\\-])[0-9]{3}[ .\\-][0-9]{4})" RB_NUM,
       T::Digits, check_phone_nanp, nullptr, kTrigPhoneNanp, 50, M::LastFourDigits,
       "North American phone number ((415) 555-2671, 415-555-2671)"},
      {"PHONE", LB_NUM "(0[1-9][0-9]{0,3}(?:[ .\\-][0-9]{2,8}){1,4})" RB_NUM, T::Digits,
       check_phone_national, nullptr, kTrigPhoneNational, 50, M::LastFourDigits,
       "national phone number with trunk prefix 0 (020 7946 0958)"},
      {"BEARER_TOKEN",
       "(?i)authorization" KV_SEP "[\"']?bearer[ \\t]+([A-Za-z0-9\\-._~+/]+=*)", T::Value,
       check_bearer, nullptr, kTrigAuthKey, 30, M::FirstFour,
       "value of an Authorization: Bearer header"},
      {"GENERIC_SECRET",
       "(?i)(?:api[_.\\-]?key|apikey|access[_.\\-]?key|secret[_.\\-]?key|private[_.\\-]?key|"
       "signing[_.\\-]?key|encryption[_.\\-]?key|master[_.\\-]?key|secret|token|auth|"
       "credentials?)" KV_SEP "[\"']?([A-Za-z0-9_\\-+/=.~]+)",
       T::Value, check_generic_secret, nullptr, kTrigSecretKey, 20, M::Full,
       "high-entropy value after api_key, token, secret, auth, ... keywords"},
  };
}

}  // namespace

const std::vector<BuiltinDef>& builtin_defs() {
  static const std::vector<BuiltinDef> defs = make_defs();
  return defs;
}

MaskStyle mask_style_for(std::string_view type) {
  for (const BuiltinDef& d : builtin_defs())
    if (type == d.type) return d.mask;
  return MaskStyle::Full;
}

namespace {

enum Kind : std::uint8_t { kBoring, kDigit, kAtSign, kColon, kEquals, kDash, kUnderscore, kCapA, kCapJ };

constexpr std::array<std::uint8_t, 256> make_kinds() {
  std::array<std::uint8_t, 256> k{};
  for (int c = '0'; c <= '9'; ++c) k[c] = kDigit;
  k['@'] = kAtSign;
  k[':'] = kColon;
  k['='] = kEquals;
  k['-'] = kDash;
  k['_'] = kUnderscore;
  k['A'] = kCapA;
  k['J'] = kCapJ;
  return k;
}
constexpr std::array<std::uint8_t, 256> kKinds = make_kinds();

bool is_digit_b(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex_b(unsigned char c) {
  return is_digit_b(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_ident_b(unsigned char c) {
  return is_digit_b(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == '-' || c == '.';
}
unsigned char lower_b(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

bool ends_with_ci(const unsigned char* b, std::size_t len, std::string_view suffix) {
  if (len < suffix.size()) return false;
  const unsigned char* s = b + len - suffix.size();
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (lower_b(s[i]) != static_cast<unsigned char>(suffix[i])) return false;
  return true;
}

bool starts_with(const unsigned char* p, std::size_t n, std::size_t i, std::string_view lit) {
  return n - i >= lit.size() && std::string_view(reinterpret_cast<const char*>(p + i), lit.size()) == lit;
}

bool is_upper_b(unsigned char c) { return c >= 'A' && c <= 'Z'; }
bool is_space_b(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Bounded expansion from [b, e) while `ok` holds for the neighbouring bytes.
template <typename Ok>
void expand(const unsigned char* p, std::size_t n, std::size_t& b, std::size_t& e, std::size_t max_left,
            std::size_t max_right, Ok ok) {
  std::size_t lo = b > max_left ? b - max_left : 0, hi = n - e > max_right ? e + max_right : n;
  while (b > lo && ok(p[b - 1])) --b;
  while (e < hi && ok(p[e])) ++e;
}

bool is_number_sep_b(unsigned char c) {
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

// What the number patterns need to see around their digits. Each pattern separates its digit
// groups by one character (two around a parenthesis) and lies inside one number (digits joined
// by at most two separators in a row), so a pattern can only match in a stretch of text that
// shows its shape; the other number detectors are skipped there.
struct NumberShapes {
  bool plus = false;      // a number right after '+' (international phone)
  bool letters = false;   // a number right after two capitals (IBAN country code)
  bool national = false;  // a group starting 0[1-9] (national phone)
  bool nanp = false;      // a 3-digit group, one separator, a 4+ digit group (555-2671)
  bool ssn = false;       // groups of 3+, 2 and 4+ digits joined by one ' ' or '-' (078-05-1120)
};

// The shapes of the numbers in p[b, e). It looks at the whole stretch a detector will search,
// not only the number the scan stopped at, which may be the tail of a longer one.
NumberShapes number_shapes(const unsigned char* p, std::size_t n, std::size_t b, std::size_t e) {
  NumberShapes sh;
  std::size_t len = 0, prev = 0, prev2 = 0;  // digits in this group and the two before it
  unsigned char sep = 0, sep_prev = 0;       // separator before this group / the previous one
  unsigned char run = 0;                     // the separators since the last digit, 0 unless one
  std::size_t seps = 0;
  bool in_number = false;
  auto one_of = [](unsigned char c, std::string_view set) {
    return c != 0 && set.find(static_cast<char>(c)) != std::string_view::npos;
  };
  auto group_end = [&] {
    sh.nanp |= prev == 3 && one_of(sep, " .-") && len >= 4;
    sh.ssn |= prev2 >= 3 && one_of(sep_prev, " -") && prev == 2 && one_of(sep, " -") && len >= 4;
  };
  for (std::size_t j = b; j < e; ++j) {
    const unsigned char c = p[j];
    if (is_digit_b(c)) {
      if (!in_number || seps > 0) {
        prev2 = prev;
        sep_prev = sep;
        prev = len;
        sep = run;
        len = 0;
        sh.plus |= j > 0 && p[j - 1] == '+';
        sh.letters |= j > 1 && is_upper_b(p[j - 1]) && is_upper_b(p[j - 2]);
        sh.national |= c == '0' && j + 1 < n && p[j + 1] >= '1' && p[j + 1] <= '9';
      }
      ++len;
      seps = 0;
      in_number = true;
    } else if (in_number && is_number_sep_b(c) && seps < 2) {
      if (seps == 0) group_end();
      run = ++seps == 1 ? c : 0;
    } else {
      if (in_number && seps == 0) group_end();
      in_number = false;
      seps = len = prev = prev2 = 0;
      sep = sep_prev = run = 0;
    }
  }
  if (in_number && seps == 0) group_end();
  return sh;
}

// Digits joined by at most two separators in a row: "+1 (415) 555-2671", "4111 1111 1111 1111",
// "10.0.0.1". Returns the index just past the last digit.
std::size_t digit_cluster(const unsigned char* p, std::size_t n, std::size_t i, ScanResult& out) {
  std::size_t digits = 0, dots = 0, seps = 0, last = i;
  for (std::size_t j = i; j < n; ++j) {
    unsigned char c = p[j];
    if (is_digit_b(c)) {
      ++digits;
      seps = 0;
      last = j + 1;
    } else if (is_number_sep_b(c)) {
      if (++seps > 2) break;
      dots += c == '.';
    } else {
      break;
    }
  }
  const bool dotted = digits >= 4 && dots >= 3;
  if (digits < 7 && !dotted) return last;  // too short for every number detector
  // Country and bank letters of an IBAN, '+' and '(' of a phone number, all in capitals,
  // digits and separators.
  std::size_t b = i, e = last;
  expand(p, n, b, e, 48, 48, [](unsigned char c) {
    return is_digit_b(c) || is_upper_b(c) || c == ' ' || c == '+' || c == '(' || c == ')' ||
           c == '-' || c == '.';
  });
  std::uint32_t t = dotted ? std::uint32_t{kTrigDotted} : 0u;
  if (digits >= 7) {
    const NumberShapes sh = number_shapes(p, n, b, e);
    if (sh.plus) t |= kTrigPhoneIntl;
    if (sh.nanp) t |= kTrigPhoneNanp;
    if (sh.national) t |= kTrigPhoneNational;
    if (digits >= 8 && sh.letters) t |= kTrigIban;
    if (digits >= 9 && sh.ssn) t |= kTrigSsn;
    if (digits >= 12) t |= kTrigDigits12;
  }
  if (t) {
    out.bits |= t;
    // The shapes are those of this window: a card here does not make an IBAN detector search it.
    out.add(kFamNumber, b, e, n, t);
  }
  return last;
}

// Where the value after a key/value separator at `i` ends: a quoted string, or one blank-free
// word ("Bearer" and the word after it in an Authorization header).
std::size_t value_end(const unsigned char* p, std::size_t n, std::size_t i, std::size_t covered) {
  std::size_t j = i + 1, hi = n - i > 1024 ? i + 1024 : n;
  if (covered > j) {
    if (covered >= hi) return hi;
    j = covered;
    while (j < hi && !is_space_b(p[j])) ++j;
    return j;
  }
  while (j < hi && (p[j] == '=' || p[j] == '>' || p[j] == ' ' || p[j] == '\t')) ++j;
  if (j < hi && (p[j] == '"' || p[j] == '\'')) {
    unsigned char q = p[j++];
    while (j < hi && p[j] != q && p[j] != '\n') ++j;
    return j < hi ? j + 1 : j;
  }
  if (n - j >= 7 && lower_b(p[j]) == 'b' && ends_with_ci(p + j, 6, "bearer") && (p[j + 6] == ' ' || p[j + 6] == '\t')) {
    j += 6;
    while (j < hi && (p[j] == ' ' || p[j] == '\t')) ++j;
  }
  while (j < hi && !is_space_b(p[j])) ++j;
  return j;
}

// The identifier before a ':' or '=' (quotes and blanks skipped) names a secret: the window runs
// from the identifier to the end of the value.
void keyword_before(const unsigned char* p, std::size_t n, std::size_t i, ScanResult& out) {
  std::size_t k = i;
  for (int blanks = 0; k > 0 && blanks < 8 && (p[k - 1] == ' ' || p[k - 1] == '\t'); ++blanks) --k;
  if (k > 0 && (p[k - 1] == '"' || p[k - 1] == '\'')) --k;
  std::size_t end = k;
  while (k > 0 && end - k < 40 && is_ident_b(p[k - 1])) --k;
  const unsigned char* w = p + k;
  std::size_t len = end - k;
  struct Keyword {
    std::string_view word;
    std::uint32_t bit;
  };
  static constexpr Keyword kWords[] = {
      {"password", kTrigPwdKey},  {"passwd", kTrigPwdKey},        {"passwort", kTrigPwdKey},
      {"passphrase", kTrigPwdKey}, {"pwd", kTrigPwdKey},          {"pass", kTrigPwdKey},
      {"key", kTrigSecretKey},    {"secret", kTrigSecretKey},     {"token", kTrigSecretKey},
      {"auth", kTrigSecretKey},   {"credential", kTrigSecretKey}, {"credentials", kTrigSecretKey},
      {"authorization", kTrigAuthKey}};
  for (const Keyword& kw : kWords)
    if (ends_with_ci(w, len, kw.word)) {
      out.bits |= kw.bit;
      out.add(kFamKeyword, k, value_end(p, n, i, out.covered_until(kFamKeyword)), n);
      return;
    }
}

// Around a ':', the run of hex digits, colons and dots: an IPv6 address has "::" or seven
// colons. Returns the index just past an IPv6 run, so each run is looked at once; otherwise the
// index after the colon, so that "card:4111..." or "ip:10.0.0.1" still reach the number scan.
// `run_end` receives the end of the run: a later colon inside it needs no second look (which
// keeps runs of many colons linear).
std::size_t ipv6_run(const unsigned char* p, std::size_t n, std::size_t i, ScanResult& out,
                     std::size_t& run_end) {
  std::size_t b = i;
  while (b > 0 && i - b < 45 && (is_hex_b(p[b - 1]) || p[b - 1] == ':' || p[b - 1] == '.')) --b;
  std::size_t e = i;
  while (e < n && (is_hex_b(p[e]) || p[e] == ':' || p[e] == '.')) ++e;
  run_end = e;
  std::size_t colons = 0;
  bool dbl = false, digit = false;
  for (std::size_t j = b; j < e; ++j) {
    if (p[j] == ':') {
      ++colons;
      dbl |= j + 1 < e && p[j + 1] == ':';
    }
    digit |= is_digit_b(p[j]);
  }
  if (digit && (dbl || colons >= 7)) {
    out.bits |= kTrigIPv6;
    std::size_t zb = b, ze = e;
    if (ze < n && p[ze] == '%') expand(p, n, zb, ze, 0, 32, [](unsigned char c) { return c == '%' || is_ident_b(c); });
    out.add(kFamIPv6, zb, ze, n);
    return e;
  }
  return i + 1;
}

// A token starting at `b`: the window runs over its characters.
void token_at(const unsigned char* p, std::size_t n, std::size_t b, std::uint32_t bit, ScanResult& out) {
  out.bits |= bit;
  std::size_t e = std::max(b, std::min(out.covered_until(kFamToken), n));
  std::size_t from = e;
  expand(p, n, from, e, 0, 4096, [](unsigned char c) { return is_ident_b(c); });
  out.add(kFamToken, b, e, n);
}

// Provider prefixes that end in '-' or '_': sk-, sk_, rk_, pk_, ghp_, xoxb-, xapp-, whsec_,
// github_pat_.
void token_prefix_before(const unsigned char* p, std::size_t n, std::size_t i, ScanResult& out) {
  auto back = [&](std::size_t len) {
    return i >= len ? std::string_view(reinterpret_cast<const char*>(p + i - len), len) : std::string_view();
  };
  std::string_view two = back(2), three = back(3), four = back(4);
  if (two == "sk" && p[i] == '-') token_at(p, n, i - 2, kTrigTokSk, out);
  else if ((two == "sk" || two == "rk" || two == "pk") && p[i] == '_') token_at(p, n, i - 2, kTrigTokStripe, out);
  else if (back(5) == "whsec") token_at(p, n, i - 5, kTrigTokStripe, out);
  else if (three.size() == 3 && three.substr(0, 2) == "gh") token_at(p, n, i - 3, kTrigTokGithub, out);
  else if (back(6) == "github") token_at(p, n, i - 6, kTrigTokGithub, out);
  else if (four.size() == 4 && (four.substr(0, 3) == "xox" || four == "xapp")) token_at(p, n, i - 4, kTrigTokSlack, out);
}

// "://": the window is the whole non-blank run, scheme to path.
void url_at(const unsigned char* p, std::size_t n, std::size_t i, ScanResult& out) {
  out.bits |= kTrigUrl;
  // Only a Slack webhook makes the Slack detector search URLs; other URLs are searched by the
  // URL password detector alone.
  if (i >= 5 && starts_with(p, n, i - 5, "https://hooks.slack.com/services/")) out.bits |= kTrigSlackHook;
  std::size_t b = i, e = i;
  expand(p, n, b, e, 32, 0, [](unsigned char c) { return is_ident_b(c) || c == '+'; });
  std::size_t hi = n - i > 2048 ? i + 2048 : n;
  e = std::max(e, std::min(out.covered_until(kFamUrl), hi));
  while (e < hi && !is_space_b(p[e])) ++e;
  out.add(kFamUrl, b, e, n);
}

#if defined(__SSE2__)
// One bit per byte of p[0, 16) that is not kBoring. Inlined, so that a loop over blocks keeps
// the constants in registers.
[[gnu::always_inline]] inline unsigned stop_mask16(const unsigned char* p) {
  const __m128i below0 = _mm_set1_epi8('0' - 1), above9 = _mm_set1_epi8('9' + 1);
  const __m128i at = _mm_set1_epi8('@'), colon = _mm_set1_epi8(':'), eq = _mm_set1_epi8('='),
                dash = _mm_set1_epi8('-'), under = _mm_set1_epi8('_'), cap_a = _mm_set1_epi8('A'),
                cap_j = _mm_set1_epi8('J');
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // Signed compares: bytes >= 0x80 are negative, so never taken for digits.
  __m128i hit = _mm_and_si128(_mm_cmpgt_epi8(v, below0), _mm_cmplt_epi8(v, above9));
  hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, at), _mm_cmpeq_epi8(v, colon)));
  hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, eq), _mm_cmpeq_epi8(v, dash)));
  hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, under), _mm_cmpeq_epi8(v, cap_a)));
  hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, cap_j));
  return static_cast<unsigned>(_mm_movemask_epi8(hit));
}
#endif

// The bytes of a text that are not kBoring, in order. Ordinary prose is almost all boring, so
// this is where the prefilter spends its time: 16 bytes per step with SSE2. It keeps the mask of
// the last 16 bytes it classified, so that stops a few bytes apart (the digits of a hex string)
// cost a shift each rather than another block, and it ends on a block that overlaps the one
// before rather than going byte by byte.
class StopFinder {
 public:
  StopFinder(const unsigned char* p, std::size_t n) : p_(p), n_(n) {}

  // Index of the first byte at or after `i` that is not kBoring, or n.
  std::size_t next(std::size_t i) {
#if defined(__SSE2__)
    constexpr std::size_t kBlock = 16;
    if (i >= block_ && i - block_ < kBlock) {
      if (const unsigned m = mask_ >> (i - block_)) return i + static_cast<std::size_t>(__builtin_ctz(m));
      i = block_ + kBlock;
    }
    for (; i + kBlock <= n_; i += kBlock)
      if (classify(i)) return i + static_cast<std::size_t>(__builtin_ctz(mask_));
    if (i < n_ && n_ >= kBlock) {
      classify(n_ - kBlock);
      const unsigned m = mask_ >> (i - block_);
      return m ? i + static_cast<std::size_t>(__builtin_ctz(m)) : n_;
    }
#endif
    while (i < n_ && kKinds[p_[i]] == kBoring) ++i;
    return i;
  }

 private:
  const unsigned char* p_;
  std::size_t n_;
#if defined(__SSE2__)
  unsigned classify(std::size_t b) {
    block_ = b;
    mask_ = stop_mask16(p_ + b);
    return mask_;
  }
  std::size_t block_ = static_cast<std::size_t>(-1);  // start of the block mask_ describes
  unsigned mask_ = 0;
#endif
};

}  // namespace

void ScanResult::add(Family f, std::size_t b, std::size_t e, std::size_t text_size, std::uint32_t triggers) {
  if (whole[f]) return;
  b = b > 0 ? b - 1 : 0;
  e = e < text_size ? e + 1 : text_size;
  auto& w = windows[f];
  std::uint8_t& c = count[f];
  if (c > 0 && b <= w[c - 1].end) {
    w[c - 1].begin = std::min(w[c - 1].begin, b);
    w[c - 1].end = std::max(w[c - 1].end, e);
    w[c - 1].triggers |= triggers;
    return;
  }
  if (c == kMaxWindows) {
    whole[f] = true;
    return;
  }
  w[c++] = {b, e, triggers};
}

std::uint32_t families_of(std::uint32_t bits) {
  std::uint32_t f = 0;
  if (bits & kTrigAt) f |= 1u << kFamAt;
  if (bits & (kTrigIban | kTrigPhoneIntl | kTrigPhoneNanp | kTrigPhoneNational | kTrigSsn | kTrigDigits12 |
              kTrigDotted))
    f |= 1u << kFamNumber;
  if (bits & kTrigIPv6) f |= 1u << kFamIPv6;
  if (bits & (kTrigPwdKey | kTrigSecretKey | kTrigAuthKey)) f |= 1u << kFamKeyword;
  if (bits & (kTrigUrl | kTrigUrlAt | kTrigSlackHook)) f |= 1u << kFamUrl;
  if (bits & (kTrigTokSk | kTrigTokStripe | kTrigTokGithub | kTrigTokSlack | kTrigTokAws |
              kTrigTokGoogle | kTrigTokJwt))
    f |= 1u << kFamToken;
  if (bits & kTrigPem) f |= 1u << kFamPem;
  return f;
}

bool has_anchor_byte(std::string_view s) {
  return StopFinder(reinterpret_cast<const unsigned char*>(s.data()), s.size()).next(0) < s.size();
}

void scan_text(std::string_view text, ScanResult& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t ipv6_checked_until = 0;  // end of the last hex/colon run already looked at
  StopFinder stops(p, n);
  for (std::size_t i = 0; i < n; ++i) {
    i = stops.next(i);
    if (i == n) break;
    switch (kKinds[p[i]]) {
      case kDigit:
        i = digit_cluster(p, n, i, out) - 1;
        break;
      case kAtSign: {
        out.bits |= kTrigAt;
        std::size_t b = i, e = i + 1;
        expand(p, n, b, e, 256, 256, [](unsigned char c) {
          return is_ident_b(c) || c == '%' || c == '+' || c >= 0x80;
        });
        out.add(kFamAt, b, e, n);
        break;
      }
      case kColon:
        keyword_before(p, n, i, out);
        // The URL's own characters are scanned too: its host may be an IP address.
        if (starts_with(p, n, i, "://"))
          url_at(p, n, i, out);
        else if (i >= ipv6_checked_until)
          i = ipv6_run(p, n, i, out, ipv6_checked_until) - 1;
        break;
      case kEquals:
        keyword_before(p, n, i, out);
        break;
      case kDash:
        if (starts_with(p, n, i, "-----BEGIN")) {
          out.bits |= kTrigPem;
          out.add(kFamPem, i, n, n);
        }
        token_prefix_before(p, n, i, out);
        break;
      case kUnderscore:
        token_prefix_before(p, n, i, out);
        break;
      case kCapA:
        if (starts_with(p, n, i, "AKIA") || starts_with(p, n, i, "ASIA") ||
            starts_with(p, n, i, "ABIA") || starts_with(p, n, i, "ACCA"))
          token_at(p, n, i, kTrigTokAws, out);
        else if (starts_with(p, n, i, "AIza"))
          token_at(p, n, i, kTrigTokGoogle, out);
        break;
      case kCapJ:
        if (i >= 2 && p[i - 2] == 'e' && p[i - 1] == 'y') token_at(p, n, i - 2, kTrigTokJwt, out);
        break;
      default:
        break;
    }
  }
  if ((out.bits & kTrigUrl) && (out.bits & kTrigAt)) out.bits |= kTrigUrlAt;
}

}  // namespace pgp::core::redact::detail
