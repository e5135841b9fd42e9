// Library versions for privacy.version(); the only place the core asks libraries who they are.
#include "core/version.hpp"

#include <curl/curl.h>
#include <openssl/crypto.h>

#ifndef PGP_RE2_VERSION
#define PGP_RE2_VERSION "unknown"
#endif

namespace pgp::core {

std::string re2_version() { return PGP_RE2_VERSION; }

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

std::string curl_version() {
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  return info && info->version ? info->version : "unknown";
}

std::string version_string(const std::string& extension_version) {
  return "pg_privacy " + extension_version + " (RE2 " + re2_version() + ", " + openssl_version() +
         ", libcurl " + curl_version() + ")";
}

}  // namespace pgp::core
