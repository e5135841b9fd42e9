// Per-tenant secrets kept outside the database (privacy.keyring_dir) and the key-encryption key
// that wraps a tenant's data keys: deleting the file shreds the tenant in every backup too.
#pragma once

#include "core/crypto/secret.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace pgp::core::crypto {

// The key that wraps a tenant's data keys: HMAC-SHA256(master, "pg_privacy tenant kek v1" NUL
// tenant NUL secret), where `secret` is the tenant's 32-byte file in privacy.keyring_dir, or
// absent when the tenant's keys were created without a keyring directory. Without the file the
// wrapped rows in the database (and in every backup of it) cannot be unwrapped.
SecretKey derive_tenant_kek(const SecretKey& master, std::string_view tenant,
                            const SecretKey* tenant_secret);

// A new secret id: 32 random lowercase hex digits. It names the tenant's secret file and is
// stored beside the tenant's wrapped keys; it does not show the tenant id, and two databases
// that share a keyring directory never share a tenant's file.
std::string new_secret_id();

// Refuses (PV709) a keyring directory that is not an absolute path to a directory owned by the
// server's user without any permission for group or others.
void check_keyring_dir(const std::string& dir);

// The secret of `secret_id`, or nullopt when its file does not exist (destroyed, or never
// created). PV709 for a bad directory or id, or a file that is not 32 bytes, owned and 0600.
std::optional<SecretKey> read_tenant_secret(const std::string& dir, std::string_view secret_id);

// Creates the secret of `secret_id` (32 random bytes, mode 0600, written to a temporary file,
// fsynced, then link()ed into place: an existing file is never replaced, PV709 then).
SecretKey create_tenant_secret(const std::string& dir, std::string_view secret_id);

// Deletes the secret's file (and fsyncs the directory). True if a file was deleted.
bool destroy_tenant_secret(const std::string& dir, std::string_view secret_id);

// The same for code that must neither allocate nor throw (a transaction's commit callback): the
// path is built in a fixed buffer. False when the id is not 32 lowercase hex digits, the path is
// too long or the file cannot be deleted; true when it is gone (deleted now, or already absent).
bool destroy_tenant_secret_noexcept(const char* dir, const char* secret_id) noexcept;

}  // namespace pgp::core::crypto
