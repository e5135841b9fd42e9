// The redaction engine: built-in detectors, dictionaries, custom rules and allow-lists compiled
// into one object that finds, redacts and masks PII and secrets in UTF-8 text.
#pragma once

#include "core/common.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgp::core::redact {

enum class Action { Redact, Mask, Block, Allow };

const char* action_name(Action a);                       // "REDACT", "MASK", "BLOCK", "ALLOW"
std::optional<Action> parse_action(std::string_view s);  // case-insensitive

// One finding. Offsets are in BYTES of the UTF-8 input, end exclusive; the SQL glue converts
// them to characters (use utf8_char_offsets below).
struct Finding {
  std::string type;    // entity type, e.g. "EMAIL", "CREDIT_CARD", or a custom rule's type
  std::size_t begin;   // byte offset, inclusive
  std::size_t end;     // byte offset, exclusive
  Action action;       // the action configured for the detector/rule that produced it
  std::string rule;    // detector or rule name ("builtin:EMAIL", a custom rule's name, "dict:<name>")
};

// A custom rule as stored in privacy.rules.
struct RuleSpec {
  std::string name;
  std::string entity_type;
  std::string pattern;     // RE2 syntax; if it has a capture group, group 1 is the span
  Action action = Action::Redact;
  std::string validator;   // "" or one of validator_names()
  int priority = 100;      // higher wins on equal-length overlaps; built-ins use 50
};

// A dictionary detector: whole-word, case-insensitive terms.
struct Dictionary {
  std::string name;
  std::string entity_type;
  Action action = Action::Redact;
  std::vector<std::string> terms;
};

struct AllowEntry {
  std::string value;        // exact value never redacted (compared case-insensitively), or
  std::string pattern;      // an RE2 pattern: a finding whose text fully matches it is dropped
};

struct EngineConfig {
  bool builtins = true;                       // include the built-in detectors
  std::vector<std::string> disabled_builtins; // entity types of built-ins to leave out
  std::vector<RuleSpec> rules;
  std::vector<Dictionary> dictionaries;
  std::vector<AllowEntry> allow;
  std::int64_t rule_max_mem = 8 << 20;        // RE2 max_mem per custom rule, bytes
};

// Validates a custom rule the way the engine would compile it. Throws pgp::core::Error with
// sqlstate::kInvalidRule and a message that never echoes the pattern text on failure.
void validate_rule(const RuleSpec& rule, std::int64_t max_mem = 8 << 20);

// Names of the validators a RuleSpec may reference: "luhn", "iban", "us_ssn", "ipv4", "entropy".
const std::vector<std::string>& validator_names();

// Entity types of the built-in detectors with their default actions.
struct BuiltinInfo {
  std::string type;
  Action default_action;
  std::string description;
};
const std::vector<BuiltinInfo>& builtin_detectors();

struct RedactOptions {
  // Placeholder template; "{type}" is replaced by the entity type. Default "[{type}_REDACTED]".
  std::string placeholder = "[{type}_REDACTED]";
  // If non-empty, only findings of these types are acted on.
  std::vector<std::string> only_types;
};

class Engine {
 public:
  // Compiles everything once. Throws pgp::core::Error (kInvalidRule) on a bad rule.
  static std::unique_ptr<Engine> build(const EngineConfig& config);
  virtual ~Engine() = default;

  // All findings, sorted by begin, non-overlapping (overlaps resolved: longest span wins, then
  // higher priority), allow-listed ones removed. Linear in the input size.
  virtual std::vector<Finding> detect(std::string_view text) const = 0;

  // Replaces every finding (of only_types if given) with the placeholder.
  // ALLOW findings are left as they are. BLOCK findings are redacted like REDACT here; callers
  // that must refuse use detect() and check for Action::Block.
  virtual std::string redact(std::string_view text, const RedactOptions& opts = {}) const = 0;

  // Keeps what people need to recognise their own data: last four digits of cards, phones,
  // IBANs and SSNs, the domain of an email, the first 4 characters of a token; the rest becomes
  // '*' (one per character). Types without a masking rule are masked completely.
  virtual std::string mask(std::string_view text) const = 0;

  // Approximate heap bytes held by the compiled engine.
  virtual std::size_t memory_bytes() const = 0;

  // Writes `text` with `findings` (from detect() on the same text) acted on per their action:
  // REDACT and BLOCK become the placeholder, MASK is masked (mask_value), ALLOW is kept.
  // Lets a caller detect once, check for BLOCK or count findings, then write the output.
  std::string apply(std::string_view text, const std::vector<Finding>& findings,
                    const RedactOptions& opts = {}) const;

  // Entry points for callers that run the engine once per row: they reuse the caller's buffers
  // (keep them across calls, e.g. thread_local) and never copy the findings' strings unless
  // asked for findings. The engine's own implementations do one detection pass each.

  // detect() into `out`, reusing its capacity and that of its elements' strings.
  virtual void detect_into(std::string_view text, std::vector<Finding>& out) const;

  // True when detect() would report a finding whose action is not ALLOW (contains_pii).
  virtual bool detect_any(std::string_view text) const;

  // `out` = apply(text, detect(text), opts), reusing its capacity; the findings go to
  // *findings_out as detect_into() would write them, when given. A clean text is copied as is.
  // `text` must not point into `out` or *findings_out.
  virtual void redact_into(std::string_view text, const RedactOptions& opts, std::string& out,
                           std::vector<Finding>* findings_out = nullptr) const;

  // redact_into() for callers that only count what was found (statistics): `types_out`
  // receives the entity type of each finding, in order, instead of Finding objects and their
  // strings. The views stay valid until the next call on this thread or while the engine lives,
  // whichever ends first.
  virtual void redact_into_types(std::string_view text, const RedactOptions& opts, std::string& out,
                                 std::vector<std::string_view>& types_out) const;
};

// Masks one value of the given entity type the way mask() does for each finding.
std::string mask_value(std::string_view type, std::string_view value);

// Masks the whole text, for a value that is sensitive as a whole (a classified column): each
// finding as mask_value() masks it (a card's last four digits, an email's domain stay), every
// other character but whitespace becomes '*', so nothing undetected shows through.
std::string mask_whole(const Engine& engine, std::string_view text);

// For each byte offset in `offsets` (ascending), the number of UTF-8 code points before it.
std::vector<std::size_t> utf8_char_offsets(std::string_view text,
                                           const std::vector<std::size_t>& offsets);

}  // namespace pgp::core::redact
