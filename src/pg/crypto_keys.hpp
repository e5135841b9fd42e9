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

// Processes pending invalidations (a shred in another backend takes effect here), after refusing
// on a Citus worker (PV956: keys are kept on the coordinator only). May ereport: call before
// guarded() or through pg_call().
void crypto_accept_invalidations();

// Inside guarded(). The tenant's keys, or nullptr when it has none and !create; with `create`,
// a tenant without keys gets data key version 1 and its pseudonym key (race-safe).
const TenantKeySet* tenant_key_set(std::string_view tenant, bool create);

// A subject's data key (kind 2 of privacy.tenant_keys). `ref` (32 random hex digits) is what
// envelopes name; `digest` (HMAC of the subject id under the tenant's pseudonym key, 64 hex
// digits) is the lookup column and the subject bound as associated data, so that no row and no
// envelope holds the subject id itself.
struct SubjectKey {
  std::string ref;
  std::string digest;
  std::optional<core::crypto::SecretKey> key;  // nullopt: shredded (privacy.shred_subject)
};

// Inside guarded(). The digest of `subject` for the tenant (PV704 when the tenant is shredded;
// the tenant's keys are created when it has none and `create`); nullopt without tenant keys.
std::optional<std::string> subject_digest(std::string_view tenant, std::string_view subject, bool create);

// Inside guarded(). The key an envelope names, or nullptr when the tenant has no such row.
const SubjectKey* subject_key_by_ref(std::string_view tenant, std::string_view ref);

// Inside guarded(). The subject's key, created with `create` (race-safe); nullptr when the
// subject has none and !create. A shredded subject keeps its row: it stays shredded.
const SubjectKey* subject_key_for(std::string_view tenant, std::string_view subject, bool create);

// Destroys the subject's key (creating a shredded row when it never had one, so that a late
// write cannot give it a new key). The secret file is deleted when the transaction commits:
// an abort keeps it. Returns the number of keys destroyed (0 when already shredded). Sets
// *unprotected when a destroyed key had no secret file (backups can still unwrap it).
std::uint64_t shred_subject_key(std::string_view tenant, std::string_view subject, bool* unprotected);

// The verified tenant (inside guarded()): 42501 without a verified context.
std::string_view require_tenant();

// The key that wraps the tenant's keys, from the master key and, when `secret_id` is not null,
// the tenant's secret file (nullopt when that file is gone: the keys are destroyed).
std::optional<core::crypto::SecretKey> tenant_kek(const core::crypto::SecretKey& master,
                                                  std::string_view tenant, const char* secret_id);

// privacy.keyring_dir ("" when unset).
const char* keyring_dir();


}  // namespace pgp
