// Loads the redaction configuration (rules, allow-list, dictionaries) through SPI as the
// extension owner, compiles it into one engine per backend, and drops it on invalidation.
#include "pg/redact_engine.hpp"

#include "pg/guard.hpp"
#include "pg/owner_spi.hpp"

#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "utils/inval.h"
}

namespace pgp {
namespace {

namespace cr = core::redact;

std::unique_ptr<cr::Engine> g_engine;          // compiled from the configuration tables
std::unique_ptr<cr::Engine> g_builtin_engine;  // built-ins only, for the log hook
bool g_engine_valid = false;
Oid g_config_relids[4] = {InvalidOid, InvalidOid, InvalidOid, InvalidOid};
char* g_placeholder = nullptr;
int g_rule_max_mem_kb = 8192;

void on_relcache_invalidation(Datum, Oid relid) {
  if (relid == InvalidOid) {
    g_engine_valid = false;
    return;
  }
  for (Oid o : g_config_relids)
    if (o == relid) g_engine_valid = false;
}

struct RawConfig {
  RawRows rules, allow, dicts;
};

RawConfig load_raw_config() {
  // Global configuration; per-tenant rows join here once tenancy provides a verified tenant.
  static const char* const kQueries[] = {
      "SELECT name, entity_type, pattern, action, coalesce(validator, ''), priority "
      "FROM privacy.rules WHERE enabled AND tenant_id IS NULL ORDER BY rule_id",
      "SELECT value, pattern FROM privacy.allow_list WHERE tenant_id IS NULL ORDER BY allow_id",
      "SELECT d.name, d.entity_type, d.action, t.term FROM privacy.dictionaries d "
      "JOIN privacy.dictionary_terms t ON t.dictionary = d.name "
      "WHERE d.enabled AND d.tenant_id IS NULL ORDER BY d.name",
  };
  RawRows rows[3];
  owner_queries(kQueries, rows, 3);
  return RawConfig{rows[0], rows[1], rows[2]};
}

cr::Action action_of(const char* s) {
  auto a = cr::parse_action(s ? s : "");
  return a ? *a : cr::Action::Redact;
}

std::unique_ptr<cr::Engine> build_engine(const RawConfig& raw) {
  cr::EngineConfig cfg;
  cfg.rule_max_mem = static_cast<std::int64_t>(g_rule_max_mem_kb) * 1024;
  for (int r = 0; r < raw.rules.nrows; ++r) {
    cr::RuleSpec rule;
    rule.name = raw.rules.at(r, 0);
    rule.entity_type = raw.rules.at(r, 1);
    rule.pattern = raw.rules.at(r, 2);
    rule.action = action_of(raw.rules.at(r, 3));
    rule.validator = raw.rules.at(r, 4);
    rule.priority = std::stoi(raw.rules.at(r, 5));
    cfg.rules.push_back(std::move(rule));
  }
  for (int r = 0; r < raw.allow.nrows; ++r) {
    cr::AllowEntry e;
    if (raw.allow.at(r, 0)) e.value = raw.allow.at(r, 0);
    if (raw.allow.at(r, 1)) e.pattern = raw.allow.at(r, 1);
    cfg.allow.push_back(std::move(e));
  }
  for (int r = 0; r < raw.dicts.nrows; ++r) {
    const char* name = raw.dicts.at(r, 0);
    if (cfg.dictionaries.empty() || cfg.dictionaries.back().name != name) {
      cr::Dictionary d;
      d.name = name;
      d.entity_type = raw.dicts.at(r, 1);
      d.action = action_of(raw.dicts.at(r, 2));
      cfg.dictionaries.push_back(std::move(d));
    }
    cfg.dictionaries.back().terms.emplace_back(raw.dicts.at(r, 3));
  }
  return cr::Engine::build(cfg);
}

}  // namespace

const cr::Engine& redact_engine() {
  if (g_engine_valid && g_engine) return *g_engine;
  RawConfig raw = load_raw_config();
  const char* const names[] = {"rules", "allow_list", "dictionaries", "dictionary_terms"};
  for (int i = 0; i < 4; ++i) g_config_relids[i] = privacy_relid(names[i]);
  guarded([&] {
    g_engine = build_engine(raw);
    g_engine_valid = true;
  });
  return *g_engine;
}

const cr::Engine* redact_engine_if_ready() noexcept {
  if (g_engine_valid && g_engine) return g_engine.get();
  if (!g_builtin_engine) {
    try {
      g_builtin_engine = cr::Engine::build(cr::EngineConfig{});
    } catch (...) {
      return nullptr;
    }
  }
  return g_builtin_engine.get();
}

const char* redact_placeholder() { return g_placeholder ? g_placeholder : "[{type}_REDACTED]"; }

void redact_engine_init() {
  DefineCustomStringVariable(
      "privacy.redact_placeholder", "Placeholder that privacy.redact() writes for a finding.",
      "{type} is replaced by the entity type, for example [EMAIL_REDACTED].", &g_placeholder,
      "[{type}_REDACTED]", PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "privacy.rule_max_mem", "Memory budget of one custom rule's compiled RE2 pattern.",
      "A pattern over the budget is refused when the rule is written.", &g_rule_max_mem_kb, 8192,
      64, 65536, PGC_SUSET, GUC_UNIT_KB, nullptr, nullptr, nullptr);
  CacheRegisterRelcacheCallback(on_relcache_invalidation, 0);
}

int rule_max_mem_bytes() { return g_rule_max_mem_kb * 1024; }

}  // namespace pgp
