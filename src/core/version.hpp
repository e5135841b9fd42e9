// Versions of pg_privacy and of the libraries it runs with, as reported by privacy.version().
// Runtime versions come from the libraries themselves where they expose one.
#pragma once

#include "core/common.hpp"

#include <string>

namespace pgp::core {

std::string re2_version();      // RE2 has no runtime version call: the build records the package's
std::string openssl_version();  // OpenSSL_version(OPENSSL_VERSION) at run time
std::string curl_version();     // curl_version_info() at run time

// "pg_privacy 0.1.0 (RE2 ..., OpenSSL ..., libcurl ...)"
std::string version_string(const std::string& extension_version);

}  // namespace pgp::core
