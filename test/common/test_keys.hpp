// Test-only key pairs for the JWT unit tests and benchmark: generated with OpenSSL at run time
// and exported as PEM (private and public), so no key material is committed for them.
#pragma once

#include "core/crypto/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace pgp::test {

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

// type "RSA" with rsa_bits, or "EC" with a curve name such as "P-256".
inline KeyPair make_keypair(const char* type, const char* curve_or_null, std::size_t rsa_bits = 0) {
  EVP_PKEY* raw = curve_or_null ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve_or_null)
                                : EVP_PKEY_Q_keygen(nullptr, nullptr, type, rsa_bits);
  pgp::core::crypto::PkeyPtr pkey(raw);
  if (!pkey) throw std::runtime_error("keygen failed");
  auto to_pem = [&](bool priv) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    int ok = priv ? PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr)
                  : PEM_write_bio_PUBKEY(bio.get(), pkey.get());
    if (ok != 1) throw std::runtime_error("PEM export failed");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
  };
  return {to_pem(true), to_pem(false)};
}

}  // namespace pgp::test
