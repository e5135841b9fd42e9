// Loads the redaction configuration (rules, allow-list, dictionaries) through SPI as the
// extension owner, compiles it into one engine per backend, and drops it on invalidation; an
// engine handed out stays alive until the statement that asked for it ends (pins).
#include "pg/redact_engine.hpp"

#include "pg/cluster.hpp"
#include "pg/guard.hpp"
#include "pg/owner_spi.hpp"
#include "pg/registry.hpp"
#include "pg/tenancy.hpp"

#include <algorithm>

#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "utils/inval.h"
#include "utils/resowner.h"
}

namespace pgp {
namespace {

namespace cr = core::redact;

// Compiled engines by tenant ("" = no verified tenant: global configuration only). A tenant's
// engine adds its own rules, allow-list entries and dictionaries to the global ones. Few tenants
// use one backend at a time (one per transaction behind a pooler): a small LRU list suffices.
struct CachedEngine {
  std::string tenant;
  std::shared_ptr<const cr::Engine> engine;
  std::uint64_t last_used = 0;
};
constexpr std::size_t kMaxCachedEngines = 8;
std::vector<CachedEngine> g_engines;
std::uint64_t g_use_clock = 0;
std::unique_ptr<cr::Engine> g_builtin_engine;  // built-ins only, for the log hook

// Engines handed out by redact_engine(), pinned until the resource owner that was current then
// is released (the end of the statement, subtransaction or transaction): a call that re-enters
// (a trigger fired through SPI, a nested statement) may evict or invalidate the cache, and the
// outer caller's reference must stay valid. Few entries: one per (resource owner, engine).
struct Pin {
  ResourceOwner owner;
  std::shared_ptr<const cr::Engine> engine;
};
std::vector<Pin> g_pins;

void pin(const std::shared_ptr<const cr::Engine>& e) {
  ResourceOwner owner = CurrentResourceOwner;
  if (!owner) return;  // outside a transaction: nothing runs that could re-enter
  for (auto it = g_pins.rbegin(); it != g_pins.rend(); ++it)
    if (it->owner == owner && it->engine == e) return;
  guarded([&] { g_pins.push_back({owner, e}); });
}

// ResourceOwnerRelease() makes the owner being released current while it calls this. No
// allocation, nothing that throws: dropping a pin only frees an engine nobody else holds.
void on_resource_release(ResourceReleasePhase phase, bool, bool is_top_level) noexcept {
  if (phase != RESOURCE_RELEASE_AFTER_LOCKS) return;
  const ResourceOwner owner = CurrentResourceOwner;
  std::erase_if(g_pins, [owner](const Pin& p) { return p.owner == owner; });
  if (is_top_level) {
    g_pins.clear();
    reset_guard_depth();  // no guarded() frame outlives its transaction
  }
}
bool g_engine_valid = false;  // false: every cached engine is stale
Oid g_config_relids[4] = {InvalidOid, InvalidOid, InvalidOid, InvalidOid};

void on_relcache_invalidation(Oid relid) {
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

// The global configuration plus, for a verified tenant, that tenant's own rows.
RawConfig load_raw_config(const char* tenant) {
  const char* tenant_lit = tenant ? quote_literal_cstr(tenant) : nullptr;
  auto scope = [&](const char* alias) {
    return tenant ? psprintf("(%stenant_id IS NULL OR %stenant_id = %s)", alias, alias, tenant_lit)
                  : psprintf("%stenant_id IS NULL", alias);
  };
  const char* const queries[] = {
      psprintf("SELECT name, entity_type, pattern, action, coalesce(validator, ''), priority "
               "FROM privacy.rules WHERE enabled AND %s ORDER BY rule_id", scope("")),
      psprintf("SELECT value, pattern FROM privacy.allow_list WHERE %s ORDER BY allow_id", scope("")),
      psprintf("SELECT d.name, d.entity_type, d.action, t.term FROM privacy.dictionaries d "
               "JOIN privacy.dictionary_terms t ON t.dictionary = d.name "
               "WHERE d.enabled AND %s ORDER BY d.name", scope("d.")),
  };
  RawRows rows[3];
  owner_queries(queries, rows, 3);
  return RawConfig{rows[0], rows[1], rows[2]};
}

CachedEngine* cached_engine(const char* tenant) noexcept {
  if (!g_engine_valid) return nullptr;
  const std::string_view key = tenant ? tenant : "";
  for (auto& e : g_engines)
    if (e.tenant == key) {
      e.last_used = ++g_use_clock;
      return &e;
    }
  return nullptr;
}

cr::Action action_of(const char* s) {
  auto a = cr::parse_action(s ? s : "");
  return a ? *a : cr::Action::Redact;
}

std::unique_ptr<cr::Engine> build_engine(const RawConfig& raw) {
  cr::EngineConfig cfg;
  cfg.rule_max_mem = static_cast<std::int64_t>(settings::rule_max_mem_kb) * 1024;
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
  // It may ereport (SPI): inside guarded() that error would longjmp over C++ frames. The rule is
  // checked here, always: a violation is a clean error instead.
  if (in_guarded())
    throw core::Error("PV000", "internal error in pg_privacy", "redact_engine() was called inside guarded().",
                      "This is a bug in pg_privacy; please report it.");
  Assert(!in_guarded());
  require_coordinator_config();  // on a Citus worker: never redact with other rules than the coordinator's
  const char* tenant = current_tenant_or_null();
  if (CachedEngine* e = cached_engine(tenant)) {
    pin(e->engine);
    return *e->engine;
  }
  RawConfig raw = load_raw_config(tenant);
  const char* const names[] = {"rules", "allow_list", "dictionaries", "dictionary_terms"};
  for (int i = 0; i < 4; ++i) g_config_relids[i] = privacy_relid(names[i]);
  const CachedEngine* built = guarded([&] {
    if (!g_engine_valid) g_engines.clear();
    g_engine_valid = true;
    if (g_engines.size() >= kMaxCachedEngines) {
      auto oldest = std::min_element(g_engines.begin(), g_engines.end(),
                                     [](const auto& a, const auto& b) { return a.last_used < b.last_used; });
      g_engines.erase(oldest);
    }
    g_engines.push_back({tenant ? tenant : "", std::shared_ptr<const cr::Engine>(build_engine(raw)), ++g_use_clock});
    return &g_engines.back();
  });
  pin(built->engine);
  return *built->engine;
}

void redact_engine_invalidate() noexcept { g_engine_valid = false; }

std::size_t redact_engine_pins() noexcept { return g_pins.size(); }

const cr::Engine* redact_engine_if_ready() noexcept {
  if (CachedEngine* e = cached_engine(current_tenant_or_null())) return e->engine.get();
  if (!g_builtin_engine) {
    try {
      g_builtin_engine = cr::Engine::build(cr::EngineConfig{});
    } catch (...) {
      return nullptr;
    }
  }
  return g_builtin_engine.get();
}

const char* redact_placeholder() {
  return settings::redact_placeholder ? settings::redact_placeholder : "[{type}_REDACTED]";
}

void redact_engine_on_relcache(Oid relid) { on_relcache_invalidation(relid); }
void redact_engine_on_resource_release(ResourceReleasePhase phase, bool is_commit, bool is_top_level) noexcept {
  on_resource_release(phase, is_commit, is_top_level);
}

int rule_max_mem_bytes() { return settings::rule_max_mem_kb * 1024; }

}  // namespace pgp
