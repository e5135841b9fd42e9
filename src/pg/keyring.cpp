// privacy.keyring_file / privacy.keyring_command and the cached master key (see keyring.hpp).
// Both settings are PGC_SIGHUP: only postgresql.conf (or ALTER SYSTEM by a superuser) names the
// key, never a session, so a role cannot point the server at a key of its choosing.
#include "pg/keyring.hpp"
#include "pg/registry.hpp"

#include "core/common.hpp"
#include "core/crypto/keyring.hpp"

#include <optional>
#include <string>

namespace pgp {

namespace {

std::optional<core::crypto::SecretKey> g_master;  // wiped on reset and at exit
std::string g_loaded_from;                        // the setting the cached key came from

bool set(const char* s) { return s != nullptr && s[0] != '\0'; }

}  // namespace

const core::crypto::SecretKey& master_key() {
  const std::string source = set(settings::keyring_file)      ? std::string("file:") + settings::keyring_file
                             : set(settings::keyring_command) ? std::string("command:") + settings::keyring_command
                                                      : std::string();
  if (g_master && source == g_loaded_from) return *g_master;
  g_master.reset();
  if (source.empty())
    throw core::Error("PV705", "no master key is configured",
                      "Neither privacy.keyring_file nor privacy.keyring_command is set.",
                      "Set privacy.keyring_file in postgresql.conf to a file holding 32 random bytes "
                      "(openssl rand -hex 32), readable by the server's user only, and reload.");
  g_master = set(settings::keyring_file) ? core::crypto::read_keyring_file(settings::keyring_file)
                                 : core::crypto::run_keyring_command(settings::keyring_command);
  g_loaded_from = source;
  return *g_master;
}

void keyring_on_setting_change() { g_master.reset(); }

}  // namespace pgp
