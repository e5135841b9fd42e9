// The master key: read from privacy.keyring_file or printed by privacy.keyring_command, never
// stored in the database. Text format, permission rule and loading (docs/crypto-format.md).
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

}  // namespace pgp::core::crypto
