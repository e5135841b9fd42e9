// The crossing between C++ exceptions and Postgres errors (ereport/longjmp), one helper each way.
// Every SQL entry point runs its C++ work inside pgp::guarded(); every Postgres call made while C++
// objects with destructors are alive goes through pgp::pg_call().
#pragma once

#include "pg/pg.hpp"

#include <exception>
#include <type_traits>
#include <utility>

namespace pgp {

// A Postgres error caught by pg_call(), carried through C++ frames as an exception so that their
// destructors run; guarded() re-raises it unchanged (same SQLSTATE, message, detail, hint).
class PgException : public std::exception {
 public:
  explicit PgException(ErrorData* edata) noexcept : edata_(edata) {}
  const char* what() const noexcept override { return edata_ ? edata_->message : "postgres error"; }
  ErrorData* edata() const noexcept { return edata_; }

 private:
  ErrorData* edata_;  // palloc'd in the caller's memory context by CopyErrorData()
};

namespace detail {
// Plain storage for an error while the C++ scope unwinds: no destructors, no heap. The text
// buffers are left uninitialised (guarded() runs once per row; zeroing 3 KB there showed up in
// profiles): capture_current_exception() writes all three before raise_pending() reads them.
struct PendingError {
  ErrorData* pg = nullptr;
  bool set = false;
  int sqlerrcode = 0;
  char message[1024];
  char detail[1024];
  char hint[1024];
};
void capture_current_exception(PendingError& out) noexcept;
[[noreturn]] void raise_pending(PendingError& err);

// How many guarded() frames are live on this backend: code that may ereport outside pg_call()
// (redact_engine(), SPI helpers) checks it and refuses to run inside one (in_guarded()).
inline int g_guard_depth = 0;
struct GuardDepth {
  GuardDepth() noexcept { ++g_guard_depth; }
  ~GuardDepth() { --g_guard_depth; }
  GuardDepth(const GuardDepth&) = delete;
  GuardDepth& operator=(const GuardDepth&) = delete;
};
}  // namespace detail

// True inside guarded(): a Postgres error raised here without pg_call() would longjmp over C++
// frames. Functions that must run before guarded() check it (see redact_engine()).
inline bool in_guarded() noexcept { return detail::g_guard_depth > 0; }
// Forgets guarded() frames that a bug let a longjmp skip; called when the transaction ends,
// where no guarded() frame can be live.
inline void reset_guard_depth() noexcept { detail::g_guard_depth = 0; }

// Runs `f` (C++ work that returns a Datum, or void) and turns any exception it throws into
// ereport(ERROR) only after every C++ frame of `f` has been unwound.
template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  using R = decltype(f());
  detail::PendingError err;
  if constexpr (std::is_void_v<R>) {
    try {
      detail::GuardDepth depth;
      std::forward<F>(f)();
      return;
    } catch (...) {
      detail::capture_current_exception(err);
    }
    detail::raise_pending(err);
  } else {
    R result{};
    try {
      detail::GuardDepth depth;
      result = std::forward<F>(f)();
      return result;
    } catch (...) {
      detail::capture_current_exception(err);
    }
    detail::raise_pending(err);
  }
}

// Calls Postgres code that may ereport(ERROR) from inside C++ code: an error becomes a
// PgException, so the caller's destructors run. `f` itself must hold no C++ objects with
// destructors (a longjmp out of it would skip them) and may return void or a trivially
// copyable value (Datum, pointers, integers).
template <typename F>
auto pg_call(F&& f) -> decltype(f()) {
  using R = decltype(f());
  static_assert(std::is_void_v<R> || std::is_trivially_copyable_v<R>,
                "pg_call returns only trivially copyable values");
  MemoryContext volatile oldcxt = CurrentMemoryContext;
  ErrorData* volatile edata = nullptr;
  if constexpr (std::is_void_v<R>) {
    PG_TRY();
    { f(); }
    PG_CATCH();
    {
      MemoryContextSwitchTo(oldcxt);
      edata = CopyErrorData();
      FlushErrorState();
    }
    PG_END_TRY();
    if (edata) throw PgException(edata);
  } else {
    R volatile result{};
    PG_TRY();
    { result = f(); }
    PG_CATCH();
    {
      MemoryContextSwitchTo(oldcxt);
      edata = CopyErrorData();
      FlushErrorState();
    }
    PG_END_TRY();
    if (edata) throw PgException(edata);
    return result;
  }
}

// Raises PV001 when pg_privacy was not loaded through shared_preload_libraries.
void require_preload(const char* feature);
bool is_preloaded();

}  // namespace pgp
