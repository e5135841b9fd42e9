// Self-tests of the C++/Postgres boundary, callable from SQL by superusers only: they raise each
// kind of failure through pgp::guarded() so the test suites can check SQLSTATEs and destructors.
#include "core/common.hpp"
#include "pg/guard.hpp"

#include <atomic>
#include <new>
#include <stdexcept>
#include <string>

PGP_FUNCTION(pgp_selftest_raise)
PGP_FUNCTION(pgp_selftest_destructor_count)

namespace {
long g_destructors_run = 0;

// Counts its destructor runs: proof that a Postgres error under pg_call() unwinds C++ frames.
struct Probe {
  std::string payload = std::string(64, 'x');  // owns heap memory, as real core objects do
  ~Probe() { ++g_destructors_run; }
};
}  // namespace

Datum pgp_selftest_raise(PG_FUNCTION_ARGS) {
  const std::string kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
  pgp::guarded([&] {
    Probe probe;
    if (kind == "core_error")
      throw pgp::core::Error("PV000", "selftest core error", "raised on purpose", "none needed");
    if (kind == "std_exception") throw std::out_of_range("selftest out of range");
    if (kind == "bad_alloc") throw std::bad_alloc();
    if (kind == "unknown") throw 42;
    if (kind == "pg_error") {
      // A real Postgres error (division by zero, 22012) raised inside C++ code.
      pgp::pg_call([] { return DirectFunctionCall2(int4div, Int32GetDatum(1), Int32GetDatum(0)); });
    }
    if (kind == "none") return;
    throw pgp::core::Error("22023", "unknown selftest kind", {},
                           "Use core_error, std_exception, bad_alloc, unknown, pg_error or none.");
  });
  PG_RETURN_VOID();
}

Datum pgp_selftest_destructor_count(PG_FUNCTION_ARGS) { PG_RETURN_INT64(g_destructors_run); }
