// Internal helpers shared by the core's OpenSSL code (not a public API): the error-queue guard
// and the one way an unexpected OpenSSL failure is reported.
#pragma once

#include "core/common.hpp"

#include <openssl/err.h>

namespace pgp::core::crypto {

// Leaves OpenSSL's per-thread error queue empty when a public entry point returns or throws, so
// that our failures never surface later in another library sharing the process (pgcrypto).
struct ErrQueueGuard {
  ErrQueueGuard() = default;
  ErrQueueGuard(const ErrQueueGuard&) = delete;
  ErrQueueGuard& operator=(const ErrQueueGuard&) = delete;
  ~ErrQueueGuard() { ERR_clear_error(); }
};

// An OpenSSL call that should not fail did: a bug or an exhausted process, never bad input.
[[noreturn]] inline void fail_internal(const char* what) {
  throw Error(sqlstate::kInternal, "cryptographic operation failed", what);
}

}  // namespace pgp::core::crypto
