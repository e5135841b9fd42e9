// HMAC-SHA256 and the pseudonyms of privacy.pseudonymize(value, domain): deterministic per
// (tenant, domain, value), unlinkable across tenants and domains without the tenant's key.
#pragma once

#include "core/crypto/secret.hpp"

#include <array>
#include <string>
#include <string_view>

namespace pgp::core::crypto {

using Sha256Digest = std::array<unsigned char, 32>;

// HMAC-SHA256 (RFC 2104) over OpenSSL's EVP_MAC.
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

// 64 lowercase hex digits.
std::string to_hex(const Sha256Digest& digest);

// The domain's key: HKDF-Expand (RFC 5869 §2.3) with the tenant's pseudonym key (KeyKind::
// kPseudonym, never rotated) as PRK, info "pg_privacy pseudonym v1" NUL domain, 32 bytes; that
// is HMAC-SHA256(tenant key, info || 0x01). Computed once per (tenant, domain) by a caller that
// pseudonymizes many values.
SecretKey derive_pseudonym_key(const SecretKey& tenant_pseudonym_key, std::string_view domain);

// 64 lowercase hex digits of HMAC-SHA256(domain key, value). Hex, not base64url: pseudonyms are
// compared and joined in SQL, where a case-insensitive collation must not merge two of them.
std::string pseudonym(const SecretKey& domain_key, std::string_view value);

// derive_pseudonym_key then pseudonym.
std::string pseudonymize(const SecretKey& tenant_pseudonym_key, std::string_view domain,
                         std::string_view value);

}  // namespace pgp::core::crypto
