// Base64url (RFC 4648 §5) without padding, as used by the segments of a compact JWS.
// Decoding is strict so that every byte string has exactly one accepted encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgp::core::crypto {

// Encodes with the URL-safe alphabet and no '=' padding.
std::string base64url_encode(std::string_view bytes);

// Decodes the URL-safe alphabet without padding. Returns nullopt for any other character
// (including '=', '+', '/' and whitespace), for an impossible length (4n+1) and for a
// non-canonical final character whose unused low bits are not zero.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace pgp::core::crypto
