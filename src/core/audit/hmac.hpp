// Keyed HMAC-SHA256 of audit values: proves a value (whoever holds the key can recompute it)
// without revealing it in the log.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgp::core::audit {

// Lowercase hex of HMAC-SHA256(key, message); 64 characters.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

}  // namespace pgp::core::audit
