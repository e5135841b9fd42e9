// Self-tests of the C++/Postgres boundary, callable from SQL by superusers only: they raise each
// kind of failure through pgp::guarded() so the test suites can check SQLSTATEs and destructors.
#include "core/common.hpp"
#include "pg/guard.hpp"
#include "pg/redact_engine.hpp"

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

// A re-entrant rebuild of the redaction engine (what a trigger fired through SPI can cause)
// while an outer caller still holds the previous engine: the outer engine must stay usable.
// Raises PV000 unless the first engine is still pinned and still finds the email.
static void engine_reentrant() {
  const pgp::core::redact::Engine& outer = pgp::redact_engine();
  pgp::redact_engine_invalidate();
  const pgp::core::redact::Engine& inner = pgp::redact_engine();  // rebuilds: the cache drops `outer`
  const std::size_t pins = pgp::redact_engine_pins();
  pgp::guarded([&] {
    if (&outer == &inner || pins < 2 || outer.detect("write to ana@example.com").size() != 1)
      throw pgp::core::Error("PV000", "selftest: the outer engine was not kept alive");
  });
}

Datum pgp_selftest_raise(PG_FUNCTION_ARGS) {
  const std::string kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
  if (kind == "engine_reentrant") {
    engine_reentrant();
    PG_RETURN_VOID();
  }
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
    if (kind == "engine_in_guard") (void)pgp::redact_engine();  // breaks the rule: must be refused
    if (kind == "none") return;
    throw pgp::core::Error("22023", "unknown selftest kind", {},
                           "Use core_error, std_exception, bad_alloc, unknown, pg_error, engine_in_guard, engine_reentrant or none.");
  });
  PG_RETURN_VOID();
}

Datum pgp_selftest_destructor_count(PG_FUNCTION_ARGS) { PG_RETURN_INT64(g_destructors_run); }
