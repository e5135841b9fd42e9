// HMAC-SHA256 through OpenSSL 3's EVP_MAC, with one context per thread kept keyed: fetching the
// algorithm and setting the key for every value cost several times more than the MAC itself.
#include "core/audit/hmac.hpp"

#include "core/common.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace pgp::core::audit {

namespace {
struct KeyedMac {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  std::string key;  // the key ctx holds; empty before the first use
  bool keyed = false;
  ~KeyedMac() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
};
}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  thread_local KeyedMac m;
  bool ok = m.ctx != nullptr;
  if (ok && (!m.keyed || key != m.key)) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    ok = EVP_MAC_init(m.ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) == 1;
    m.key.assign(key);
    m.keyed = ok;
  } else if (ok) {
    ok = EVP_MAC_init(m.ctx, nullptr, 0, nullptr) == 1;  // same key: restart the MAC
  }
  unsigned char mac[32];
  std::size_t len = 0;
  ok = ok && EVP_MAC_update(m.ctx, reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1 &&
       EVP_MAC_final(m.ctx, mac, &len, sizeof mac) == 1 && len == sizeof mac;
  if (!ok) {
    m.keyed = false;
    throw Error(sqlstate::kInternal, "HMAC-SHA256 failed in the audit log");
  }
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned char b : mac) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::optional<std::string_view> SubjectPseudonym::field(std::optional<std::string_view> stored, bool erased) {
  if (!stored || erased) return stored;
  if (!have_last_ || *stored != last_subject_) {
    last_mac_ = hmac_sha256_hex(key_, *stored);
    last_subject_.assign(*stored);
    have_last_ = true;
  }
  return std::string_view(last_mac_);
}

}  // namespace pgp::core::audit
