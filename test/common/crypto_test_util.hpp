// Helpers for the encryption-core unit tests: hex fixtures, and running a call to learn the
// SQLSTATE it fails with while collecting its full error text for the "no data leaks" checks.
#pragma once

#include "core/common.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pgp::test {

inline std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// Runs `fn` and returns "ok" or the SQLSTATE it threw; appends message, detail and hint to
// `texts` so that a test can check them all at the end.
template <typename Fn>
std::string sqlstate_of(Fn&& fn, std::vector<std::string>* texts = nullptr) {
  try {
    fn();
    return "ok";
  } catch (const pgp::core::Error& e) {
    if (texts) texts->push_back(std::string(e.what()) + "|" + e.detail() + "|" + e.hint());
    return e.sqlstate();
  }
}

// True if `text` holds any `window`-byte piece of `secret`.
inline bool contains_fragment(std::string_view text, std::string_view secret,
                              std::size_t window = 6) {
  if (secret.size() < window) return text.find(secret) != std::string_view::npos;
  for (std::size_t i = 0; i + window <= secret.size(); ++i)
    if (text.find(secret.substr(i, window)) != std::string_view::npos) return true;
  return false;
}

}  // namespace pgp::test
