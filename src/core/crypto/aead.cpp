// AES-256-GCM seal/open: the cipher is fetched once per process, one EVP_CIPHER_CTX per thread is
// reset (key schedule cleansed) after every call, and nonces come from a per-thread random pool.
#include "core/crypto/aead.hpp"

#include "core/common.hpp"
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/openssl_util.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <atomic>
#include <cstring>
#include <memory>

namespace pgp::core::crypto {

namespace {

struct CipherFree {
  void operator()(EVP_CIPHER* c) const noexcept { EVP_CIPHER_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};

// An implicit fetch (EVP_aes_256_gcm()) costs a method-store lookup on every init: about 0.5 µs,
// a third of a 1 KB seal (docs/performance.md). Constructed after OpenSSL is initialised, so it
// is freed before OpenSSL's own atexit cleanup.
const EVP_CIPHER* aes_256_gcm() {
  static const std::unique_ptr<EVP_CIPHER, CipherFree> cipher = [] {
    OPENSSL_init_crypto(0, nullptr);
    return std::unique_ptr<EVP_CIPHER, CipherFree>(
        EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  }();
  if (!cipher) fail_internal("AES-256-GCM is not available");
  return cipher.get();
}

// Lends this thread's context for one operation and resets it afterwards, which frees (and
// cleanses) the expanded key: no key schedule outlives the call that needed it. Reusing the
// context object saves its allocation, which a fresh context per call pays.
class CtxLease {
 public:
  CtxLease() {
    thread_local const std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
    if (!ctx) fail_internal("EVP_CIPHER_CTX_new failed");
    ctx_ = ctx.get();
  }
  ~CtxLease() { EVP_CIPHER_CTX_reset(ctx_); }
  CtxLease(const CtxLease&) = delete;
  CtxLease& operator=(const CtxLease&) = delete;
  EVP_CIPHER_CTX* get() const noexcept { return ctx_; }

 private:
  EVP_CIPHER_CTX* ctx_;
};

int checked_len(std::size_t n) {
  if (n > kGcmMaxPlaintextBytes)
    throw Error(crypto_sqlstate::kValueTooLarge, "value is too large to encrypt",
                "The limit is 1 GB.");
  return static_cast<int>(n);
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Bumped in every child of fork(): a child must never hand out the nonces its parent will also
// hand out (one key and one nonce used twice breaks GCM).
std::atomic<unsigned> g_fork_generation{0};

void on_fork_child() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

// RAND_bytes costs about 2 µs per call up to a few hundred bytes (a DRBG step and a fork check),
// more than sealing 1 KB, so nonces are drawn 32 at a time. Nonces are public: holding future
// ones in memory reveals nothing.
class NoncePool {
 public:
  void take(unsigned char* nonce) {
    const unsigned gen = g_fork_generation.load(std::memory_order_relaxed);
    if (next_ == sizeof pool_ || gen != generation_) refill(gen);
    std::memcpy(nonce, pool_ + next_, kGcmNonceBytes);
    next_ += kGcmNonceBytes;
  }

 private:
  void refill(unsigned gen) {
    static const int registered = pthread_atfork(nullptr, nullptr, on_fork_child);
    if (registered != 0) fail_internal("pthread_atfork failed");
    if (RAND_bytes(pool_, sizeof pool_) != 1) fail_internal("the random generator failed");
    next_ = 0;
    generation_ = gen;
  }

  unsigned char pool_[32 * kGcmNonceBytes];
  std::size_t next_ = sizeof pool_;
  unsigned generation_ = 0;
};

// Key, nonce, associated data and the bulk of the work: the same calls in both directions.
// Returns the bytes written to `out`.
int gcm_update(EVP_CIPHER_CTX* ctx, int encrypt, const SecretKey& key, const unsigned char* nonce,
               std::string_view aad, std::string_view in, unsigned char* out) {
  const int len = checked_len(in.size());
  int written = 0;
  // The default GCM IV length is 12 bytes, so no EVP_CTRL_GCM_SET_IVLEN call is needed.
  if (EVP_CipherInit_ex2(ctx, aes_256_gcm(), key.data(), nonce, encrypt, nullptr) != 1 ||
      (!aad.empty() &&
       EVP_CipherUpdate(ctx, nullptr, &written, bytes(aad), checked_len(aad.size())) != 1) ||
      EVP_CipherUpdate(ctx, out, &written, bytes(in), len) != 1)
    fail_internal("AES-256-GCM failed");
  return written;
}

}  // namespace

void gcm_random_nonce(unsigned char* nonce) {
  ErrQueueGuard guard;
  thread_local NoncePool pool;
  pool.take(nonce);
}

void gcm_seal(const SecretKey& key, const unsigned char* nonce, std::string_view aad,
              std::string_view plaintext, unsigned char* ciphertext, unsigned char* tag) {
  ErrQueueGuard guard;
  CtxLease lease;
  const int done = gcm_update(lease.get(), 1, key, nonce, aad, plaintext, ciphertext);
  int last = 0;
  if (EVP_EncryptFinal_ex(lease.get(), ciphertext + done, &last) != 1 ||
      EVP_CIPHER_CTX_ctrl(lease.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, tag) != 1)
    fail_internal("AES-256-GCM encryption failed");
}

bool gcm_open(const SecretKey& key, const unsigned char* nonce, std::string_view aad,
              std::string_view ciphertext, const unsigned char* tag, unsigned char* plaintext) {
  ErrQueueGuard guard;
  CtxLease lease;
  const int done = gcm_update(lease.get(), 0, key, nonce, aad, ciphertext, plaintext);
  int last = 0;
  // OpenSSL copies the tag: the const_cast never writes through `tag`.
  if (EVP_CIPHER_CTX_ctrl(lease.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes,
                          const_cast<unsigned char*>(tag)) != 1)
    fail_internal("AES-256-GCM decryption failed");
  if (EVP_DecryptFinal_ex(lease.get(), plaintext + done, &last) == 1) return true;
  OPENSSL_cleanse(plaintext, ciphertext.size());
  return false;
}

}  // namespace pgp::core::crypto
