// AES-256-GCM (12-byte nonce, 16-byte tag, associated data) over OpenSSL EVP: the one primitive
// under envelopes, wrapped keys and sealed provider secrets.
#pragma once

#include "core/crypto/secret.hpp"

#include <cstddef>
#include <string_view>

namespace pgp::core::crypto {

inline constexpr std::size_t kGcmNonceBytes = 12;
inline constexpr std::size_t kGcmTagBytes = 16;
// OpenSSL's update calls take an int length; a PostgreSQL value is at most 1 GB anyway.
inline constexpr std::size_t kGcmMaxPlaintextBytes = std::size_t{1} << 30;

// Fills kGcmNonceBytes bytes from OpenSSL's public random generator (RAND_bytes). Random 96-bit
// nonces stay safe for 2^32 messages per key (NIST SP 800-38D §8.3).
void gcm_random_nonce(unsigned char* nonce);

// Encrypts `plaintext` into `ciphertext` (plaintext.size() bytes; it may be the same buffer) and
// writes the tag. Error(54000) over kGcmMaxPlaintextBytes.
void gcm_seal(const SecretKey& key, const unsigned char* nonce, std::string_view aad,
              std::string_view plaintext, unsigned char* ciphertext, unsigned char* tag);

// Decrypts into `plaintext` (ciphertext.size() bytes) and checks the tag. Returns false when the
// tag does not verify; `plaintext` is then cleansed, because GCM has already written
// unauthenticated bytes into it.
[[nodiscard]] bool gcm_open(const SecretKey& key, const unsigned char* nonce, std::string_view aad,
                            std::string_view ciphertext, const unsigned char* tag,
                            unsigned char* plaintext);

}  // namespace pgp::core::crypto
