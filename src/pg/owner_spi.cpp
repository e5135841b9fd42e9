// owner_queries(): SPI under the identity of the schema owner (SECURITY_LOCAL_USERID_CHANGE, as
// Postgres' own RI triggers do); an error restores the identity through transaction abort.
#include "pg/owner_spi.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace pgp {

Oid privacy_schema_owner() {
  Oid nsp = get_namespace_oid("privacy", false);
  HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
  if (!HeapTupleIsValid(tup)) elog(ERROR, "pg_privacy: schema privacy not found");
  Oid owner = ((Form_pg_namespace)GETSTRUCT(tup))->nspowner;
  ReleaseSysCache(tup);
  return owner;
}

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

// The caller's search_path must not choose the functions and operators that run as the owner
// (a public.encode() or public.= shadowing pg_catalog's): pin it, as SET search_path does for a
// SECURITY DEFINER function. Returns the level to hand to AtEOXact_GUC (an error unwinds it
// through transaction abort).
int pin_search_path() {
  const int level = NewGUCNestLevel();
  (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                          true, 0, false);
  return level;
}

}  // namespace

void owner_queries(const char* const* queries, RawRows* results, int n) {
  Oid owner = privacy_schema_owner();
  Oid save_userid;
  int save_sec;
  GetUserIdAndSecContext(&save_userid, &save_sec);
  SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  const int guc_level = pin_search_path();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
  for (int i = 0; i < n; ++i) {
    if (SPI_execute(queries[i], true, 0) != SPI_OK_SELECT)
      elog(ERROR, "pg_privacy: could not read the configuration");
    results[i] = copy_rows();
  }
  SPI_finish();
  AtEOXact_GUC(true, guc_level);
  SetUserIdAndSecContext(save_userid, save_sec);
}

void owner_execute(const char* query, int nargs, const Oid* types, const Datum* values,
                   const char* nulls, bool read_only, RawRows* result, uint64* processed) {
  Oid owner = privacy_schema_owner();
  Oid save_userid;
  int save_sec;
  GetUserIdAndSecContext(&save_userid, &save_sec);
  SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  const int guc_level = pin_search_path();
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
  AtEOXact_GUC(true, guc_level);
  SetUserIdAndSecContext(save_userid, save_sec);
}

Oid privacy_relid(const char* relname) {
  Oid nsp = get_namespace_oid("privacy", true);
  return OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
}

}  // namespace pgp
