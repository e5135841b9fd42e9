// privacy.version() and privacy.preloaded(): what is running, for users and bug reports.
// Thin glue over core::version_string().
#include "core/version.hpp"
#include "pg/guard.hpp"

#ifndef PGP_EXTVERSION
#error "PGP_EXTVERSION is set by the Makefile from control/pg_privacy.control"
#endif

PGP_FUNCTION(pgp_version)
PGP_FUNCTION(pgp_preloaded)

Datum pgp_version(PG_FUNCTION_ARGS) {
  return pgp::guarded([&]() -> Datum {
    const std::string v = pgp::core::version_string(PGP_EXTVERSION);
    return PointerGetDatum(pgp::pg_call([&] { return cstring_to_text_with_len(v.data(), v.size()); }));
  });
}

Datum pgp_preloaded(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(pgp::is_preloaded()); }
