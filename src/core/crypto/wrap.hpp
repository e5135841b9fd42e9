// Wrapping under the master key: data keys and provider API keys become bytes for a bytea
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
