// owner_queries() and owner_execute(): SPI as the owner of schema privacy, through the one
// privilege switch (privilege.hpp: security-restricted, search_path pinned, restored on errors).
#include "pg/owner_spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace pgp {

namespace {

RawRows copy_rows() {
  RawRows out;
  out.nrows = static_cast<int>(SPI_processed);
  out.ncols = SPI_tuptable->tupdesc->natts;
  out.cells = static_cast<char**>(SPI_palloc(sizeof(char*) * (out.nrows * out.ncols + 1)));
  for (int r = 0; r < out.nrows; ++r)
    for (int c = 0; c < out.ncols; ++c) {
      char* v = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1);
      char* copy = nullptr;
      if (v) {
        copy = static_cast<char*>(SPI_palloc(strlen(v) + 1));
        strcpy(copy, v);
      }
      out.cells[r * out.ncols + c] = copy;
    }
  return out;
}

}  // namespace

void owner_queries(const char* const* queries, RawRows* results, int n) {
  as_owner([&] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
    for (int i = 0; i < n; ++i) {
      if (SPI_execute(queries[i], true, 0) != SPI_OK_SELECT)
        elog(ERROR, "pg_privacy: could not read the configuration");
      results[i] = copy_rows();
    }
    SPI_finish();
  });
}

void owner_execute(const char* query, int nargs, const Oid* types, const Datum* values,
                   const char* nulls, bool read_only, RawRows* result, uint64* processed) {
  as_owner([&] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
    int rc = SPI_execute_with_args(query, nargs, const_cast<Oid*>(types), const_cast<Datum*>(values),
                                   nulls, read_only, 0);
    if (rc < 0) elog(ERROR, "pg_privacy: a statement on the extension's tables failed");
    if (processed) *processed = SPI_processed;
    if (result) {
      if (SPI_tuptable)
        *result = copy_rows();
      else
        *result = RawRows{};
    }
    SPI_finish();
  });
}

Oid privacy_relid(const char* relname) {
  Oid nsp = get_namespace_oid("privacy", true);
  return OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
}

}  // namespace pgp
