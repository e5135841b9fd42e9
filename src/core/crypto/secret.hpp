// Key material that wipes itself: SecretKey (exactly 32 bytes, an AES-256 or HMAC key) and
// SecretBytes (any length, e.g. a provider API key), both move-only and cleansed on destruction.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace pgp::core::crypto {

// What a key is for. The byte values are written into envelopes and bound into wrapped keys:
// never renumber.
enum class KeyKind : std::uint8_t {
  kTenant = 1,     // a tenant's data key (versioned; encrypts values)
  kSubject = 2,    // a data subject's key (erasing the subject destroys it)
  kPseudonym = 3,  // a tenant's HMAC key for pseudonyms (never rotated: pseudonyms must not change)
};

class SecretKey {
 public:
  static constexpr std::size_t kBytes = 32;

  // 32 bytes from OpenSSL's private random generator (RAND_priv_bytes).
  static SecretKey random();
  // Exactly 32 bytes; Error(22023) otherwise (the message never shows the bytes).
  static SecretKey from_bytes(std::string_view bytes);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  // A copy has to be asked for by name, so that key material is not duplicated by accident.
  SecretKey clone() const;

  const unsigned char* data() const noexcept { return bytes_.data(); }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  // Constant time (CRYPTO_memcmp).
  bool operator==(const SecretKey& other) const noexcept;

 private:
  friend class GcmKeyLease;  // aead.cpp
  SecretKey() = default;
  std::array<unsigned char, kBytes> bytes_{};
  // AES-256-GCM context keyed with these bytes (an EVP_CIPHER_CTX, made on first use by
  // aead.cpp): its expanded key schedule lives exactly as long as the key, and is cleansed with
  // it. `aead_busy_` lends it to one thread at a time; a second concurrent user takes the
  // unkeyed per-thread path instead. Never copied, moved with the key.
  mutable std::atomic<void*> aead_ctx_{nullptr};
  mutable std::atomic<bool> aead_busy_{false};
};

class SecretBytes {
 public:
  explicit SecretBytes(std::size_t size) : bytes_(size) {}
  SecretBytes(SecretBytes&&) noexcept = default;  // a vector's move hands over its buffer
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  unsigned char* data() noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  // Cleanses the bytes beyond `size` and forgets them (never reallocates).
  void shrink(std::size_t size) noexcept;

 private:
  std::vector<unsigned char> bytes_;
};

}  // namespace pgp::core::crypto
