// Subject rights: privacy.export_subject() and privacy.erase_subject(). These C entry points
// decide whose data the caller may reach (the verified tenant; another tenant only for a
// superuser), then run the SQL bodies (privacy._export_subject, privacy._erase_subject) as the
// extension owner, which reads and changes every registered table whatever the caller's grants.
#include "pg/ops_history.hpp"
#include "pg/owner_spi.hpp"
#include "pg/privilege.hpp"
#include "pg/tenancy.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
}

PGP_FUNCTION(pgp_export_subject)
PGP_FUNCTION(pgp_erase_subject)
PGP_FUNCTION(pgp_shred_subject)
PGP_FUNCTION(pgp_as_table_owner)

namespace {

// The tenant whose subject the call is about: the verified context's, or the `tenant` argument
// when it names that tenant; a superuser may name any tenant. The tenant id is not echoed.
text* resolve_tenant(FunctionCallInfo fcinfo, int argno, const char* fn) {
  const char* ctx = pgp::current_tenant_or_null();
  const bool given = !PG_ARGISNULL(argno);
  text* arg = given ? PG_GETARG_TEXT_PP(argno) : nullptr;
  if (!given) {
    if (!ctx)
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                      errmsg("%s requires a verified tenant context", fn),
                      errhint("Call privacy.authenticate() first; a superuser may pass tenant => instead.")));
    return cstring_to_text(ctx);
  }
  if (ctx && strlen(ctx) == VARSIZE_ANY_EXHDR(arg) && memcmp(ctx, VARDATA_ANY(arg), strlen(ctx)) == 0)
    return arg;
  if (!superuser())
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied for %s of another tenant", fn),
                    errdetail("The tenant argument differs from the verified tenant context."),
                    errhint("Omit tenant => to act for the verified tenant; only a superuser names another.")));
  return arg;
}

// Moves the first column of every row of `portal` into the result store, 200 rows at a time
// (the store spills to disk beyond work_mem), then closes the cursor.
void drain_cursor(Portal portal, ReturnSetInfo* rsinfo) {
  for (;;) {
    SPI_cursor_fetch(portal, true, 200);
    if (SPI_processed == 0) break;
    for (uint64 i = 0; i < SPI_processed; ++i) {
      bool isnull = false;
      Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &d, &isnull);
    }
    SPI_freetuptable(SPI_tuptable);
  }
  SPI_cursor_close(portal);
}

text* require_subject(FunctionCallInfo fcinfo, const char* fn) {
  if (PG_ARGISNULL(0) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)) == 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s needs a subject id", fn),
                    errhint("Pass the id of the person, as the registered subject columns hold it.")));
  return PG_GETARG_TEXT_PP(0);
}

}  // namespace

// privacy.export_subject(subject, format, tenant) RETURNS SETOF text: the chunks of one
// document, in order. Rows are fetched from the owner's cursor 200 at a time into the result's
// tuplestore, which spills to disk beyond work_mem: memory stays bounded whatever the size.
Datum pgp_export_subject(PG_FUNCTION_ARGS) {
  text* subject = require_subject(fcinfo, "privacy.export_subject()");
  text* format = PG_ARGISNULL(1) ? cstring_to_text("json") : PG_GETARG_TEXT_PP(1);
  text* tenant = resolve_tenant(fcinfo, 2, "privacy.export_subject()");
  InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);

  const bool reported = pgp::ops::begin(pgp::ops::Op::Export, false, "tables");
  Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
  Datum values[3] = {PointerGetDatum(subject), PointerGetDatum(format), PointerGetDatum(tenant)};
  pgp::as_owner([&] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
    Portal portal = SPI_cursor_open_with_args(
        nullptr, "SELECT chunk FROM privacy._export_subject($1, $2, $3) chunk", 3, types, values, nullptr, true, 0);
    drain_cursor(portal, rsinfo);
    if (reported) pgp::ops::run_record(pgp::ops::Op::Export, pgp::ops::counts_json());
    SPI_finish();
  });
  // The counts only: the subject is never named in the history or the NOTICE.
  if (reported) {
    const long long rows = pgp::ops::count("rows"), tables = pgp::ops::count("tables"),
                    audit_records = pgp::ops::count("audit_records");
    pgp::ops::end();
    ereport(NOTICE, (errmsg("privacy.export_subject: %lld rows from %lld registered tables and %lld audit records",
                            rows, tables, audit_records)));
  }
  return (Datum)0;
}

namespace {

// One row, one column, as text: `query` run as the owner with (subject, tenant).
const char* owner_scalar(const char* query, text* subject, text* tenant) {
  Oid types[2] = {TEXTOID, TEXTOID};
  Datum values[2] = {PointerGetDatum(subject), PointerGetDatum(tenant)};
  pgp::RawRows rows;
  pgp::owner_execute(query, 2, types, values, nullptr, false, &rows);
  if (rows.nrows != 1 || !rows.at(0, 0)) elog(ERROR, "pg_privacy: \"%s\" returned no value", query);
  return rows.at(0, 0);
}

}  // namespace

// privacy.shred_subject(subject, tenant) RETURNS bigint: the subject's key destroyed, audited.
Datum pgp_shred_subject(PG_FUNCTION_ARGS) {
  text* subject = require_subject(fcinfo, "privacy.shred_subject()");
  text* tenant = resolve_tenant(fcinfo, 1, "privacy.shred_subject()");
  const char* n = owner_scalar("SELECT privacy._shred_subject($1, $2)", subject, tenant);
  PG_RETURN_INT64(strtoll(n, nullptr, 10));
}

// privacy.erase_subject(subject, tenant) RETURNS jsonb: the counts privacy._erase_subject()
// returns (and records in the audit log).
Datum pgp_erase_subject(PG_FUNCTION_ARGS) {
  text* subject = require_subject(fcinfo, "privacy.erase_subject()");
  text* tenant = resolve_tenant(fcinfo, 1, "privacy.erase_subject()");
  const bool reported = pgp::ops::begin(pgp::ops::Op::Erase, false, "tables");
  const char* doc = owner_scalar("SELECT privacy._erase_subject($1, $2)::text", subject, tenant);
  if (reported) {
    const long long deleted = pgp::ops::count("rows_deleted"), anonymized = pgp::ops::count("rows_anonymized"),
                    kept = pgp::ops::count("rows_kept"), tables = pgp::ops::count("tables"),
                    keys = pgp::ops::count("subject_keys_shredded"),
                    audited = pgp::ops::count("audit_records_pseudonymized");
    pgp::ops::run_record(pgp::ops::Op::Erase, pgp::ops::counts_json());
    pgp::ops::end();
    ereport(NOTICE, (errmsg("privacy.erase_subject: %lld rows deleted, %lld anonymized and %lld kept in %lld "
                            "registered tables; %lld subject keys shredded, %lld audit records pseudonymized",
                            deleted, anonymized, kept, tables, keys, audited)));
  }
  PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(doc)));
}

// privacy._as_table_owner(tbl, query, dml, subject, tenant, pseudonym) RETURNS SETOF text:
// runs `query` ($1 subject, $2 tenant, $3 pseudonym) as the owner of `tbl`, as a security-
// restricted operation with search_path pg_catalog, pg_temp, the way PostgreSQL runs
// maintenance commands: the table's triggers, constraints, index expressions and casts run with
// its owner's rights, never the extension owner's. A SELECT gives its first column row by row
// (through a cursor, 200 rows at a time, into the result store); a DML statement gives one row,
// the number of rows it processed. Owner only (EXECUTE revoked from PUBLIC).
Datum pgp_as_table_owner(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("privacy._as_table_owner() needs a table, a statement and its kind")));
  const Oid relid = PG_GETARG_OID(0);
  const char* query = text_to_cstring(PG_GETARG_TEXT_PP(1));
  const bool dml = PG_GETARG_BOOL(2);
  Datum args[3] = {PG_GETARG_DATUM(3), PG_GETARG_DATUM(4), PG_GETARG_DATUM(5)};
  const char nulls[4] = {PG_ARGISNULL(3) ? 'n' : ' ', PG_ARGISNULL(4) ? 'n' : ' ', PG_ARGISNULL(5) ? 'n' : ' ', '\0'};
  Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
  HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(tup))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid)));
  const Oid table_owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->relowner;
  ReleaseSysCache(tup);
  InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);

  pgp::as_role(table_owner, [&] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
    if (dml) {
      const int rc = SPI_execute_with_args(query, 3, types, args, nulls, false, 0);
      if (rc < 0) elog(ERROR, "pg_privacy: SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
      char buf[32];
      snprintf(buf, sizeof buf, UINT64_FORMAT, SPI_processed);
      bool isnull = false;
      Datum d = CStringGetTextDatum(buf);
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &d, &isnull);
    } else {
      Portal portal = SPI_cursor_open_with_args(nullptr, query, 3, types, args, nulls, true, 0);
      drain_cursor(portal, rsinfo);
    }
    SPI_finish();
  });
  return (Datum)0;
}
