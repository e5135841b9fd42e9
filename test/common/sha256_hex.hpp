// SHA-256 as lowercase hex: how the provider fixture records API keys, and how the tests
// compute the value to expect.
#pragma once

#include <openssl/evp.h>

#include <cstdio>
#include <string>

namespace pgp::test {

inline std::string sha256_hex(const std::string& s) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

}  // namespace pgp::test
