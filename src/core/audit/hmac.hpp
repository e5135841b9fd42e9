// Keyed HMAC-SHA256 of audit values: proves a value (whoever holds the key can recompute it)
// without revealing it in the log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgp::core::audit {

// Lowercase hex of HMAC-SHA256(key, message); 64 characters.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// The subject field as the chain hashes it (encoding pgp-audit-v2): the keyed HMAC (hex) of the
// stored subject, or the stored value itself once the subject was erased (the column then holds
// that HMAC already), so erasing a subject leaves every hash valid. NULL stays NULL. One object
// per walk: it remembers the last subject, and runs of one subject are the common case.
class SubjectPseudonym {
 public:
  explicit SubjectPseudonym(std::string_view key) : key_(key) {}
  // The view is valid until the next call.
  std::optional<std::string_view> field(std::optional<std::string_view> stored, bool erased);

 private:
  std::string key_;
  std::string last_subject_;
  std::string last_mac_;
  bool have_last_ = false;
};

}  // namespace pgp::core::audit
