// CALL privacy.purge(): runs the purge's steps (privacy._purge_step, the SQL planner of
// 30_retention.sql) one committed transaction at a time, with the caller's privileges, and
// records how the run ended in privacy.history even when it did not end well: an error or a
// cancel (statement_timeout, pg_cancel_backend) is caught, the batch in flight is rolled back,
// the run is closed as failed or cancelled in a transaction of its own, and the error is raised
// again. The counts end in a NOTICE. The background worker runs the same steps
// (retention_worker.cpp).
#include "pg/ops_history.hpp"
#include "pg/owner_spi.hpp"

extern "C" {
#include "access/xact.h"
#include "nodes/parsenodes.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

PGP_FUNCTION(pgp_purge)

namespace {

// One statement in the procedure's own (non-atomic) SPI connection, as the caller; the first
// column of the first row as a palloc'd C string (nullptr for NULL or no row).
char* exec1(const char* sql, int nargs, Oid* types, Datum* values, const char* nulls) {
  if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 1) < 0)
    elog(ERROR, "pg_privacy: a purge statement failed");
  if (SPI_processed == 0) return nullptr;
  char* v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
  return v ? pstrdup(v) : nullptr;
}

// privacy._purge_finish() as the owner: closes the run; returns its summary, sets *failed.
char* finish(int64 run, const char* status, const char* error, int64* failed) {
  Oid types[3] = {INT8OID, TEXTOID, TEXTOID};
  Datum values[3] = {Int64GetDatum(run), CStringGetTextDatum(status), error ? CStringGetTextDatum(error) : (Datum)0};
  const char nulls[3] = {' ', ' ', error ? ' ' : 'n'};
  pgp::RawRows rows;
  pgp::owner_execute("SELECT summary, failed FROM privacy._purge_finish($1, $2, $3)", 3, types, values, nulls, false,
                     &rows);
  if (failed) *failed = rows.nrows == 1 && rows.at(0, 1) ? strtoll(rows.at(0, 1), nullptr, 10) : 0;
  return rows.nrows == 1 && rows.at(0, 0) ? pstrdup(rows.at(0, 0)) : pstrdup("");
}

}  // namespace

// CALL privacy.purge(only_table regclass DEFAULT NULL).
Datum pgp_purge(PG_FUNCTION_ARGS) {
  Datum only = PG_ARGISNULL(0) ? (Datum)0 : PG_GETARG_DATUM(0);
  const char only_null = PG_ARGISNULL(0) ? 'n' : ' ';
  // The CALL's own context: it lives across the commits below and after SPI_finish().
  MemoryContext outer = CurrentMemoryContext;
  // Who may purge first (PV402, PV403), as the PL/pgSQL procedure of earlier versions did; then
  // where it runs.
  Oid regclass_type = REGCLASSOID;
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
  exec1("SELECT privacy._purge_check($1)", 1, &regclass_type, &only, &only_null);
  SPI_finish();
  const CallContext* call =
      fcinfo->context && IsA(fcinfo->context, CallContext) ? reinterpret_cast<CallContext*>(fcinfo->context) : nullptr;
  if (!call || call->atomic)
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
             errmsg("privacy.purge() cannot run inside a transaction block"),
             errdetail("It commits after every batch, so that no batch holds its locks for long."),
             errhint("pg_privacy: run CALL privacy.purge() on its own, outside BEGIN ... COMMIT, as psql's autocommit "
                     "and pg_cron do; privacy.purge_preview() shows what it would delete.")));
  if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");

  // A purge is never nested in another reported operation: whatever this backend still holds is
  // stale.
  if (!pgp::ops::begin(pgp::ops::Op::Purge, true, "rows")) {
    pgp::ops::end();
    pgp::ops::begin(pgp::ops::Op::Purge, true, "rows");
  }
  Oid begin_types[5] = {REGCLASSOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
  Datum begin_values[5] = {only, TimestampTzGetDatum(pgp::ops::started()), TimestampTzGetDatum(MyStartTimestamp),
                           CStringGetTextDatum(pgp::ops::source()), CStringGetTextDatum(pgp::ops::role())};
  const char begin_nulls[5] = {only_null, ' ', ' ', ' ', ' '};
  pgp::RawRows begun;
  pgp::owner_execute("SELECT run, passes FROM privacy._purge_begin($1, $2, $3, $4, $5)", 5, begin_types,
                     begin_values, begin_nulls, false, &begun);
  const int64 run = strtoll(begun.at(0, 0), nullptr, 10);
  const int64 passes = strtoll(begun.at(0, 1), nullptr, 10);
  pgp::ops::set_run_id(run);
  SPI_commit();  // the run is visible as 'running' from here on

  MemoryContext cxt = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  volatile bool in_step = false;
  PG_TRY();
  {
    char* key = pstrdup("");
    char* last_key = nullptr;
    int64 pass = 0;
    Oid types[3] = {TEXTOID, REGCLASSOID, INT8OID};
    const char nulls[3] = {' ', only_null, ' '};
    for (;;) {
      if (!last_key || strcmp(key, last_key) != 0) {
        ++pass;
        char phase[64];
        snprintf(phase, sizeof phase, "pass %lld of %lld", static_cast<long long>(pass), static_cast<long long>(passes));
        pgp::ops::progress(phase, nullptr, pgp::ops::done(), -1);
      }
      last_key = key;
      Datum values[3] = {CStringGetTextDatum(key), only, Int64GetDatum(run)};
      // Each step in a subtransaction: an error inside it (its SQL runs its own SPI levels) is
      // unwound to this level by the subtransaction's abort, before the rollback below.
      BeginInternalSubTransaction(nullptr);
      in_step = true;
      MemoryContextSwitchTo(cxt);
      key = exec1("SELECT privacy._purge_step($1, $2, $3)", 3, types, values, nulls);
      if (key) key = MemoryContextStrdup(cxt, key);
      ReleaseCurrentSubTransaction();
      in_step = false;
      MemoryContextSwitchTo(cxt);
      CurrentResourceOwner = owner;
      SPI_commit();
      if (!key) break;
      CHECK_FOR_INTERRUPTS();
    }
  }
  PG_CATCH();
  {
    // The batch in flight is rolled back; the run is closed in a transaction of its own, then the
    // error goes on to the caller (pg_cron's job_run_details shows it too).
    MemoryContextSwitchTo(outer);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    pgp::ops::end();
    if (in_step) {
      RollbackAndReleaseCurrentSubTransaction();
      CurrentResourceOwner = owner;
    }
    MemoryContextSwitchTo(cxt);
    SPI_rollback();
    char error[256];
    snprintf(error, sizeof error, "%s: %s", unpack_sql_state(edata->sqlerrcode), edata->message);
    finish(run, edata->sqlerrcode == ERRCODE_QUERY_CANCELED ? "cancelled" : "failed", error, nullptr);
    SPI_commit();
    SPI_finish();
    ReThrowError(edata);
  }
  PG_END_TRY();

  int64 failed = 0;
  const char* summary = MemoryContextStrdup(outer, finish(run, "done", nullptr, &failed));
  SPI_commit();
  pgp::ops::end();
  SPI_finish();
  ereport(NOTICE, (errmsg("privacy.purge: %s", summary)));
  if (failed > 0)
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '4', '0', '4')),
                    errmsg("purge failed for %lld table pass(es)", static_cast<long long>(failed)),
                    errhint("The error of each is in privacy.purge_runs (status 'failed'); the run is in "
                            "privacy.history.")));
  PG_RETURN_VOID();
}
