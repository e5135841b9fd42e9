// Per-tenant secrets kept outside the database (privacy.keyring_dir) and the key-encryption key
// that wraps a tenant's data keys: deleting the file shreds the tenant in every backup too.
#pragma once

#include "core/crypto/secret.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace pgp::core::crypto {

// The key that wraps a tenant's data keys: HMAC-SHA256(master, "pg_privacy tenant kek v1" NUL
// tenant NUL secret), where `secret` is the tenant's 32-byte file of privacy.keyring_dir, or
// absent when the tenant's keys were created without a keyring directory. Without the file the
// wrapped rows in the database (and in every backup of it) cannot be unwrapped.
SecretKey derive_tenant_kek(const SecretKey& master, std::string_view tenant,
                            const SecretKey* tenant_secret);

// The file name of a tenant's secret: 64 hex digits of HMAC-SHA256("pg_privacy tenant file v1",
// tenant) and ".key". It does not show the tenant id.
std::string tenant_secret_filename(std::string_view tenant);

// Refuses (PV709) a keyring directory that is not a directory, is not owned by the server's
// user or grants any permission to group or others.
void check_keyring_dir(const std::string& dir);

// The tenant's secret, or nullopt when its file does not exist (never created, or destroyed).
// PV709 for a bad directory or a file that is not 32 bytes, owned and 0600.
std::optional<SecretKey> read_tenant_secret(const std::string& dir, std::string_view tenant);

// Reads the tenant's secret or creates it (32 random bytes, mode 0600, written to a temporary
// file, fsynced, then link()ed into place so that concurrent creators agree on one secret).
SecretKey read_or_create_tenant_secret(const std::string& dir, std::string_view tenant);

// Deletes the tenant's secret file (and fsyncs the directory). True if a file was deleted.
bool destroy_tenant_secret(const std::string& dir, std::string_view tenant);

}  // namespace pgp::core::crypto
