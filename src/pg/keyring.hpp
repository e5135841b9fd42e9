// The backend's master key: loaded from privacy.keyring_file or privacy.keyring_command on first
// use, kept in backend memory only, reloaded when either setting changes (SIGHUP). It wraps the
// per-tenant data keys (encryption) and the providers' API keys (provider call).
#pragma once

#include "core/crypto/secret.hpp"
#include "pg/pg.hpp"

namespace pgp {

// The master key. Throws core::Error (PV705 not configured or unreadable, PV706 file
// permissions too open): call inside guarded().
const core::crypto::SecretKey& master_key();


}  // namespace pgp
