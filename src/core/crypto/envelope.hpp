// The envelope: the bytes privacy.encrypt() returns. AES-256-GCM under a tenant's (or a
// subject's) data key, with a header that names the key and the owner bound as associated data.
//
// Format version 1 (docs/crypto-format.md), all integers big-endian:
//
//   offset  size  field
//   0       2     magic "pv" (0x70 0x76)
//   2       1     format version: 0x01
//   3       1     key kind: 0x01 tenant key, 0x02 subject key (KeyKind)
//   4       4     key version (>= 1)
//   8       1+L   subject key only: L (1..64), then L bytes of subject key reference
//   H       12    nonce (random)
//   H+12    n     ciphertext (n = plaintext length)
//   H+12+n  16    GCM tag
//
// H (the header length) is 8, or 9 + L for a subject key. The associated data is the header
// bytes as written, then u32 length + tenant id, then (subject key only) u32 length + subject
// id: a ciphertext copied to another tenant's or subject's row, or given another header, fails
// authentication. Overhead: 36 bytes (tenant key), 37 + L bytes (subject key).
#pragma once

#include "core/crypto/secret.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pgp::core::crypto {

inline constexpr std::uint8_t kEnvelopeFormat = 1;
inline constexpr std::size_t kMaxSubjectRefBytes = 64;

// What the SQL layer needs to choose the key, readable without any key.
struct EnvelopeHeader {
  KeyKind kind = KeyKind::kTenant;  // kTenant or kSubject
  std::uint32_t key_version = 1;    // >= 1
  // kSubject only: 1..64 opaque bytes naming the subject's key row. Not the subject id itself,
  // so that an envelope no longer names the person once the subject's key is destroyed.
  std::string subject_ref;
  bool operator==(const EnvelopeHeader&) const = default;
};

// Whose value this is. `subject` is required with a subject key and must be empty otherwise.
struct EnvelopeOwner {
  std::string_view tenant;   // non-empty
  std::string_view subject;
};

// Reads the header. Error PV701 (too short for its header, nonce and tag; bad magic, key kind,
// key version 0, reference length) or PV702 (a format version other than 1).
EnvelopeHeader parse_envelope_header(std::string_view envelope);

// Sizes for callers that allocate the output themselves (the SQL layer pallocs a bytea).
std::size_t envelope_size(const EnvelopeHeader& header, std::size_t plaintext_bytes);
// Parses the header (errors as parse_envelope_header).
std::size_t envelope_plaintext_size(std::string_view envelope);

// Seals with a fresh random nonce into `out`, which must be envelope_size() bytes. Error 22023
// for an invalid header or owner, 54000 over 1 GB.
void seal_envelope_into(const SecretKey& key, const EnvelopeHeader& header,
                        const EnvelopeOwner& owner, std::string_view plaintext,
                        std::span<char> out);
std::string seal_envelope(const SecretKey& key, const EnvelopeHeader& header,
                          const EnvelopeOwner& owner, std::string_view plaintext);

// Opens into `out` (envelope_plaintext_size() bytes). Errors as parse_envelope_header, then
// PV703 when the tag does not verify: tampered bytes, the wrong key and the wrong owner are one
// error on purpose. On PV703 `out` is cleansed: no unauthenticated byte is left behind.
void open_envelope_into(const SecretKey& key, const EnvelopeOwner& owner,
                        std::string_view envelope, std::span<char> out);
std::string open_envelope(const SecretKey& key, const EnvelopeOwner& owner,
                          std::string_view envelope);

}  // namespace pgp::core::crypto
