// The retention background worker: a launcher starts one worker per database in
// privacy.databases; each wakes every privacy.naptime and, on a primary only, runs the purge one
// committed step (batch) at a time, then seals the audit chain when audit provides a sealer.
#include "core/retention/database_list.hpp"
#include "pg/guard.hpp"
#include "pg/ops_state.hpp"
#include "pg/registry.hpp"

extern "C" {
#include "access/xlog.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

#include <cstring>
#include <exception>

extern "C" {
PGDLLEXPORT void pgp_retention_launcher_main(Datum arg);
PGDLLEXPORT void pgp_retention_worker_main(Datum arg);
}

namespace pgp {
namespace {

namespace ops = pgp::ops;
constexpr int kMaxDatabases = 64;
constexpr const char* kWorkerType = "pg_privacy retention worker";

struct DatabaseNames {
  int n = 0;
  char names[kMaxDatabases][NAMEDATALEN];
};

// Parses privacy.databases into plain buffers; false (with a reason) when the setting is invalid.
// The C++ objects live only inside this function, which calls nothing that can ereport.
bool parse_databases(DatabaseNames* out, char* reason, size_t reason_len) noexcept {
  out->n = 0;
  try {
    for (const auto& name : core::retention::parse_database_list(settings::databases ? settings::databases : "")) {
      if (out->n == kMaxDatabases) {
        snprintf(reason, reason_len, "privacy.databases lists more than %d databases", kMaxDatabases);
        return false;
      }
      strlcpy(out->names[out->n++], name.c_str(), NAMEDATALEN);
    }
    return true;
  } catch (const std::exception& e) {
    strlcpy(reason, e.what(), reason_len);
  } catch (...) {
    strlcpy(reason, "privacy.databases could not be parsed", reason_len);
  }
  out->n = 0;
  return false;
}

bool database_listed(const char* db) {
  DatabaseNames* names = static_cast<DatabaseNames*>(palloc(sizeof(DatabaseNames)));
  char reason[256];
  bool found = false;
  if (parse_databases(names, reason, sizeof reason))
    for (int i = 0; i < names->n && !found; ++i) found = strcmp(names->names[i], db) == 0;
  pfree(names);
  return found;
}

void wait_naptime() {
  (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, settings::naptime_s * 1000L,
                  PG_WAIT_EXTENSION);
  ResetLatch(MyLatch);
  CHECK_FOR_INTERRUPTS();
}

// A worker waits a whole naptime: its latch is also set by signals that are no reason to purge
// (a catch-up of shared invalidations after many configuration changes), which used to start a
// round early. SIGTERM and SIGHUP end the wait.
void wait_full_naptime() {
  const TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), settings::naptime_s * 1000L);
  while (!ShutdownRequestPending && !ConfigReloadPending) {
    const long ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
    if (ms <= 0) break;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

// --- launcher ------------------------------------------------------------------------------

struct Slot {
  char db[NAMEDATALEN];
  BackgroundWorkerHandle* handle;
  TimestampTz started;
};

bool start_worker(Slot* slot) {
  BackgroundWorker w;
  memset(&w, 0, sizeof w);
  w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  w.bgw_start_time = BgWorkerStart_ConsistentState;
  // The launcher restarts a worker that stopped (and is still wanted), at most once a naptime.
  w.bgw_restart_time = BGW_NEVER_RESTART;
  strlcpy(w.bgw_library_name, "pg_privacy", BGW_MAXLEN);
  strlcpy(w.bgw_function_name, "pgp_retention_worker_main", BGW_MAXLEN);
  snprintf(w.bgw_name, BGW_MAXLEN, "pg_privacy retention worker for database %s", slot->db);
  strlcpy(w.bgw_type, kWorkerType, BGW_MAXLEN);
  static_assert(NAMEDATALEN <= BGW_EXTRALEN, "a database name fits in bgw_extra");
  memcpy(w.bgw_extra, slot->db, NAMEDATALEN);
  w.bgw_notify_pid = MyProcPid;
  slot->started = GetCurrentTimestamp();
  if (!RegisterDynamicBackgroundWorker(&w, &slot->handle)) {
    slot->handle = nullptr;
    ereport(WARNING, (errmsg("pg_privacy retention: could not start a worker for database \"%s\"", slot->db),
                      errhint("Raise max_worker_processes.")));
    return false;
  }
  return true;
}

bool worker_running(const Slot* slot) {
  pid_t pid;
  return slot->handle && GetBackgroundWorkerPid(slot->handle, &pid) != BGWH_STOPPED;
}

// Brings the running workers in line with privacy.databases.
void reconcile(Slot* slots, int* nslots) {
  DatabaseNames* wanted = static_cast<DatabaseNames*>(palloc(sizeof(DatabaseNames)));
  char reason[256];
  if (!parse_databases(wanted, reason, sizeof reason))
    ereport(WARNING, (errmsg("pg_privacy retention: %s; serving no database", reason)));
  for (int i = 0; i < *nslots;) {
    bool keep = false;
    for (int j = 0; j < wanted->n && !keep; ++j) keep = strcmp(slots[i].db, wanted->names[j]) == 0;
    if (keep) {
      ++i;
      continue;
    }
    if (slots[i].handle) TerminateBackgroundWorker(slots[i].handle);
    slots[i] = slots[--*nslots];
  }
  TimestampTz now = GetCurrentTimestamp();
  for (int j = 0; j < wanted->n; ++j) {
    Slot* slot = nullptr;
    for (int i = 0; i < *nslots && !slot; ++i)
      if (strcmp(slots[i].db, wanted->names[j]) == 0) slot = &slots[i];
    if (!slot) {
      slot = &slots[(*nslots)++];
      strlcpy(slot->db, wanted->names[j], NAMEDATALEN);
      slot->handle = nullptr;
      slot->started = 0;
    } else if (worker_running(slot) ||
               !TimestampDifferenceExceeds(slot->started, now, settings::naptime_s * 1000)) {
      continue;
    }
    start_worker(slot);
  }
  pfree(wanted);
}

// --- per-database worker -------------------------------------------------------------------

// Runs one query in its own transaction; returns the first column of the first row as a
// C string in `cxt` (nullptr for SQL NULL or no row).
char* run_in_transaction(const char* sql, int nargs, Oid* types, Datum* values, MemoryContext cxt) {
  char* result = nullptr;
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy retention: SPI_connect failed");
  PushActiveSnapshot(GetTransactionSnapshot());
  pgstat_report_activity(STATE_RUNNING, sql);
  if (SPI_execute_with_args(sql, nargs, types, values, nullptr, false, 1) < 0)
    elog(ERROR, "pg_privacy retention: a purge query failed");
  if (SPI_processed > 0) {
    char* v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    if (v) result = MemoryContextStrdup(cxt, v);
  }
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  pgstat_report_activity(STATE_IDLE, nullptr);
  return result;
}

// The run of the round in progress (privacy.operation_runs), for the error path.
int64 g_round_run = 0;

// One purge of this database: every pass, one committed step at a time, recorded as one run in
// privacy.history (source 'worker'). A SIGTERM ends it between steps (the run is then
// 'interrupted'); the next round (or CALL privacy.purge()) carries on where it stopped.
void purge_round(const char* db, MemoryContext cxt) {
  char* installed = run_in_transaction(
      "SELECT to_regprocedure('privacy._purge_begin(regclass,timestamptz,timestamptz,text,name)') IS NOT NULL", 0,
      nullptr, nullptr, cxt);
  if (!installed || strcmp(installed, "t") != 0) return;
  ops::worker_state(db, ops::WorkerState::Purging);
  StartTransactionCommand();
  if (!ops::begin(ops::Op::Purge, true, "rows")) {  // a round is never nested: what is left is stale
    ops::end();
    ops::begin(ops::Op::Purge, true, "rows");
  }
  CommitTransactionCommand();
  Oid begin_types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
  Datum begin_values[2] = {TimestampTzGetDatum(ops::started()), TimestampTzGetDatum(MyStartTimestamp)};
  char* run = run_in_transaction("SELECT run FROM privacy._purge_begin(NULL, $1, $2, 'worker', current_user)", 2,
                                 begin_types, begin_values, cxt);
  g_round_run = strtoll(run, nullptr, 10);
  ops::set_run_id(g_round_run);
  char* key = MemoryContextStrdup(cxt, "");
  Oid step_types[2] = {TEXTOID, INT8OID};
  while (key && !ShutdownRequestPending) {
    MemoryContext old = MemoryContextSwitchTo(cxt);
    Datum args[2] = {CStringGetTextDatum(key), Int64GetDatum(g_round_run)};
    MemoryContextSwitchTo(old);
    key = run_in_transaction("SELECT privacy._purge_step($1, NULL, $2)", 2, step_types, args, cxt);
    CHECK_FOR_INTERRUPTS();
  }
  Oid finish_types[2] = {INT8OID, TEXTOID};
  Datum finish_values[2] = {Int64GetDatum(g_round_run),
                            CStringGetTextDatum(ShutdownRequestPending ? "interrupted" : "done")};
  char* summary = run_in_transaction("SELECT summary FROM privacy._purge_finish($1, $2, NULL)", 2, finish_types,
                                     finish_values, cxt);
  g_round_run = 0;
  const int64 deleted = ops::done();
  ops::end();
  if (ShutdownRequestPending) return;
  if (summary && !strstr(summary, "(0 passes with work"))
    ereport(LOG, (errmsg("pg_privacy retention: database \"%s\": %s", db, summary)));
  // Audit sealing belongs to this worker too, once the audit capability provides it.
  char* sealer = run_in_transaction("SELECT to_regprocedure('privacy.audit_seal()') IS NOT NULL", 0, nullptr,
                                    nullptr, cxt);
  int64 sealed = 0;
  if (sealer && strcmp(sealer, "t") == 0) {
    ops::worker_state(db, ops::WorkerState::Sealing);
    char* n = run_in_transaction("SELECT privacy.audit_seal()", 0, nullptr, nullptr, cxt);
    sealed = n ? strtoll(n, nullptr, 10) : 0;
  }
  ops::worker_round_end(db, true, deleted, sealed, nullptr);
}

// A failed round is logged (its message only: a detail could quote row values), its run closed
// as failed, and the worker waits for the next one, rather than dying and being restarted.
void guarded_round(const char* db, MemoryContext cxt) {
  PG_TRY();
  { purge_round(db, cxt); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(cxt);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    pgstat_report_activity(STATE_IDLE, nullptr);
    char error[256];
    snprintf(error, sizeof error, "%s: %s", unpack_sql_state(edata->sqlerrcode), edata->message);
    const int64 deleted = ops::done();
    ops::end();
    ops::worker_round_end(db, false, deleted, 0, error);
    ereport(WARNING, (errcode(edata->sqlerrcode),
                      errmsg("pg_privacy retention: purge round in database \"%s\" stopped: %s", db,
                             edata->message)));
    if (g_round_run != 0) {
      // In a transaction of its own; a failure here is only logged.
      const int64 run = g_round_run;
      g_round_run = 0;
      PG_TRY();
      {
        Oid types[3] = {INT8OID, TEXTOID, TEXTOID};
        Datum values[3] = {Int64GetDatum(run), CStringGetTextDatum(edata->sqlerrcode == ERRCODE_QUERY_CANCELED
                                                                        ? "cancelled"
                                                                        : "failed"),
                           CStringGetTextDatum(error)};
        run_in_transaction("SELECT summary FROM privacy._purge_finish($1, $2, $3)", 3, types, values, cxt);
      }
      PG_CATCH();
      {
        FlushErrorState();
        AbortCurrentTransaction();
      }
      PG_END_TRY();
    }
  }
  PG_END_TRY();
}

}  // namespace

void retention_register_workers() {
  BackgroundWorker w;
  memset(&w, 0, sizeof w);
  w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  w.bgw_start_time = BgWorkerStart_ConsistentState;
  w.bgw_restart_time = 5;
  strlcpy(w.bgw_library_name, "pg_privacy", BGW_MAXLEN);
  strlcpy(w.bgw_function_name, "pgp_retention_launcher_main", BGW_MAXLEN);
  strlcpy(w.bgw_name, "pg_privacy retention launcher", BGW_MAXLEN);
  strlcpy(w.bgw_type, "pg_privacy retention launcher", BGW_MAXLEN);
  RegisterBackgroundWorker(&w);
}

}  // namespace pgp

void pgp_retention_launcher_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();
  // Connected to no database: this only makes the launcher visible in pg_stat_activity.
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
  pgp::ops::launcher_started();
  pgp::Slot* slots = static_cast<pgp::Slot*>(palloc0(sizeof(pgp::Slot) * pgp::kMaxDatabases));
  int nslots = 0;
  while (!ShutdownRequestPending) {
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    pgp::reconcile(slots, &nslots);
    pgp::wait_naptime();
  }
  for (int i = 0; i < nslots; ++i)
    if (slots[i].handle) TerminateBackgroundWorker(slots[i].handle);
  proc_exit(0);
}

void pgp_retention_worker_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();
  char db[NAMEDATALEN];
  memcpy(db, MyBgworkerEntry->bgw_extra, NAMEDATALEN);
  db[NAMEDATALEN - 1] = '\0';
  // NULL user: the bootstrap superuser, who bypasses row-level security on protected tables.
  BackgroundWorkerInitializeConnection(db, nullptr, 0);
  pgp::ops::worker_state(db, pgp::ops::WorkerState::Idle);
  MemoryContext round_cxt = AllocSetContextCreate(TopMemoryContext, "pg_privacy retention", ALLOCSET_DEFAULT_SIZES);
  while (!ShutdownRequestPending) {
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
      if (!pgp::database_listed(db)) break;
    }
    // A standby cannot delete: it waits, and starts purging once promoted.
    if (!RecoveryInProgress()) pgp::guarded_round(db, round_cxt);
    MemoryContextReset(round_cxt);
    if (ShutdownRequestPending) break;
    pgp::wait_full_naptime();
  }
  pgp::ops::worker_state(db, pgp::ops::WorkerState::Stopped);
  proc_exit(0);
}
