// SecretKey and SecretBytes: random generation, copying only on request, and OPENSSL_cleanse
// on every path that drops key bytes (destruction, move-from, shrinking).
#include "core/crypto/secret.hpp"

#include "core/common.hpp"
#include "core/crypto/openssl_util.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

namespace pgp::core::crypto {

SecretKey SecretKey::random() {
  ErrQueueGuard guard;
  SecretKey key;
  if (RAND_priv_bytes(key.bytes_.data(), kBytes) != 1)
    fail_internal("the random generator failed");
  return key;
}

SecretKey SecretKey::from_bytes(std::string_view bytes) {
  if (bytes.size() != kBytes)
    throw Error(sqlstate::kInvalidArgument, "a key must be exactly 32 bytes");
  SecretKey key;
  std::memcpy(key.bytes_.data(), bytes.data(), kBytes);
  return key;
}

// aead.cpp: frees (and cleanses) a keyed AES-GCM context.
void gcm_free_keyed_ctx(void* ctx) noexcept;

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) {
  OPENSSL_cleanse(other.bytes_.data(), kBytes);
  aead_ctx_.store(other.aead_ctx_.exchange(nullptr));
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    OPENSSL_cleanse(other.bytes_.data(), kBytes);
    gcm_free_keyed_ctx(aead_ctx_.exchange(other.aead_ctx_.exchange(nullptr)));
  }
  return *this;
}

SecretKey::~SecretKey() {
  OPENSSL_cleanse(bytes_.data(), kBytes);
  gcm_free_keyed_ctx(aead_ctx_.exchange(nullptr));
}

SecretKey SecretKey::clone() const {
  SecretKey copy;
  copy.bytes_ = bytes_;
  return copy;
}

bool SecretKey::operator==(const SecretKey& other) const noexcept {
  return CRYPTO_memcmp(bytes_.data(), other.bytes_.data(), kBytes) == 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_ = std::move(other.bytes_);
  }
  return *this;
}

SecretBytes::~SecretBytes() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

void SecretBytes::shrink(std::size_t size) noexcept {
  if (size >= bytes_.size()) return;
  OPENSSL_cleanse(bytes_.data() + size, bytes_.size() - size);
  bytes_.resize(size);  // shrinking a vector never moves its buffer
}

}  // namespace pgp::core::crypto
