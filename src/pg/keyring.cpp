// privacy.keyring_file / privacy.keyring_command and the cached master key (see keyring.hpp).
// Both settings are PGC_SIGHUP: only postgresql.conf (or ALTER SYSTEM by a superuser) names the
// key, never a session, so a role cannot point the server at a key of its choosing.
#include "pg/keyring.hpp"

#include "core/common.hpp"
#include "core/crypto/keyring.hpp"

#include <optional>
#include <string>

namespace pgp {

namespace {

char* g_keyring_file = nullptr;
char* g_keyring_command = nullptr;
std::optional<core::crypto::SecretKey> g_master;  // wiped on reset and at exit
std::string g_loaded_from;                        // the setting the cached key came from

void forget_key(const char*, void*) { g_master.reset(); }

bool set(const char* s) { return s != nullptr && s[0] != '\0'; }

}  // namespace

const core::crypto::SecretKey& master_key() {
  const std::string source = set(g_keyring_file)      ? std::string("file:") + g_keyring_file
                             : set(g_keyring_command) ? std::string("command:") + g_keyring_command
                                                      : std::string();
  if (g_master && source == g_loaded_from) return *g_master;
  g_master.reset();
  if (source.empty())
    throw core::Error("PV705", "no master key is configured",
                      "Neither privacy.keyring_file nor privacy.keyring_command is set.",
                      "Set privacy.keyring_file in postgresql.conf to a file holding 32 random bytes "
                      "(openssl rand -hex 32), readable by the server's user only, and reload.");
  g_master = set(g_keyring_file) ? core::crypto::read_keyring_file(g_keyring_file)
                                 : core::crypto::run_keyring_command(g_keyring_command);
  g_loaded_from = source;
  return *g_master;
}

void keyring_init() {
  DefineCustomStringVariable(
      "privacy.keyring_file", "File holding the master key (64 hex digits or base64 of 32 bytes).",
      "It must be owned by the server's user and not readable by group or others. The key is never "
      "stored in the database.",
      &g_keyring_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr,
      [](const char* v, void* extra) { forget_key(v, extra); }, nullptr);
  DefineCustomStringVariable(
      "privacy.keyring_command", "Command that prints the master key (used when privacy.keyring_file is empty).",
      "For a KMS or a vault: it runs through /bin/sh as the server's user and must exit 0.",
      &g_keyring_command, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr,
      [](const char* v, void* extra) { forget_key(v, extra); }, nullptr);
}

}  // namespace pgp
