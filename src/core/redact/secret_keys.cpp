// is_secret_key(): the names under which structured values hold secrets, matched on a normalized
// form (ASCII letters and digits, lower case) so that case and separators cannot hide a name.
#include "core/redact/secret_keys.hpp"

#include <array>

namespace pgp::core::redact {

namespace {

// Whole names only: too short or too common to match as a suffix ("pin" would match "spin").
constexpr std::array<std::string_view, 8> kExact = {"pwd", "pass", "auth", "cookie", "setcookie", "bearer",
                                                    "otp", "sessionid"};

// A key ending in one of these names a secret (the word itself included).
constexpr std::array<std::string_view, 17> kSuffixes = {
    "password", "passwd",    "passphrase",   "passcode",      "secret",     "token",
    "apikey",   "accesskey", "secretkey",    "privatekey",    "signingkey", "encryptionkey",
    "masterkey", "clientsecret", "authorization", "credential", "credentials"};

constexpr std::size_t kMaxKey = 128;  // longer keys are not names a person gave a secret

}  // namespace

bool is_secret_key(std::string_view key) noexcept {
  char norm[kMaxKey];
  std::size_t n = 0;
  for (unsigned char c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (n == kMaxKey) return false;
      norm[n++] = static_cast<char>(c);
    }
  }
  const std::string_view k(norm, n);
  if (k.empty()) return false;
  for (std::string_view e : kExact)
    if (k == e) return true;
  for (std::string_view s : kSuffixes)
    if (k.ends_with(s)) return true;
  return false;
}

std::string secret_placeholder(std::string_view tmpl) {
  constexpr std::string_view kVar = "{type}";
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = tmpl.find(kVar, pos)) != std::string_view::npos; pos = hit + kVar.size()) {
    out.append(tmpl.substr(pos, hit - pos));
    out.append(kSecretKeyType);
  }
  out.append(tmpl.substr(pos));
  return out;
}

}  // namespace pgp::core::redact
