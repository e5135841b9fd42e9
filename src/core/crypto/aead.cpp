// AES-256-GCM seal/open: the cipher is fetched once per process; each SecretKey keeps a context
// keyed once (its key schedule and GHASH table live as long as the key and are cleansed with
// it), lent to one thread at a time; a concurrent second user falls back to a per-thread context
// that is reset after every call. Nonces come from a per-thread random pool.
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
#include <optional>

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

}  // namespace

// The context of `key`, keyed on first use; or, while another thread holds it, this thread's
// unkeyed context (reset after the call). `keyed()` says whether only the nonce must be set.
class GcmKeyLease {
 public:
  explicit GcmKeyLease(const SecretKey& key) : key_(key) {
    if (!key.aead_busy_.exchange(true, std::memory_order_acquire)) {
      owns_ = true;
      ctx_ = static_cast<EVP_CIPHER_CTX*>(key.aead_ctx_.load(std::memory_order_relaxed));
      keyed_ = ctx_ != nullptr;
      if (!ctx_) {
        ctx_ = EVP_CIPHER_CTX_new();
        if (!ctx_) {
          key.aead_busy_.store(false, std::memory_order_release);
          fail_internal("EVP_CIPHER_CTX_new failed");
        }
        key.aead_ctx_.store(ctx_, std::memory_order_relaxed);
      }
    } else {
      lease_.emplace();
      ctx_ = lease_->get();
    }
  }
  ~GcmKeyLease() {
    if (!owns_) return;
    if (!keyed_ && !initialized_) {  // the first keying failed: do not keep a half-made context
      key_.aead_ctx_.store(nullptr, std::memory_order_relaxed);
      EVP_CIPHER_CTX_free(ctx_);
    }
    key_.aead_busy_.store(false, std::memory_order_release);
  }
  GcmKeyLease(const GcmKeyLease&) = delete;
  GcmKeyLease& operator=(const GcmKeyLease&) = delete;
  EVP_CIPHER_CTX* get() const noexcept { return ctx_; }
  bool keyed() const noexcept { return keyed_; }
  void initialized() const noexcept { initialized_ = true; }

 private:
  const SecretKey& key_;
  EVP_CIPHER_CTX* ctx_ = nullptr;
  bool owns_ = false;
  bool keyed_ = false;
  mutable bool initialized_ = false;
  std::optional<CtxLease> lease_;
};

void gcm_free_keyed_ctx(void* ctx) noexcept { EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx)); }

namespace {

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
int gcm_update(const GcmKeyLease& lease, int encrypt, const SecretKey& key, const unsigned char* nonce,
               std::string_view aad, std::string_view in, unsigned char* out) {
  const int len = checked_len(in.size());
  int written = 0;
  EVP_CIPHER_CTX* ctx = lease.get();
  // The default GCM IV length is 12 bytes, so no EVP_CTRL_GCM_SET_IVLEN call is needed. A keyed
  // context only takes the nonce (and the direction): the key schedule is kept.
  const int init = lease.keyed() ? EVP_CipherInit_ex2(ctx, nullptr, nullptr, nonce, encrypt, nullptr)
                                 : EVP_CipherInit_ex2(ctx, aes_256_gcm(), key.data(), nonce, encrypt, nullptr);
  if (init == 1) lease.initialized();
  if (init != 1 ||
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
  GcmKeyLease lease(key);
  const int done = gcm_update(lease, 1, key, nonce, aad, plaintext, ciphertext);
  int last = 0;
  if (EVP_EncryptFinal_ex(lease.get(), ciphertext + done, &last) != 1 ||
      EVP_CIPHER_CTX_ctrl(lease.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, tag) != 1)
    fail_internal("AES-256-GCM encryption failed");
}

bool gcm_open(const SecretKey& key, const unsigned char* nonce, std::string_view aad,
              std::string_view ciphertext, const unsigned char* tag, unsigned char* plaintext) {
  ErrQueueGuard guard;
  GcmKeyLease lease(key);
  const int done = gcm_update(lease, 0, key, nonce, aad, ciphertext, plaintext);
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
