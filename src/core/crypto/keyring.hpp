// The master key (read from privacy.keyring_file or privacy.keyring_command, never stored in the
// database) and wrapping under it: data keys and provider API keys become bytes for a bytea
// column, re-wrapped when the master key rotates.
//
// Wrapped format version 1 (docs/crypto-format.md):
//
//   offset  size  field
//   0       2     magic "pw" (0x70 0x77)
//   2       1     format version: 0x01
//   3       12    nonce (random)
//   15      n     ciphertext (n = 32 for a data key)
//   15+n    16    GCM tag
//
// The associated data is the WrapLabel: what the secret is and whose, so that a wrapped key
// copied to another tenant, version, kind or provider row fails to unwrap.
#pragma once

#include "core/crypto/secret.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace pgp::core::crypto {

// Keyring file or command output larger than this is refused: a key is under 100 bytes.
inline constexpr std::size_t kMaxKeyringBytes = 4096;

// Keyring text: 32 bytes written as 64 hex digits (either case) or as 44 characters of standard
// base64 ending in '=' (what `openssl rand -hex 32` and `openssl rand -base64 32` print),
// optionally followed by one "\n" or "\r\n". Error PV705 otherwise; the message never quotes it.
SecretKey parse_master_key(std::string_view text);

// Refuses (PV706) a keyring file that is not a regular file, is not owned by the server's user
// or grants any permission to group or others. Pure: the caller passes what stat() returned.
void check_keyring_file_mode(std::uint32_t st_mode, std::uint32_t owner_uid,
                             std::uint32_t process_uid);

// Opens the file, checks the opened file (fstat: the file checked is the file read), reads at
// most kMaxKeyringBytes and parses it. PV705 (cannot be read, too large, bad text) or PV706.
SecretKey read_keyring_file(const std::string& path);

// Runs the command through /bin/sh (popen), reads at most kMaxKeyringBytes of its standard
// output, requires exit status 0 and parses the output. PV705 otherwise.
SecretKey run_keyring_command(const std::string& command);

// 16 hex digits naming a master key without revealing it: the first 8 bytes of
// HMAC-SHA256(master, "pg_privacy master key id v1"). Stored beside wrapped keys, it tells a
// wrong master key from a damaged row and shows which rows a rotation has reached.
std::string master_key_id(const SecretKey& master);

// What a wrapped secret is, bound as associated data.
class WrapLabel {
 public:
  // A tenant, subject or pseudonym key. `subject_ref` is required for a subject key (the
  // envelope header's reference) and must be empty otherwise. Error 22023 if invalid.
  static WrapLabel data_key(KeyKind kind, std::string_view tenant, std::uint32_t version,
                            std::string_view subject_ref = {});
  // A provider's API key, named by the provider (privacy.register_provider).
  static WrapLabel provider_secret(std::string_view provider);

  std::string_view associated_data() const noexcept { return aad_; }

 private:
  explicit WrapLabel(std::string aad) : aad_(std::move(aad)) {}
  std::string aad_;
};

// AES-256-GCM under the master key with a fresh random nonce. Error 54000 over 1 GB.
std::string wrap_secret(const SecretKey& master, std::string_view secret, const WrapLabel& label);

// Error PV707 when the bytes are not a wrapped secret, or do not open under this master key and
// label (the wrong master key, or a changed or moved row: one error on purpose).
SecretBytes unwrap_secret(const SecretKey& master, std::string_view wrapped,
                          const WrapLabel& label);

// unwrap_secret, also PV707 when the secret is not 32 bytes.
SecretKey unwrap_data_key(const SecretKey& master, std::string_view wrapped,
                          const WrapLabel& label);

// For master key rotation: unwrap under the old master key, wrap under the new one (new nonce).
std::string rewrap_secret(const SecretKey& old_master, const SecretKey& new_master,
                          std::string_view wrapped, const WrapLabel& label);

}  // namespace pgp::core::crypto
