// Checksums, number plans and randomness tests that decide whether a pattern match is a real
// identifier or secret. Pure functions of the candidate text; they run on every match, so they
// work in fixed-size stack buffers instead of allocating.
#include "core/redact/validators.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace pgp::core::redact::detail {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) { return is_digit(c) || is_upper(c) || is_lower(c); }
char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// The value lowercased (ASCII), in `buf` when it fits so the usual short value needs no heap.
std::string_view lower_ascii(std::string_view s, std::array<char, 256>& buf, std::string& heap) {
  char* out = buf.data();
  if (s.size() > buf.size()) {
    heap.resize(s.size());
    out = heap.data();
  }
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = to_lower(s[i]);
  return {out, s.size()};
}

bool equals_ci(std::string_view s, std::string_view lower_word) {
  if (s.size() != lower_word.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (to_lower(s[i]) != lower_word[i]) return false;
  return true;
}

// The digits of a candidate, without allocating. Every number plan here has at most 19 digits,
// so callers check size() first and only then read the digits, which keep the first kCap.
class Digits {
 public:
  static constexpr std::size_t kCap = 32;
  explicit Digits(std::string_view s) {
    for (char c : s)
      if (is_digit(c)) {
        if (n_ < kCap) buf_[n_] = c;
        ++n_;
      }
  }
  std::size_t size() const { return n_; }
  std::string_view view() const { return {buf_.data(), std::min(n_, kCap)}; }

 private:
  std::array<char, kCap> buf_;
  std::size_t n_ = 0;
};

int prefix_number(std::string_view digits, std::size_t n) {
  int v = 0;
  for (std::size_t i = 0; i < n && i < digits.size(); ++i) v = v * 10 + (digits[i] - '0');
  return v;
}

std::string_view view(std::string_view text, Span s) { return text.substr(s.begin, s.end - s.begin); }

// A run of digits inside a candidate and where it ends, so checks can drop trailing groups that
// the pattern swallowed from the following words.
struct DigitGroup {
  std::size_t len = 0;     // digits in the group
  std::size_t end = 0;     // offset in the candidate just past the group
  char sep_before = 0;     // separator that precedes the group, 0 for the first
};

// At most kMaxGroups groups, kept inline: the card and phone patterns allow 19 and 7.
constexpr std::size_t kMaxGroups = 24;
struct DigitGroups {
  std::array<DigitGroup, kMaxGroups> g;
  std::size_t n = 0;
};

// False when the candidate has more groups than any pattern produces.
bool digit_groups(std::string_view s, DigitGroups& out) {
  char sep = 0;  // first non-digit since the previous group
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!is_digit(s[i])) {
      if (sep == 0) sep = s[i];
      continue;
    }
    if (i == 0 || !is_digit(s[i - 1])) {
      if (out.n == kMaxGroups) return false;
      out.g[out.n++] = {0, i, out.n == 0 ? char(0) : sep};
    }
    out.g[out.n - 1].len++;
    out.g[out.n - 1].end = i + 1;
    sep = 0;
  }
  return true;
}

// Tries the candidate with 1..n of its leading digit groups, longest first, and returns the first
// prefix that `ok(digits, groups)` accepts. Bounded by the number of groups, which the patterns
// cap. Prefixes with more digits than Digits keeps are skipped: no number plan allows them.
template <typename Ok>
std::optional<Span> longest_group_prefix(std::string_view text, Span s, Ok ok) {
  std::string_view cand = view(text, s);
  DigitGroups groups;
  if (!digit_groups(cand, groups)) return std::nullopt;
  const Digits all(cand);
  std::size_t digits = all.size();
  for (std::size_t k = groups.n; k > 0; --k) {
    if (digits <= Digits::kCap &&
        ok(all.view().substr(0, digits), std::span<const DigitGroup>(groups.g.data(), k)))
      return Span{s.begin, s.begin + groups.g[k - 1].end};
    digits -= groups.g[k - 1].len;
  }
  return std::nullopt;
}

// True when the span is one group of a longer run of digit groups ("4666 0913 3438 1385"):
// a phone number or SSN is not cut out of the middle of another number.
bool inside_digit_run(std::string_view text, Span s) {
  auto sep = [](char c) { return c == ' ' || c == '-' || c == '.'; };
  if (s.begin >= 2 && sep(text[s.begin - 1]) && is_digit(text[s.begin - 2])) return true;
  if (s.end + 1 < text.size() && sep(text[s.end]) && is_digit(text[s.end + 1])) return true;
  return false;
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pure predicates

bool luhn_valid(std::string_view s) {
  int sum = 0;
  int n = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (!is_digit(*it)) continue;
    int d = *it - '0';
    if (n % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++n;
  }
  return n > 0 && sum % 10 == 0;
}

namespace {

struct IbanEntry {
  char cc[3];
  int len;
};
// SWIFT IBAN registry lengths.
constexpr IbanEntry kIbanLengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
    {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
    {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33},
    {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
    {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
    {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

// The registry as a table indexed by the two letters: checks run on every IBAN-shaped match.
constexpr std::array<std::uint8_t, 26 * 26> kIbanLengthByCc = [] {
  std::array<std::uint8_t, 26 * 26> t{};
  for (const IbanEntry& e : kIbanLengths) t[(e.cc[0] - 'A') * 26 + (e.cc[1] - 'A')] = static_cast<std::uint8_t>(e.len);
  return t;
}();

constexpr std::size_t kMaxIban = 34;  // ISO 13616

}  // namespace

int iban_length(std::string_view cc) {
  if (cc.size() != 2 || !is_upper(cc[0]) || !is_upper(cc[1])) return 0;
  return kIbanLengthByCc[(cc[0] - 'A') * 26 + (cc[1] - 'A')];
}

bool iban_valid(std::string_view s) {
  std::array<char, kMaxIban> compact;
  std::size_t n = 0;
  for (char c : s) {
    if (c == ' ') continue;
    if (!is_alnum(c) || n == kMaxIban) return false;
    compact[n++] = is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c;
  }
  if (n < 4) return false;
  int len = iban_length(std::string_view(compact.data(), 2));
  if (len == 0 || static_cast<int>(n) != len) return false;
  if (!is_digit(compact[2]) || !is_digit(compact[3])) return false;
  // ISO 13616: move the first four characters to the end, letters become 10..35, mod 97 == 1.
  int rem = 0;
  for (std::size_t k = 0; k < n; ++k) {
    char c = compact[(k + 4) % n];
    int v = is_digit(c) ? c - '0' : c - 'A' + 10;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem == 1;
}

bool us_ssn_valid(std::string_view s) {
  Digits digits(s);
  if (digits.size() != 9) return false;
  std::string_view d = digits.view();
  int area = prefix_number(d, 3);
  int group = prefix_number(d.substr(3), 2);
  int serial = prefix_number(d.substr(5), 4);
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

bool ipv4_valid(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = i;
    while (j < s.size() && is_digit(s[j])) ++j;
    std::size_t n = j - i;
    if (n == 0 || n > 3 || (n > 1 && s[i] == '0')) return false;
    if (prefix_number(s.substr(i), n) > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

double shannon_entropy(std::string_view s) {
  if (s.empty()) return 0.0;
  // H = log2(n) - sum(c * log2(c)) / n, with c*log2(c) from a table for the usual short values.
  static const std::array<double, 257> kCLogC = [] {
    std::array<double, 257> t{};
    for (int c = 1; c <= 256; ++c) t[c] = c * std::log2(static_cast<double>(c));
    return t;
  }();
  std::array<std::uint32_t, 256> counts{};
  for (unsigned char c : s) counts[c]++;
  // Walk the text rather than all 256 counters: values are short, and zeroing a counter once
  // it is summed visits each distinct byte exactly once.
  double sum = 0.0;
  for (unsigned char b : s) {
    const std::uint32_t c = counts[b];
    if (!c) continue;
    sum += c <= 256 ? kCLogC[c] : c * std::log2(static_cast<double>(c));
    counts[b] = 0;
  }
  const double n = static_cast<double>(s.size());
  return std::log2(n) - sum / n;
}

bool is_placeholder(std::string_view value) {
  if (value.empty()) return true;
  char first = value.front();
  // Template syntax: <token>, [REDACTED], {{ secret }}, ${VAR}, %(name)s, $ENV_VAR.
  if (first == '<' || first == '[' || first == '{' || value.substr(0, 2) == "%(" ||
      value.substr(0, 2) == "%s")
    return true;
  if (first == '$' && value.size() > 1 &&
      (value[1] == '{' || value[1] == '(' || is_upper(value[1]) || value[1] == '_')) {
    bool env = std::all_of(value.begin() + 1, value.end(), [](char c) {
      return is_upper(c) || is_digit(c) || c == '_' || c == '{' || c == '}' || c == '(' || c == ')';
    });
    if (env) return true;
  }
  std::array<char, 256> buf;
  std::string heap;
  const std::string_view low = lower_ascii(value, buf, heap);
  if (low.size() >= 3 && std::all_of(low.begin(), low.end(), [&](char c) { return c == low[0]; }))
    return true;
  static constexpr std::string_view kMarkers[] = {
      "your",  "example", "placeholder", "changeme", "change_me", "change-me", "replace",
      "dummy", "redacted", "xxxx",       "****",     "...",       "here",      "sample",
      "fake",  "insert",  "<",           ">",        "{{",        "}}"};
  // One pass over the value. The markers that may start at a byte are those whose first byte is
  // that byte and whose second byte is the next one (a one-byte marker needs only the first):
  // two table lookups per byte, and a comparison only where both agree, which in a random value
  // (hex, base64) is almost nowhere.
  static_assert(std::size(kMarkers) <= 32, "one bit per marker");
  static constexpr auto kByByte = [] {
    std::array<std::array<std::uint32_t, 256>, 2> t{};  // [0]: by first byte, [1]: by second
    for (std::size_t m = 0; m < std::size(kMarkers); ++m) {
      const std::uint32_t bit = 1u << m;
      t[0][static_cast<unsigned char>(kMarkers[m][0])] |= bit;
      if (kMarkers[m].size() == 1)
        for (std::uint32_t& any : t[1]) any |= bit;
      else
        t[1][static_cast<unsigned char>(kMarkers[m][1])] |= bit;
    }
    return t;
  }();
  for (std::size_t i = 0; i < low.size(); ++i) {
    // Past the end, a NUL: no marker has one, so only one-byte markers remain possible.
    const unsigned char next = i + 1 < low.size() ? static_cast<unsigned char>(low[i + 1]) : 0;
    for (std::uint32_t c = kByByte[0][static_cast<unsigned char>(low[i])] & kByByte[1][next]; c; c &= c - 1)
      if (low.substr(i).starts_with(kMarkers[std::countr_zero(c)])) return true;
  }
  static constexpr std::string_view kWords[] = {
      "password", "passwd", "pass",     "pwd",    "secret", "token",  "apikey",    "api_key",
      "key",      "null",   "none",     "nil",    "true",   "false",  "required",  "optional",
      "empty",    "hidden", "string",   "value",  "undefined", "masked", "secret_key", "access_key"};
  for (std::string_view w : kWords)
    if (low == w) return true;
  return false;
}

bool looks_random(std::string_view value, std::size_t min_len, double min_entropy) {
  if (value.size() < min_len || is_placeholder(value)) return false;
  bool lower = false, upper = false, digit = false;
  for (char c : value) {
    lower |= is_lower(c);
    upper |= is_upper(c);
    digit |= is_digit(c);
  }
  if (int(lower) + int(upper) + int(digit) < 2) return false;
  return shannon_entropy(value) >= min_entropy;
}

bool card_issuer_valid(std::string_view d) {
  const std::size_t n = d.size();
  auto len_in = [n](std::size_t lo, std::size_t hi) { return n >= lo && n <= hi; };
  const int p1 = prefix_number(d, 1), p2 = prefix_number(d, 2), p3 = prefix_number(d, 3),
            p4 = prefix_number(d, 4), p6 = prefix_number(d, 6);
  if (p1 == 4) return n == 13 || n == 16 || n == 19;                                // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;          // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                          // Amex
  if (p4 >= 2200 && p4 <= 2204) return len_in(16, 19);                               // Mir
  if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 ||
      (p6 >= 622126 && p6 <= 622925))
    return len_in(16, 19);                                                           // Discover
  if (p4 >= 3528 && p4 <= 3589) return len_in(16, 19);                               // JCB
  if ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
    return len_in(14, 19);                                                           // Diners
  if (p2 == 62) return len_in(16, 19);                                               // UnionPay
  for (int m : {5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763})               // Maestro
    if (p4 == m) return len_in(12, 19);
  return false;
}

namespace {

// Number of digits in the ITU country code that starts `d`, 0 if none can start that way.
std::size_t country_code_len(std::string_view d) {
  if (d.empty() || d[0] == '0') return 0;
  if (d[0] == '1' || d[0] == '7') return 1;
  if (d.size() < 2) return 0;
  static constexpr int kTwoDigit[] = {20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45,
                                      46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61,
                                      62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94,
                                      95, 98};
  int p2 = prefix_number(d, 2);
  for (int c : kTwoDigit)
    if (c == p2) return 2;
  return d.size() >= 3 ? 3 : 0;
}

// National significant number lengths for common countries; others get a generic range.
std::pair<int, int> national_length(int cc) {
  struct Entry {
    int cc, lo, hi;
  };
  static constexpr Entry kTable[] = {
      {1, 10, 10},   {7, 10, 10},   {20, 9, 10},  {27, 9, 9},    {30, 10, 10}, {31, 9, 9},
      {32, 8, 9},    {33, 9, 9},    {34, 9, 9},   {36, 8, 9},    {39, 6, 11},  {40, 9, 9},
      {41, 9, 9},    {43, 4, 13},   {44, 9, 10},  {45, 8, 8},    {46, 7, 10},  {47, 8, 8},
      {48, 9, 9},    {49, 6, 13},   {52, 10, 10}, {54, 10, 11},  {55, 10, 11}, {56, 9, 9},
      {57, 10, 10},  {60, 8, 10},   {61, 9, 9},   {62, 8, 12},   {63, 10, 10}, {64, 8, 10},
      {65, 8, 8},    {66, 8, 9},    {81, 9, 10},  {82, 8, 10},   {84, 9, 10},  {86, 10, 11},
      {90, 10, 10},  {91, 10, 10},  {92, 10, 10}, {234, 8, 10},  {254, 9, 9},  {351, 9, 9},
      {352, 8, 11},  {353, 7, 9},   {358, 5, 12}, {380, 9, 9},   {420, 9, 9},  {421, 9, 9},
      {852, 8, 8},   {971, 8, 9},   {972, 8, 9},
  };
  for (const Entry& e : kTable)
    if (e.cc == cc) return {e.lo, e.hi};
  return {6, 12};
}

bool nanp_valid(std::string_view national10) {
  return national10.size() == 10 && national10[0] >= '2' && national10[3] >= '2';
}

}  // namespace

bool phone_country_valid(std::string_view d) {
  std::size_t cl = country_code_len(d);
  if (cl == 0 || d.size() > 15) return false;
  int cc = prefix_number(d, cl);
  std::string_view national = d.substr(cl);
  if (cc == 1) return nanp_valid(national);
  auto [lo, hi] = national_length(cc);
  int n = static_cast<int>(national.size());
  return n >= lo && n <= hi;
}

// ---------------------------------------------------------------------------------------------
// Span checks

std::optional<Span> check_email(std::string_view text, Span s) {
  std::string_view e = view(text, s);
  std::size_t at = e.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64) return std::nullopt;
  std::string_view local = e.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || contains(local, "..")) return std::nullopt;
  std::string_view domain = e.substr(at + 1);
  std::size_t dot = domain.rfind('.');
  std::string_view tld = domain.substr(dot + 1);
  // Retina image names (icon@2x.png) have the shape of an address.
  static constexpr std::string_view kFileExt[] = {"png", "jpg", "jpeg", "gif", "svg", "webp"};
  for (std::string_view x : kFileExt)
    if (equals_ci(tld, x)) return std::nullopt;
  // In scheme://user:pass@host the part before '@' is a credential, reported as PASSWORD.
  std::size_t lo = s.begin > 512 ? s.begin - 512 : 0;
  for (std::size_t i = s.begin; i > lo; --i) {
    char c = text[i - 1];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '<' || c == '"') break;
    if (c == '/' && i >= 3 && text.substr(i - 3, 3) == "://") return std::nullopt;
  }
  return s;
}

std::optional<Span> check_card(std::string_view text, Span s) {
  return longest_group_prefix(text, s, [](std::string_view d, std::span<const DigitGroup> g) {
    if (d.size() < 12 || d.size() > 19) return false;
    if (g.size() > 1) {
      // One separator style, and the groupings printed on real cards.
      for (std::size_t i = 2; i < g.size(); ++i)
        if (g[i].sep_before != g[1].sep_before) return false;
      bool fours = std::all_of(g.begin(), g.end() - 1, [](const DigitGroup& x) { return x.len == 4; }) &&
                   g.back().len >= 1 && g.back().len <= 4;
      bool amex = g.size() == 3 && g[0].len == 4 && g[1].len == 6 && (g[2].len == 5 || g[2].len == 4);
      if (!fours && !amex) return false;
    }
    return card_issuer_valid(d) && luhn_valid(d);
  });
}

std::optional<Span> check_ssn(std::string_view text, Span s) {
  if (inside_digit_run(text, s)) return std::nullopt;
  return us_ssn_valid(view(text, s)) ? std::optional<Span>(s) : std::nullopt;
}

std::optional<Span> check_iban(std::string_view text, Span s) {
  std::string_view cand = view(text, s);
  int len = iban_length(cand.substr(0, 2));
  if (len == 0) return std::nullopt;
  // Keep exactly the country's length: the pattern may have taken a following code or word.
  int seen = 0;
  std::size_t i = 0;
  for (; i < cand.size() && seen < len; ++i)
    if (cand[i] != ' ') ++seen;
  if (seen != len || (i < cand.size() && cand[i] != ' ')) return std::nullopt;
  Span out{s.begin, s.begin + i};
  return iban_valid(view(text, out)) ? std::optional<Span>(out) : std::nullopt;
}

std::optional<Span> check_ipv4(std::string_view text, Span s) {
  return ipv4_valid(view(text, s)) ? std::optional<Span>(s) : std::nullopt;
}

namespace {

// Groups of an IPv6 address side ("2001:db8" or ""), each 1-4 hex digits. -1 if malformed.
int ipv6_groups(std::string_view side) {
  if (side.empty()) return 0;
  int groups = 0;
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = side.find(':', start);
    std::string_view g = side.substr(start, colon == std::string_view::npos ? side.npos : colon - start);
    if (g.empty() || g.size() > 4 ||
        !std::all_of(g.begin(), g.end(), [](char c) {
          return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        }))
      return -1;
    ++groups;
    if (colon == std::string_view::npos) return groups;
    start = colon + 1;
  }
}

}  // namespace

bool ipv6_valid(std::string_view addr) {
  int needed = 8;
  std::size_t last_colon = addr.rfind(':');
  if (last_colon == std::string_view::npos) return false;
  if (addr.find('.') != std::string_view::npos) {
    // An embedded IPv4 address stands for the last two groups.
    if (!ipv4_valid(addr.substr(last_colon + 1))) return false;
    needed = 6;
    addr = addr.substr(0, last_colon + 1);
    if (addr.size() >= 2 && addr.substr(addr.size() - 2) != "::") addr.remove_suffix(1);
  }
  std::size_t dbl = addr.find("::");
  if (dbl == std::string_view::npos) return ipv6_groups(addr) == needed;
  if (addr.find("::", dbl + 1) != std::string_view::npos) return false;  // also rejects ":::"
  int left = ipv6_groups(addr.substr(0, dbl));
  int right = ipv6_groups(addr.substr(dbl + 2));
  return left >= 0 && right >= 0 && left + right < needed;
}

std::optional<Span> check_ipv6(std::string_view text, Span s) {
  // The match may end with up to two boundary characters (":)" after "::1"): keep the longest
  // prefix that parses.
  for (int drop = 0; drop <= 2 && s.end > s.begin + drop; ++drop) {
    Span c{s.begin, s.end - drop};
    std::string_view ip = view(text, c);
    std::string_view addr = ip.substr(0, ip.find('%'));
    // Scope operators (Foo::Bar) and hex words joined by '::' have no decimal digit; real
    // addresses almost always do.
    if (std::none_of(addr.begin(), addr.end(), is_digit)) return std::nullopt;
    if (ipv6_valid(addr) && (ip.size() == addr.size() || ip.size() > addr.size() + 1)) return c;
  }
  return std::nullopt;
}

std::optional<Span> check_phone_intl(std::string_view text, Span s) {
  return longest_group_prefix(text, s, [](std::string_view d, std::span<const DigitGroup> g) {
    if (d.size() < 8 || d.size() > 15) return false;
    // When the number is grouped, the first group is the country code.
    if (g.size() > 1 && g[0].len <= 3 && country_code_len(d) != g[0].len) return false;
    return phone_country_valid(d);
  });
}

std::optional<Span> check_phone_nanp(std::string_view text, Span s) {
  if (inside_digit_run(text, s)) return std::nullopt;
  Digits digits(view(text, s));
  if (digits.size() > 11) return std::nullopt;
  std::string_view d = digits.view();
  if (d.size() == 11 && d[0] == '1') d.remove_prefix(1);
  return nanp_valid(d) ? std::optional<Span>(s) : std::nullopt;
}

std::optional<Span> check_phone_national(std::string_view text, Span s) {
  if (inside_digit_run(text, s)) return std::nullopt;
  std::string_view v = view(text, s);
  // One separator style throughout: "05.01.2024 14.30" is a date and a time, not a number.
  char sep = 0;
  for (char c : v) {
    if (is_digit(c)) continue;
    if (sep != 0 && c != sep) return std::nullopt;
    sep = c;
  }
  Digits digits(v);
  if (digits.size() < 9 || digits.size() > 12) return std::nullopt;
  // A trunk prefix 0 then a non-zero digit: "00" is the international call prefix instead.
  std::string_view d = digits.view();
  if (d[0] != '0' || d[1] == '0') return std::nullopt;
  return s;
}

namespace {

// Drops sentence punctuation that follows an unquoted value.
Span trim_value(std::string_view text, Span s) {
  while (s.end > s.begin + 1) {
    char c = text[s.end - 1];
    if (c != '.' && c != ',' && c != ';' && c != ':') break;
    --s.end;
  }
  return s;
}

}  // namespace

std::optional<Span> check_password(std::string_view text, Span s) {
  s = trim_value(text, s);
  std::string_view v = view(text, s);
  if (v.size() < 3 || is_placeholder(v)) return std::nullopt;
  return s;
}

std::optional<Span> check_generic_secret(std::string_view text, Span s) {
  s = trim_value(text, s);
  return looks_random(view(text, s), 12, 3.0) ? std::optional<Span>(s) : std::nullopt;
}

std::optional<Span> check_bearer(std::string_view text, Span s) {
  s = trim_value(text, s);
  return looks_random(view(text, s), 12, 2.5) ? std::optional<Span>(s) : std::nullopt;
}

std::optional<Span> check_token(std::string_view text, Span s) {
  std::string_view v = view(text, s);
  if (is_placeholder(v) || shannon_entropy(v) < 3.0) return std::nullopt;
  return s;
}

std::optional<Span> check_openai(std::string_view text, Span s) {
  std::string_view v = view(text, s);
  if (v.substr(0, 7) == "sk-ant-") return std::nullopt;  // the ANTHROPIC_API_KEY detector's
  std::string_view body = v.substr(3);
  for (std::string_view p : {"proj-", "svcacct-", "admin-"})
    if (body.substr(0, p.size()) == p) body.remove_prefix(p.size());
  if (!looks_random(body, 20, 3.5)) return std::nullopt;
  bool lower = std::any_of(body.begin(), body.end(), is_lower);
  bool upper = std::any_of(body.begin(), body.end(), is_upper);
  bool digit = std::any_of(body.begin(), body.end(), is_digit);
  return lower && upper && digit ? std::optional<Span>(s) : std::nullopt;
}

std::optional<Span> check_jwt(std::string_view text, Span s) {
  std::string_view v = view(text, s);
  std::string_view header = v.substr(0, std::min<std::size_t>(v.find('.'), 512));
  // base64url-decode the header and look for the JOSE header fields.
  std::string decoded;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : header) {
    int x = is_upper(c) ? c - 'A' : is_lower(c) ? c - 'a' + 26 : is_digit(c) ? c - '0' + 52
          : c == '-' ? 62 : c == '_' ? 63 : -1;
    if (x < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(x);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (decoded.empty() || decoded[0] != '{') return std::nullopt;
  if (!contains(decoded, "\"alg\"") && !contains(decoded, "\"typ\"") && !contains(decoded, "\"kid\""))
    return std::nullopt;
  return s;
}

namespace {

std::optional<Span> by_name_luhn(std::string_view text, Span s) {
  Digits d(view(text, s));
  return d.size() >= 12 && d.size() <= 19 && luhn_valid(d.view()) ? std::optional<Span>(s) : std::nullopt;
}
std::optional<Span> by_name_iban(std::string_view text, Span s) {
  return iban_valid(view(text, s)) ? std::optional<Span>(s) : std::nullopt;
}
std::optional<Span> by_name_entropy(std::string_view text, Span s) {
  return looks_random(view(text, s), 8, 3.0) ? std::optional<Span>(s) : std::nullopt;
}

}  // namespace

Check check_by_name(std::string_view name) {
  if (name == "luhn") return by_name_luhn;
  if (name == "iban") return by_name_iban;
  if (name == "us_ssn") return check_ssn;
  if (name == "ipv4") return check_ipv4;
  if (name == "entropy") return by_name_entropy;
  return nullptr;
}

}  // namespace pgp::core::redact::detail
