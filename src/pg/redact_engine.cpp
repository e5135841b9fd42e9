// Loads the redaction configuration (rules, allow-list, dictionaries) through SPI as the
// extension owner, compiles it into one engine per backend, and drops it on invalidation.
#include "pg/redact_engine.hpp"

#include "pg/guard.hpp"

#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
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

// One row set of the configuration, copied out of SPI into palloc'd C strings so that no C++
// object is alive while Postgres may raise an error.
struct RawRows {
  int nrows = 0;
  int ncols = 0;
  char** cells = nullptr;  // nrows * ncols, NULL for SQL NULL
  const char* at(int r, int c) const { return cells[r * ncols + c]; }
};

RawRows spi_rows(const char* sql) {
  RawRows out;
  if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
    elog(ERROR, "pg_privacy: could not read the redaction configuration");
  out.nrows = static_cast<int>(SPI_processed);
  out.ncols = SPI_tuptable->tupdesc->natts;
  out.cells = static_cast<char**>(SPI_palloc(sizeof(char*) * (out.nrows * out.ncols + 1)));
  for (int r = 0; r < out.nrows; ++r)
    for (int c = 0; c < out.ncols; ++c) {
      char* v = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1);
      out.cells[r * out.ncols + c] = v ? static_cast<char*>(SPI_palloc(strlen(v) + 1)) : nullptr;
      if (v) strcpy(out.cells[r * out.ncols + c], v);
    }
  return out;
}

struct RawConfig {
  RawRows rules, allow, dicts, relids;
};

// Reads the configuration as the owner of schema privacy, so application roles need no
// privilege on the configuration tables (which may name customers or code names).
RawConfig load_raw_config() {
  RawConfig cfg;
  Oid nsp = get_namespace_oid("privacy", false);
  HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
  if (!HeapTupleIsValid(tup)) elog(ERROR, "pg_privacy: schema privacy not found");
  Oid owner = ((Form_pg_namespace)GETSTRUCT(tup))->nspowner;
  ReleaseSysCache(tup);

  Oid save_userid;
  int save_sec;
  GetUserIdAndSecContext(&save_userid, &save_sec);
  SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
  cfg.relids = spi_rows(
      "SELECT 'privacy.rules'::regclass::oid, 'privacy.allow_list'::regclass::oid, "
      "'privacy.dictionaries'::regclass::oid, 'privacy.dictionary_terms'::regclass::oid");
  // Global configuration; per-tenant rows join here once tenancy provides a verified tenant.
  cfg.rules = spi_rows(
      "SELECT name, entity_type, pattern, action, coalesce(validator, ''), priority "
      "FROM privacy.rules WHERE enabled AND tenant_id IS NULL ORDER BY rule_id");
  cfg.allow = spi_rows(
      "SELECT value, pattern FROM privacy.allow_list WHERE tenant_id IS NULL ORDER BY allow_id");
  cfg.dicts = spi_rows(
      "SELECT d.name, d.entity_type, d.action, t.term FROM privacy.dictionaries d "
      "JOIN privacy.dictionary_terms t ON t.dictionary = d.name "
      "WHERE d.enabled AND d.tenant_id IS NULL ORDER BY d.name");
  SPI_finish();
  SetUserIdAndSecContext(save_userid, save_sec);
  return cfg;
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
  for (int i = 0; i < 4; ++i) g_config_relids[i] = static_cast<Oid>(strtoul(raw.relids.at(0, i), nullptr, 10));
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
