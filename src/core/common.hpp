// Shared definitions of the pure C++ core: the error type every core module throws.
// The core never sees Postgres: it reports failures as pgp::core::Error with a SQLSTATE string.
#pragma once

// The core never includes Postgres headers: CMakeLists.txt builds it with no Postgres include
// path, so such an include fails the unit-test build (the glue in src/pg includes core headers).

#include <stdexcept>
#include <string>

namespace pgp::core {

// An error the core raises on purpose. `sqlstate` is a five-character SQLSTATE
// (class PV for our own conditions, see docs/sqlstates.md). `message` must never
// contain user data (PII, secrets): it is shown to clients and written to the log.
class Error : public std::runtime_error {
 public:
  Error(std::string sqlstate, const std::string& message, std::string detail = {},
        std::string hint = {})
      : std::runtime_error(message),
        sqlstate_(std::move(sqlstate)),
        detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  const std::string& sqlstate() const noexcept { return sqlstate_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  std::string sqlstate_;
  std::string detail_;
  std::string hint_;
};

// SQLSTATEs of class PV (pg_privacy). Keep in sync with docs/sqlstates.md.
namespace sqlstate {
inline constexpr const char* kInternal = "PV000";          // internal error in the C++ core
inline constexpr const char* kNotPreloaded = "PV001";      // feature needs shared_preload_libraries
inline constexpr const char* kInvalidRule = "PV101";       // custom rule refused
inline constexpr const char* kBlocked = "PV102";           // BLOCK finding refused the value
inline constexpr const char* kInvalidArgument = "22023";   // invalid_parameter_value
}  // namespace sqlstate

}  // namespace pgp::core
