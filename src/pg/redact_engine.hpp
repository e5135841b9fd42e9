// The backend's compiled redaction engine: loaded from the configuration tables on first use,
// cached, and rebuilt after any change to them (relcache invalidation from a config trigger).
#pragma once

#include "core/redact/engine.hpp"
#include "pg/pg.hpp"

extern "C" {
#include "utils/jsonb.h"
}

namespace pgp {

// The engine for the current context (global rules, plus the current tenant's once tenancy
// exists). May ereport (SPI): call it before entering guarded(), with no C++ objects alive;
// called inside guarded() it throws PV000 instead (checked on every call). The engine is pinned
// until the current resource owner is released (the end of the statement at least), so a
// re-entrant call that rebuilds or evicts the cache cannot free it under the caller.
const core::redact::Engine& redact_engine();

// For the boundary self-test: marks every cached engine stale (as a configuration change does)
// and says how many engines are pinned now.
void redact_engine_invalidate() noexcept;
std::size_t redact_engine_pins() noexcept;

// The engine if one is already compiled, else a built-ins-only engine; never touches the
// catalog, never throws. For the emit_log_hook. Returns nullptr if even that is unavailable.
const core::redact::Engine* redact_engine_if_ready() noexcept;

// Memory budget of one custom rule (privacy.rule_max_mem), in bytes.
int rule_max_mem_bytes();

// Placeholder template from privacy.redact_placeholder.
const char* redact_placeholder();

// Rebuilds a jsonb value with every string value redacted (keys, numbers, structure kept).
// If `blocked_type` is given, it receives the entity type of the first BLOCK finding (or stays
// NULL). Call inside guarded().
Jsonb* redact_jsonb(const core::redact::Engine& eng, Jsonb* in, const core::redact::RedactOptions& opts,
                    const char** blocked_type);

// Counts findings per entity type in shared memory (no-op when not preloaded).
void stats_count(const std::vector<core::redact::Finding>& findings) noexcept;
void stats_count(const std::vector<std::string_view>& types) noexcept;  // one finding per type

}  // namespace pgp
