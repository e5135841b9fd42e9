// HMAC-SHA256 through OpenSSL's one-shot HMAC() (not deprecated in OpenSSL 3, unlike HMAC_CTX).
#include "core/audit/hmac.hpp"

#include "core/common.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace pgp::core::audit {

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len) ||
      len != 32)
    throw Error(sqlstate::kInternal, "HMAC-SHA256 failed in the audit log");
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kDigits[mac[i] >> 4]);
    out.push_back(kDigits[mac[i] & 15]);
  }
  return out;
}

}  // namespace pgp::core::audit
