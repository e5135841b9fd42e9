// Secret-named keys of structured values: whatever a value under "password", "api_key" or
// "Client-Secret" looks like, it is a secret, so structured redaction (jsonb) replaces it whole.
#pragma once

#include <string>
#include <string_view>

namespace pgp::core::redact {

// The entity type of a value found under a secret-named key.
inline constexpr std::string_view kSecretKeyType = "SECRET";

// True when `key` names a secret. The key is compared without case and without anything but
// ASCII letters and digits ("API-Key", "api_key" and "apiKey" are the same key). It names a
// secret when it is one of a few short names (pwd, pass, auth, cookie, ...) or ends in one of
// the secret words (password, passwd, passphrase, secret, token, apikey, accesskey, secretkey,
// privatekey, clientsecret, authorization, credential(s), ...): "db_password", "GITHUB_TOKEN",
// "aws_secret_access_key". Plurals of counters ("max_tokens") do not end in a secret word.
bool is_secret_key(std::string_view key) noexcept;

// The placeholder written for such a value: `tmpl` (privacy.redact_placeholder) with {type}
// replaced by SECRET.
std::string secret_placeholder(std::string_view tmpl);

}  // namespace pgp::core::redact
