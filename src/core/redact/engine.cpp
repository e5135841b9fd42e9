// The redaction engine: compiles built-ins, custom rules, dictionaries and allow-lists once, then
// finds spans with a prefilter, one RE2::Set pass and per-detector searches, and rewrites text.
#include "core/redact/engine.hpp"

#include "core/redact/detectors.hpp"
#include "core/redact/dictionary.hpp"
#include "core/redact/validators.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <map>
#include <unordered_set>

namespace pgp::core::redact {
namespace {

using detail::BuiltinDef;
using detail::Check;
using detail::Extend;
using detail::Span;

// DFA budgets. A built-in's DFA rarely needs more than a few hundred states; when a hostile
// input exhausts the budget RE2 falls back to its NFA, which is slower but still linear.
constexpr std::int64_t kBuiltinMaxMem = 512 << 10;
constexpr std::int64_t kSetMaxMem = 4 << 20;
constexpr int kBuiltinPriority = 50;
constexpr int kDictionaryPriority = 100;
constexpr int kMaxSubmatch = 4;  // group 0 plus the first three capture groups
// Below this size the prefilter windows already leave little text to search, and one RE2::Set
// pass would cost more than it saves.
constexpr std::size_t kSetMinBytes = 2048;
// In a window, one RE2::Set pass costs about as much as 1.5 failed searches of one detector:
// worth it from three candidates on.
constexpr std::size_t kWindowSetMinCandidates = 3;

RE2::Options re2_options(std::int64_t max_mem) {
  RE2::Options o;
  o.set_log_errors(false);  // RE2 would print the pattern to stderr, i.e. the server log
  o.set_max_mem(max_mem);
  o.set_encoding(RE2::Options::EncodingUTF8);
  return o;
}

// Why a pattern was refused, without quoting it: RE2's own message repeats the offending text.
const char* describe(RE2::ErrorCode code) {
  switch (code) {
    case RE2::ErrorBadEscape: return "invalid escape sequence";
    case RE2::ErrorBadCharClass: return "invalid character class";
    case RE2::ErrorBadCharRange: return "invalid character class range";
    case RE2::ErrorMissingBracket: return "missing closing ]";
    case RE2::ErrorMissingParen: return "unbalanced parenthesis";
    case RE2::ErrorTrailingBackslash: return "trailing backslash";
    case RE2::ErrorRepeatArgument: return "repetition operator without operand";
    case RE2::ErrorRepeatSize: return "invalid repetition count";
    case RE2::ErrorRepeatOp: return "invalid repetition operator";
    case RE2::ErrorBadPerlOp: return "unsupported syntax (look-around and back-references are not available)";
    case RE2::ErrorBadUTF8: return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture: return "invalid named capture group";
    case RE2::ErrorPatternTooLarge: return "pattern too large for the memory budget";
    default: return "invalid pattern";
  }
}

[[noreturn]] void refuse(const std::string& what, const std::string& why) {
  throw Error(sqlstate::kInvalidRule, what + ": " + why);
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool valid_type_name(std::string_view t) {
  if (t.empty() || t.size() > 63) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A pattern-based detector after compilation: a built-in or a custom rule.
struct Detector {
  std::string type;
  std::string rule;
  std::unique_ptr<RE2> re;
  int submatches = 1;
  detail::Trim trim = detail::Trim::None;
  Check check = nullptr;
  Extend extend = nullptr;
  int priority = kBuiltinPriority;
  int specificity = 0;
  Action action = Action::Redact;
  std::int64_t budget = 0;
};

// How the prefilter routes a detector. Kept apart from the Detector (strings, the RE2: two cache
// lines each), so that choosing a message's candidates reads a few cache lines, not one per
// detector.
struct Route {
  std::uint32_t trigger = detail::kTrigAlways;
  std::uint32_t families = 0;  // prefilter window families; 0: search the whole text
};

struct DictInfo {
  std::string type;
  std::string rule;
  Action action;
};

// A finding before overlap resolution, with what is needed to rank it.
struct Candidate {
  Span span;
  int source;  // detector index, or -1 - dictionary index
  int priority;
  int specificity;
};

// A resolved finding without its strings: the span and the source (as in Candidate). The
// output is written from these; Finding objects are only made for callers that ask for them.
struct Hit {
  Span span;
  int source;
};

// What a source reports: entity type, rule name and action.
struct Origin {
  const std::string& type;
  const std::string& rule;
  Action action;
};

// Working memory of one detection. The engine is const and may be shared, so each thread has
// its own, reused from call to call: on a short message the dozen vectors it holds would
// otherwise cost more allocations than the detection itself.
struct Scratch {
  std::vector<int> cands, family, in_window, set_hits, filtered, ran_whole;
  std::vector<Candidate> found;
  std::vector<detail::DictionaryMatcher::Match> dict_hits;
  std::vector<const Candidate*> chosen;
  std::vector<Hit> hits;

  // A huge text leaves large buffers behind; let them go rather than keep them per thread.
  void release_if_large() {
    constexpr std::size_t kKeep = 4096;
    if (found.capacity() > kKeep) std::vector<Candidate>().swap(found);
    if (chosen.capacity() > kKeep) std::vector<const Candidate*>().swap(chosen);
    if (hits.capacity() > kKeep) std::vector<Hit>().swap(hits);
    if (dict_hits.capacity() > kKeep) std::vector<detail::DictionaryMatcher::Match>().swap(dict_hits);
  }
};

// Not inlined: in a shared library every use of a thread_local costs a __tls_get_addr call, and
// GCC repeats that call at each use of an inlined `s` rather than keep its address in a register
// (it was 5-8% of a short message's redaction). Out of line, callers hold a plain reference.
[[gnu::noinline]] Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// The value part of "key<sep>value": skip the boundary character and key, the separator
// (=, :, =>, :=) with blanks and an opening quote, and "Bearer " in an Authorization header.
Span value_of(std::string_view text, Span m) {
  auto at = [&](std::size_t i) { return i < m.end ? text[i] : '\0'; };
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  std::size_t i = m.begin;
  if (!alpha(at(i))) ++i;
  while (i < m.end && (alpha(at(i)) || (at(i) >= '0' && at(i) <= '9') || at(i) == '_' || at(i) == '.' || at(i) == '-')) ++i;
  if (at(i) == '"' || at(i) == '\'') ++i;
  while (blank(at(i))) ++i;
  if ((at(i) == '=' && at(i + 1) == '>') || (at(i) == ':' && at(i + 1) == '='))
    i += 2;
  else if (at(i) == '=' || at(i) == ':')
    ++i;
  while (blank(at(i))) ++i;
  char quote = 0;
  if (at(i) == '"' || at(i) == '\'') quote = at(i++);
  std::string_view rest = text.substr(i, m.end - i);
  if (rest.size() > 7 && (rest[0] == 'b' || rest[0] == 'B') && blank(rest[6])) {
    std::string word(rest.substr(0, 6));
    for (char& c : word) c = static_cast<char>(c | 0x20);
    if (word == "bearer") {
      i += 6;
      while (blank(at(i))) ++i;
    }
  }
  std::size_t end = m.end;
  if (quote && end > i && text[end - 1] == quote) --end;
  return {i, end};
}

// The password in "scheme://user:password@host" followed by one boundary character.
Span url_password_of(std::string_view text, Span m) {
  std::string_view v = text.substr(m.begin, m.end - m.begin);
  std::size_t user = v.find("://");
  std::size_t colon = v.find(':', user + 3);
  std::size_t at = v.rfind('@');
  if (user == std::string_view::npos || colon == std::string_view::npos || at == std::string_view::npos || at <= colon)
    return {m.begin, m.begin};
  return {m.begin + colon + 1, m.begin + at};
}

bool in_class(detail::Trim t, char c, bool first) {
  const bool digit = c >= '0' && c <= '9';
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  switch (t) {
    case detail::Trim::Digits: return digit || (first && (c == '+' || c == '('));
    case detail::Trim::Token: return first ? alpha : alpha || digit || c == '_' || c == '-';
    case detail::Trim::Alnum: return first ? alpha : alpha || digit;
    case detail::Trim::Lead: return first ? alpha || digit || c == ':' : true;
    default: break;
  }
  return true;
}

// The span inside a whole match made of one boundary character, the span, and up to two
// boundary characters. '^' only matches at offset 0, so elsewhere the first character is
// always the boundary; the trailing boundary characters never belong to the span's class.
Span trim_match(detail::Trim t, std::string_view text, Span m) {
  if (t == detail::Trim::Value) return value_of(text, m);
  if (t == detail::Trim::UrlPassword) return url_password_of(text, m);
  if (m.begin < m.end && (m.begin > 0 || !in_class(t, text[m.begin], true))) ++m.begin;
  for (int k = 0; k < 2 && m.end > m.begin && !in_class(t, text[m.end - 1], false); ++k) --m.end;
  return m;
}

void snap_to_code_points(std::string_view text, Span& s) {
  auto cont = [&](std::size_t i) { return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
  while (s.begin > 0 && s.begin < text.size() && cont(s.begin)) --s.begin;
  while (s.end < text.size() && cont(s.end)) ++s.end;
}

class EngineImpl final : public Engine {
 public:
  explicit EngineImpl(const EngineConfig& config) {
    if (config.builtins) add_builtins(config.disabled_builtins);
    for (const RuleSpec& r : config.rules) add_rule(r, config.rule_max_mem);
    for (std::size_t i = 0; i < config.dictionaries.size(); ++i) add_dictionary(config.dictionaries[i], static_cast<int>(i));
    for (std::size_t i = 0; i < config.allow.size(); ++i) add_allow(config.allow[i], i, config.rule_max_mem);
    build_set();
  }

  std::vector<Finding> detect(std::string_view text) const override;
  void detect_into(std::string_view text, std::vector<Finding>& out) const override;
  bool detect_any(std::string_view text) const override;
  std::string redact(std::string_view text, const RedactOptions& opts) const override;
  void redact_into(std::string_view text, const RedactOptions& opts, std::string& out,
                   std::vector<Finding>* findings_out) const override;
  void redact_into_types(std::string_view text, const RedactOptions& opts, std::string& out,
                         std::vector<std::string_view>& types_out) const override;
  std::string mask(std::string_view text) const override;
  std::size_t memory_bytes() const override;

 private:
  void add_builtins(const std::vector<std::string>& disabled);
  void add_rule(const RuleSpec& r, std::int64_t max_mem);
  void add_dictionary(const Dictionary& d, int index);
  void add_allow(const AllowEntry& a, std::size_t index, std::int64_t max_mem);
  void build_set();

  void candidates(std::string_view text, const detail::ScanResult& scan, Scratch& s) const;
  void set_filter(std::string_view text, const std::vector<int>& among, std::vector<int>& hits,
                  std::vector<int>& out) const;
  void run_detector(int index, std::string_view text, detail::Window w, std::vector<Candidate>& out) const;
  void run_candidates(std::string_view text, const detail::ScanResult& scan, Scratch& s) const;
  bool allowed(std::string_view value) const;
  void resolve(Scratch& s) const;
  const Scratch& find(std::string_view text) const;
  Origin origin(int source) const;
  void to_findings(const std::vector<Hit>& hits, std::vector<Finding>& out) const;

  // What redact_into() writes: REDACT and BLOCK hits as the placeholder, MASK hits masked.
  void write_redacted(std::string_view text, const std::vector<Hit>& hits, const RedactOptions& opts,
                      std::string& out) const;

  template <typename Acts, typename Render>
  void rewrite(std::string_view text, const std::vector<Hit>& hits, std::string& out, Acts acts,
               Render render) const;

  // Detectors that search the whole text whatever the prefilter says (custom rules).
  int unfiltered_ = 0;

  std::vector<Detector> detectors_;
  std::vector<Route> routes_;  // routes_[i] is that of detectors_[i]
  std::unique_ptr<RE2::Set> set_;  // pattern i is detectors_[i]; null if it could not compile
  detail::DictionaryMatcher dict_;
  std::vector<DictInfo> dict_info_;
  std::unordered_set<std::string> allow_values_;  // lowercased
  std::vector<std::unique_ptr<RE2>> allow_patterns_;
  std::int64_t allow_budget_ = 0;
};

void EngineImpl::add_builtins(const std::vector<std::string>& disabled) {
  for (const BuiltinDef& d : detail::builtin_defs()) {
    if (std::find(disabled.begin(), disabled.end(), d.type) != disabled.end()) continue;
    Detector det;
    det.type = d.type;
    det.rule = std::string("builtin:") + d.type;
    det.re = std::make_unique<RE2>(d.pattern, re2_options(kBuiltinMaxMem));
    if (!det.re->ok())
      throw Error(sqlstate::kInternal, std::string("built-in detector ") + d.type + " does not compile");
    det.trim = d.trim;
    det.submatches = d.trim != detail::Trim::None ? 1 : std::min(det.re->NumberOfCapturingGroups() + 1, kMaxSubmatch);
    det.check = d.check;
    det.extend = d.extend;
    det.specificity = d.specificity;
    det.budget = kBuiltinMaxMem;
    detectors_.push_back(std::move(det));
    routes_.push_back({d.trigger, detail::families_of(d.trigger)});
  }
}

void EngineImpl::add_rule(const RuleSpec& r, std::int64_t max_mem) {
  validate_rule(r, max_mem);
  Detector det;
  det.type = r.entity_type;
  det.rule = r.name;
  det.re = std::make_unique<RE2>(r.pattern, re2_options(max_mem));
  det.submatches = std::min(det.re->NumberOfCapturingGroups() + 1, 2);  // group 1 is the span
  det.check = r.validator.empty() ? nullptr : detail::check_by_name(r.validator);
  det.priority = r.priority;
  det.action = r.action;
  det.budget = max_mem;
  detectors_.push_back(std::move(det));
  routes_.push_back({});
  ++unfiltered_;
}

void EngineImpl::add_dictionary(const Dictionary& d, int index) {
  if (!valid_type_name(d.entity_type))
    refuse("dictionary \"" + d.name + "\"", "entity type must be 1-63 letters, digits or underscores");
  dict_info_.push_back({d.entity_type, "dict:" + d.name, d.action});
  dict_.add(d.terms, index);
}

void EngineImpl::add_allow(const AllowEntry& a, std::size_t index, std::int64_t max_mem) {
  if (!a.value.empty()) allow_values_.insert(lower_ascii(a.value));
  if (a.pattern.empty()) return;
  auto re = std::make_unique<RE2>(a.pattern, re2_options(max_mem));
  if (!re->ok()) refuse("allow-list entry " + std::to_string(index + 1), describe(re->error_code()));
  allow_budget_ += max_mem;
  allow_patterns_.push_back(std::move(re));
}

void EngineImpl::build_set() {
  if (detectors_.empty()) return;
  auto set = std::make_unique<RE2::Set>(re2_options(kSetMaxMem), RE2::UNANCHORED);
  for (const Detector& d : detectors_)
    if (set->Add(d.re->pattern(), nullptr) < 0) return;  // run every candidate detector instead
  if (set->Compile()) set_ = std::move(set);
}

// Detectors that may match: the prefilter's trigger bits first, then, for long texts or when
// several custom rules (which have no prefilter) are involved, one RE2::Set pass over the text.
// Writes them to s.cands.
void EngineImpl::candidates(std::string_view text, const detail::ScanResult& scan, Scratch& s) const {
  const std::uint32_t triggers = scan.bits | detail::kTrigAlways;
  std::vector<int>& out = s.cands;
  out.clear();
  int unfiltered = 0;
  for (std::size_t i = 0; i < routes_.size(); ++i)
    if (routes_[i].trigger & triggers) {
      out.push_back(static_cast<int>(i));
      unfiltered += routes_[i].families == 0;
    }
  if (out.empty() || (text.size() < kSetMinBytes && unfiltered < 2)) return;
  set_filter(text, out, s.set_hits, s.filtered);
  out.swap(s.filtered);
}

// The members of `among` (ascending) whose pattern matches somewhere in `text`, by one RE2::Set
// pass, written to `out`. The Set sees only `text`, so '^' and '$' also match at its ends: for
// a window that can only add candidates, never lose one.
void EngineImpl::set_filter(std::string_view text, const std::vector<int>& among, std::vector<int>& hits,
                            std::vector<int>& out) const {
  out.clear();
  RE2::Set::ErrorInfo err{};
  if (!set_ || !set_->Match(re2::StringPiece(text.data(), text.size()), &hits, &err)) {
    // No Set, or a DFA out of memory, is not an answer: keep every candidate.
    if (!set_ || err.kind != RE2::Set::kNoError) out = among;
    return;
  }
  std::sort(hits.begin(), hits.end());
  std::set_intersection(among.begin(), among.end(), hits.begin(), hits.end(), std::back_inserter(out));
}

// Searches [w.begin, w.end) of the text with one detector. RE2 sees the whole text as context,
// so '^', '$' and the boundary characters keep their meaning inside a window.
void EngineImpl::run_detector(int index, std::string_view text, detail::Window w,
                              std::vector<Candidate>& out) const {
  const Detector& d = detectors_[index];
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece groups[kMaxSubmatch];
  detail::ExtendState state;
  std::size_t pos = w.begin;
  // A match needs at least one character besides its boundary characters.
  while (pos + 1 < w.end + (w.end == text.size()) &&
         d.re->Match(input, pos, w.end, RE2::UNANCHORED, groups, d.submatches)) {
    // The span is the first capture group that took part, else the whole match.
    re2::StringPiece g = groups[0];
    for (int k = 1; k < d.submatches; ++k)
      if (groups[k].data() != nullptr) {
        g = groups[k];
        break;
      }
    Span s{static_cast<std::size_t>(g.data() - text.data()),
           static_cast<std::size_t>(g.data() - text.data()) + g.size()};
    if (d.trim != detail::Trim::None) s = trim_match(d.trim, text, s);
    std::size_t resume = s.end;
    if (s.end > s.begin) {
      std::optional<Span> found = s;
      if (d.extend) found = d.extend(text, s, state);
      if (found && d.check) found = d.check(text, *found);
      if (found && found->end > found->begin) {
        out.push_back({*found, index, d.priority, d.specificity});
        resume = found->end;
      }
    } else {
      resume = static_cast<std::size_t>(groups[0].data() - text.data()) + groups[0].size();
    }
    // Always move forward, so a pattern that matches the empty string cannot loop.
    pos = resume > pos ? resume : pos + 1;
    // What a window has left after a match is mostly a boundary character or two: a built-in
    // (the detectors with families) cannot match there without an anchor byte, and checking
    // costs far less than a failing RE2 search.
    if (routes_[index].families != 0 && pos < w.end && !detail::has_anchor_byte(text.substr(pos, w.end - pos))) break;
  }
}

// Runs the candidates: those with prefilter windows only in the windows whose triggers they
// share (after a Set pass over the window when at least kWindowSetMinCandidates remain), the
// others over the whole text.
void EngineImpl::run_candidates(std::string_view text, const detail::ScanResult& scan, Scratch& s) const {
  const std::vector<int>& cands = s.cands;
  std::vector<Candidate>& out = s.found;
  if (cands.empty()) return;
  const detail::Window all{0, text.size(), detail::kAllTriggers};
  std::vector<int>& ran_whole = s.ran_whole;  // detectors already run over the whole text; rarely any
  ran_whole.clear();
  auto whole_done = [&](int i) { return std::find(ran_whole.begin(), ran_whole.end(), i) != ran_whole.end(); };
  auto run_whole = [&](int i) {
    if (whole_done(i)) return;
    run_detector(i, text, all, out);
    ran_whole.push_back(i);
  };
  std::vector<int>& family = s.family;
  for (int f = 0; f < detail::kFamilies; ++f) {
    family.clear();
    for (int i : cands)
      if (routes_[i].families & (1u << f)) family.push_back(i);
    if (family.empty()) continue;
    if (scan.whole[f]) {
      for (int i : family) run_whole(i);
      continue;
    }
    for (int k = 0; k < scan.count[f]; ++k) {
      const detail::Window w = scan.windows[f][k];
      std::vector<int>* run = &s.in_window;
      run->clear();
      for (int i : family)
        if (routes_[i].trigger & w.triggers) run->push_back(i);
      if (run->size() >= kWindowSetMinCandidates) {
        set_filter(text.substr(w.begin, w.end - w.begin), *run, s.set_hits, s.filtered);
        run = &s.filtered;
      }
      for (int i : *run)
        if (ran_whole.empty() || !whole_done(i)) run_detector(i, text, w, out);
    }
  }
  for (int i : cands)
    if (routes_[i].families == 0) run_whole(i);
}

bool EngineImpl::allowed(std::string_view value) const {
  if (!allow_values_.empty() && allow_values_.count(lower_ascii(value))) return true;
  re2::StringPiece v(value.data(), value.size());
  for (const auto& re : allow_patterns_)
    if (RE2::FullMatch(v, *re)) return true;
  return false;
}

// Turns s.found into s.hits: sorted by begin, without overlaps.
void EngineImpl::resolve(Scratch& s) const {
  std::vector<Candidate>& cands = s.found;
  // Longest span first, then priority, then the more specific detector, then leftmost.
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    std::size_t la = a.span.end - a.span.begin, lb = b.span.end - b.span.begin;
    if (la != lb) return la > lb;
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.specificity != b.specificity) return a.specificity > b.specificity;
    return a.span.begin < b.span.begin;
  });
  std::vector<const Candidate*>& few = s.chosen;  // accepted candidates, for the usual handful
  few.clear();
  std::map<std::size_t, const Candidate*> taken;  // begin -> accepted candidate, for many
  const bool small = cands.size() <= 16;
  for (const Candidate& c : cands) {
    if (small) {
      bool clash = std::any_of(few.begin(), few.end(), [&](const Candidate* t) {
        return t->span.begin < c.span.end && c.span.begin < t->span.end;
      });
      if (!clash) few.push_back(&c);
      continue;
    }
    auto next = taken.lower_bound(c.span.begin);
    if (next != taken.end() && next->first < c.span.end) continue;
    if (next != taken.begin() && std::prev(next)->second->span.end > c.span.begin) continue;
    taken.emplace(c.span.begin, &c);
  }
  if (small)
    std::sort(few.begin(), few.end(), [](const Candidate* a, const Candidate* b) { return a->span.begin < b->span.begin; });
  else
    for (const auto& kv : taken) few.push_back(kv.second);
  s.hits.clear();
  for (const Candidate* c : few) s.hits.push_back({c->span, c->source});
}

// Runs the whole detection and leaves the result in this thread's scratch (hits), valid until
// the next detection on the thread.
const Scratch& EngineImpl::find(std::string_view text) const {
  Scratch& s = scratch();
  s.release_if_large();
  s.hits.clear();
  if (text.empty()) return s;
  detail::ScanResult scan;
  detail::scan_text(text, scan);
  // Most clean messages have no anchor at all: nothing can match, and nothing else to do.
  if (scan.bits == 0 && unfiltered_ == 0 && dict_.empty()) return s;
  s.found.clear();
  candidates(text, scan, s);
  run_candidates(text, scan, s);
  if (!dict_.empty()) {
    s.dict_hits.clear();
    dict_.find(text, s.dict_hits);
    for (const auto& h : s.dict_hits) s.found.push_back({h.span, -1 - h.dictionary, kDictionaryPriority, 0});
  }
  if (s.found.empty()) return s;
  // Allow-listed values drop out before overlaps are resolved, so they hide nothing else.
  std::erase_if(s.found, [&](Candidate& c) {
    snap_to_code_points(text, c.span);
    if (allow_values_.empty() && allow_patterns_.empty()) return false;
    return allowed(text.substr(c.span.begin, c.span.end - c.span.begin));
  });
  resolve(s);
  return s;
}

Origin EngineImpl::origin(int source) const {
  if (source >= 0) {
    const Detector& d = detectors_[source];
    return {d.type, d.rule, d.action};
  }
  const DictInfo& di = dict_info_[-1 - source];
  return {di.type, di.rule, di.action};
}

// Fills `out` with one Finding per hit, reusing its elements so their strings keep their buffers.
void EngineImpl::to_findings(const std::vector<Hit>& hits, std::vector<Finding>& out) const {
  out.resize(hits.size());
  for (std::size_t i = 0; i < hits.size(); ++i) {
    const Origin o = origin(hits[i].source);
    Finding& f = out[i];
    f.type = o.type;
    f.begin = hits[i].span.begin;
    f.end = hits[i].span.end;
    f.action = o.action;
    f.rule = o.rule;
  }
}

std::vector<Finding> EngineImpl::detect(std::string_view text) const {
  std::vector<Finding> out;
  to_findings(find(text).hits, out);
  return out;
}

void EngineImpl::detect_into(std::string_view text, std::vector<Finding>& out) const {
  to_findings(find(text).hits, out);
}

bool EngineImpl::detect_any(std::string_view text) const {
  const std::vector<Hit>& hits = find(text).hits;
  return std::any_of(hits.begin(), hits.end(), [&](const Hit& h) { return origin(h.source).action != Action::Allow; });
}

// Copies `text` to `out`, each hit that `acts(origin)` selects replaced by what
// `render(out, origin, value)` appends.
template <typename Acts, typename Render>
void EngineImpl::rewrite(std::string_view text, const std::vector<Hit>& hits, std::string& out,
                         Acts acts, Render render) const {
  out.clear();
  out.reserve(text.size() + hits.size() * 16);
  std::size_t pos = 0;
  for (const Hit& h : hits) {
    const Origin o = origin(h.source);
    if (!acts(o)) continue;
    out.append(text.substr(pos, h.span.begin - pos));
    render(out, o, text.substr(h.span.begin, h.span.end - h.span.begin));
    pos = h.span.end;
  }
  out.append(text.substr(pos));
}

std::string EngineImpl::redact(std::string_view text, const RedactOptions& opts) const {
  std::string out;
  rewrite(
      text, find(text).hits, out, [&](const Origin& o) { return detail::acted_on(o.action, o.type, opts); },
      [&](std::string& dst, const Origin& o, std::string_view) { detail::append_placeholder(dst, opts.placeholder, o.type); });
  return out;
}

void EngineImpl::redact_into(std::string_view text, const RedactOptions& opts, std::string& out,
                             std::vector<Finding>* findings_out) const {
  const std::vector<Hit>& hits = find(text).hits;
  if (findings_out) to_findings(hits, *findings_out);
  write_redacted(text, hits, opts, out);
}

void EngineImpl::redact_into_types(std::string_view text, const RedactOptions& opts, std::string& out,
                                   std::vector<std::string_view>& types_out) const {
  const std::vector<Hit>& hits = find(text).hits;
  types_out.clear();
  for (const Hit& h : hits) types_out.push_back(origin(h.source).type);  // the engine's own strings
  write_redacted(text, hits, opts, out);
}

void EngineImpl::write_redacted(std::string_view text, const std::vector<Hit>& hits, const RedactOptions& opts,
                                std::string& out) const {
  rewrite(
      text, hits, out, [&](const Origin& o) { return detail::acted_on(o.action, o.type, opts); },
      [&](std::string& dst, const Origin& o, std::string_view value) {
        detail::append_replacement(dst, value, o.type, o.action, opts);
      });
}

std::string EngineImpl::mask(std::string_view text) const {
  std::string out;
  rewrite(
      text, find(text).hits, out, [](const Origin& o) { return o.action != Action::Allow; },
      [](std::string& dst, const Origin& o, std::string_view value) { detail::append_masked(dst, o.type, value); });
  return out;
}

std::size_t EngineImpl::memory_bytes() const {
  // RE2 keeps each program and its DFA caches within max_mem, so the budgets bound what the
  // compiled patterns can hold; the dictionary and allow-list are counted directly.
  std::size_t total = sizeof(*this);
  for (const Detector& d : detectors_) total += static_cast<std::size_t>(d.budget) + sizeof(Detector) + sizeof(Route);
  if (set_) total += static_cast<std::size_t>(kSetMaxMem);
  total += dict_.memory_bytes();
  for (const std::string& v : allow_values_) total += v.capacity() + 4 * sizeof(void*);
  total += static_cast<std::size_t>(allow_budget_);
  return total;
}

}  // namespace

namespace detail {

// Which code points of a finding mask() keeps, by entity type.
void append_masked(std::string& out, std::string_view type, std::string_view v) {
  auto is_lead = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; };
  std::size_t keep_from = v.size(), keep_to = v.size();  // bytes kept: [keep_from, keep_to)
  std::size_t keep_prefix = 0;                          // bytes kept at the start
  const detail::MaskStyle style = detail::mask_style_for(type);
  switch (style) {
    case detail::MaskStyle::LastFourDigits: {
      int digits = 0;
      for (std::size_t i = v.size(); i > 0 && digits < 4; --i)
        if (v[i - 1] >= '0' && v[i - 1] <= '9') {
          ++digits;
          keep_from = i - 1;
        }
      break;
    }
    case detail::MaskStyle::EmailDomain:
      keep_from = std::min(v.rfind('@'), v.size());
      break;
    case detail::MaskStyle::FirstFour: {
      int cps = 0;
      while (keep_prefix < v.size() && cps < 4) {
        ++keep_prefix;
        while (keep_prefix < v.size() && !is_lead(v[keep_prefix])) ++keep_prefix;
        ++cps;
      }
      break;
    }
    case detail::MaskStyle::Full:
      break;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    bool keep = i < keep_prefix || (i >= keep_from && i < keep_to);
    // For LastFourDigits, separators stay as they are: "**** **** **** 1111" stays readable.
    if (style == detail::MaskStyle::LastFourDigits && (v[i] == ' ' || v[i] == '-' || v[i] == '.'))
      keep = true;
    if (keep)
      out.push_back(v[i]);
    else if (is_lead(v[i]))
      out.push_back('*');
  }
}

}  // namespace detail

std::string mask_value(std::string_view type, std::string_view value) {
  std::string out;
  detail::append_masked(out, type, value);
  return out;
}

const char* action_name(Action a) {
  switch (a) {
    case Action::Redact: return "REDACT";
    case Action::Mask: return "MASK";
    case Action::Block: return "BLOCK";
    case Action::Allow: return "ALLOW";
  }
  return "REDACT";
}

std::optional<Action> parse_action(std::string_view s) {
  std::string l = lower_ascii(s);
  if (l == "redact") return Action::Redact;
  if (l == "mask") return Action::Mask;
  if (l == "block") return Action::Block;
  if (l == "allow") return Action::Allow;
  return std::nullopt;
}

const std::vector<std::string>& validator_names() {
  static const std::vector<std::string> names = {"luhn", "iban", "us_ssn", "ipv4", "entropy"};
  return names;
}

const std::vector<BuiltinInfo>& builtin_detectors() {
  static const std::vector<BuiltinInfo> infos = [] {
    std::vector<BuiltinInfo> v;
    for (const BuiltinDef& d : detail::builtin_defs()) {
      auto same = [&](const BuiltinInfo& b) { return b.type == d.type; };
      auto it = std::find_if(v.begin(), v.end(), same);
      if (it == v.end())
        v.push_back({d.type, Action::Redact, d.description});
      else
        it->description += "; " + std::string(d.description);
    }
    return v;
  }();
  return infos;
}

void validate_rule(const RuleSpec& rule, std::int64_t max_mem) {
  const std::string what = "custom rule \"" + rule.name + "\"";
  if (rule.name.empty()) refuse("custom rule", "name must not be empty");
  if (!valid_type_name(rule.entity_type))
    refuse(what, "entity type must be 1-63 letters, digits or underscores");
  if (rule.pattern.empty()) refuse(what, "pattern must not be empty");
  if (!rule.validator.empty() && !detail::check_by_name(rule.validator))
    refuse(what, "unknown validator (expected one of luhn, iban, us_ssn, ipv4, entropy)");
  if (max_mem <= 0) refuse(what, "memory budget must be positive");
  RE2 re(rule.pattern, re2_options(max_mem));
  if (!re.ok()) refuse(what, describe(re.error_code()));
  // A pattern that matches nothing at all would redact empty strings everywhere.
  if (RE2::PartialMatch("", re)) refuse(what, "pattern matches the empty string");
}

std::unique_ptr<Engine> Engine::build(const EngineConfig& config) {
  return std::make_unique<EngineImpl>(config);
}

std::vector<std::size_t> utf8_char_offsets(std::string_view text,
                                           const std::vector<std::size_t>& offsets) {
  std::vector<std::size_t> out;
  out.reserve(offsets.size());
  std::size_t chars = 0, pos = 0;
  for (std::size_t off : offsets) {
    std::size_t stop = std::min(off, text.size());
    for (; pos < stop; ++pos)
      if ((static_cast<unsigned char>(text[pos]) & 0xC0) != 0x80) ++chars;
    out.push_back(chars);
  }
  return out;
}

}  // namespace pgp::core::redact
