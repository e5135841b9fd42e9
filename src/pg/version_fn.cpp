// privacy.version() and privacy.preloaded(): what is running, for users and bug reports.
// Thin glue over core::version_string(); version() also warns when the loaded library and the
// installed SQL objects are not the same version (a library installed without ALTER EXTENSION
// UPDATE, or an update without a restart).
#include "core/version.hpp"
#include "pg/guard.hpp"

#ifndef PGP_EXTVERSION
#error "PGP_EXTVERSION is set by the Makefile from control/pg_privacy.control"
#endif

PGP_FUNCTION(pgp_version)
PGP_FUNCTION(pgp_preloaded)
PGP_FUNCTION(pgp_library_version)

namespace {

// The installed extension's version (pg_extension.extversion), or nullptr.
char* sql_version() {
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
  char* v = nullptr;
  if (SPI_execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_privacy'", true, 1) ==
          SPI_OK_SELECT &&
      SPI_processed == 1) {
    char* s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    if (s) {
      v = static_cast<char*>(SPI_palloc(strlen(s) + 1));
      strcpy(v, s);
    }
  }
  SPI_finish();
  return v;
}

}  // namespace

Datum pgp_version(PG_FUNCTION_ARGS) {
  const char* installed = sql_version();
  if (installed && strcmp(installed, PGP_EXTVERSION) != 0)
    ereport(WARNING,
            (errmsg("the pg_privacy library is version %s but the installed SQL objects are version %s",
                    PGP_EXTVERSION, installed),
             errhint("Run ALTER EXTENSION pg_privacy UPDATE in this database; after installing a new library, "
                     "restart the server so that every backend loads it.")));
  return pgp::guarded([&]() -> Datum {
    const std::string v = pgp::core::version_string(PGP_EXTVERSION);
    return PointerGetDatum(pgp::pg_call([&] { return cstring_to_text_with_len(v.data(), v.size()); }));
  });
}

Datum pgp_preloaded(PG_FUNCTION_ARGS) { PG_RETURN_BOOL(pgp::is_preloaded()); }

// privacy._library_version(): the loaded library's version alone (privacy.status compares it).
Datum pgp_library_version(PG_FUNCTION_ARGS) { PG_RETURN_TEXT_P(cstring_to_text(PGP_EXTVERSION)); }
