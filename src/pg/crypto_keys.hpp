// The tenants' data keys as the SQL layer sees them: read from privacy.tenant_keys as the
// extension owner, unwrapped once per backend, dropped when the table changes in any backend.
#pragma once

#include "core/crypto/secret.hpp"
#include "pg/pg.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pgp {

struct TenantKeySet {
  bool destroyed = false;  // shred_tenant ran, or the tenant's secret file is gone
  std::uint32_t newest = 0;  // newest tenant data key version (0: none)
  std::map<std::uint32_t, std::optional<core::crypto::SecretKey>> data;  // nullopt: shredded
  std::optional<core::crypto::SecretKey> pseudonym;                     // nullopt: shredded
};

// Processes pending invalidations (a shred in another backend takes effect here). May ereport:
// call before guarded() or through pg_call().
void crypto_accept_invalidations();

// Inside guarded(). The tenant's keys, or nullptr when it has none and !create; with `create`,
// a tenant without keys gets data key version 1 and its pseudonym key (race-safe).
const TenantKeySet* tenant_key_set(std::string_view tenant, bool create);

// The verified tenant (inside guarded()): 42501 without a verified context.
std::string_view require_tenant();

// The key that wraps the tenant's keys, from the master key and, when `secret_id` is not null,
// the tenant's secret file (nullopt when that file is gone: the keys are destroyed).
std::optional<core::crypto::SecretKey> tenant_kek(const core::crypto::SecretKey& master,
                                                  std::string_view tenant, const char* secret_id);

// privacy.keyring_dir ("" when unset).
const char* keyring_dir();

void crypto_init();  // GUCs and the relcache callback; from _PG_init

}  // namespace pgp
