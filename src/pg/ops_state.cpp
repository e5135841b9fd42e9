// Shared-memory state of pg_privacy's operations: one progress slot per backend (written by its
// backend only, read with a change counter, as PostgreSQL's own backend status is), a ring of
// the outcomes of runs whose transaction failed, and the retention workers' rounds; and the SQL
// functions that read them (privacy.progress, privacy.history, privacy.status).
//
// PostgreSQL 15 gives extensions no pg_stat_progress_* command type of their own (the types are
// a fixed enum), so progress lives here rather than in the backend-status progress parameters.
#include "pg/ops_state.hpp"
#include "pg/guard.hpp"
#include "pg/registry.hpp"

#include <cstring>

extern "C" {
#include "access/xact.h"
#include "funcapi.h"
#include "pgstat.h"
#include "utils/backend_status.h"
#include "port/atomics.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/json.h"
#include "utils/timestamp.h"
}

PGP_FUNCTION(pgp_ops_progress_rows)
PGP_FUNCTION(pgp_ops_outcomes)
PGP_FUNCTION(pgp_ops_worker_rows)
PGP_FUNCTION(pgp_ops_progress)
PGP_FUNCTION(pgp_ops_progress_purge)
PGP_FUNCTION(pgp_ops_backend_alive)
PGP_FUNCTION(pgp_ops_count)
PGP_FUNCTION(pgp_ops_count_of)

namespace pgp::ops {
namespace {

constexpr int kOutcomes = 64;
constexpr int kWorkers = 64;
constexpr int kText = 160;

struct ProgressSlot {
  pg_atomic_uint32 changecount;  // odd while the owner writes
  int32 pid;
  Oid dbid;
  Oid userid;
  int32 op;
  int64 run_id;
  TimestampTz started;
  int64 done;
  int64 total;  // -1: unknown
  char unit[16];
  char phase[64];
  char target[kText];
};

struct Outcome {
  int32 pid;
  Oid dbid;
  int32 op;
  int64 run_id;  // 0: the run has no history row yet
  TimestampTz started;
  TimestampTz ended;
  TimestampTz backend_start;
  int32 status;  // Status
  char error[kText];
  char role[NAMEDATALEN];
  char source[NAMEDATALEN];
};

struct Worker {
  char db[NAMEDATALEN];
  int32 pid;
  int32 state;
  TimestampTz round_started;
  TimestampTz round_ended;
  int32 ok;  // -1 no round yet, 0 failed, 1 ok
  int64 rows_deleted;
  int64 sealed;
  char error[kText];
};

struct Shared {
  slock_t mutex;  // outcomes, workers, the launcher
  int32 launcher_pid;
  TimestampTz launcher_started;
  uint64 outcomes_written;
  Outcome outcomes[kOutcomes];
  Worker workers[kWorkers];
  ProgressSlot progress[FLEXIBLE_ARRAY_MEMBER];
};

enum Status { kFailed = 1, kCancelled, kInterrupted };
const char* status_name(int s) { return s == kCancelled ? "cancelled" : s == kInterrupted ? "interrupted" : "failed"; }

Shared* g_shared = nullptr;

// This backend's operation.
struct Local {
  Op op = Op::None;
  bool committing = false;
  int level = 0;
  int64 run_id = 0;
  TimestampTz started = 0;
  int64 done = 0;
  int ncounts = 0;
  char count_names[8][32] = {};
  int64 counts[8] = {};
  char error[kText] = "";
  char sqlstate[6] = "";
  char role[NAMEDATALEN] = "";
  char source[NAMEDATALEN] = "";
};
Local g_local;

Size shared_size() { return add_size(offsetof(Shared, progress), mul_size(MaxBackends, sizeof(ProgressSlot))); }

void shmem_request() {
  RequestAddinShmemSpace(MAXALIGN(shared_size()));
}

void shmem_startup() {
  bool found = false;
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  g_shared = static_cast<Shared*>(ShmemInitStruct("pg_privacy operations", shared_size(), &found));
  if (!found) {
    memset(g_shared, 0, shared_size());
    SpinLockInit(&g_shared->mutex);
    for (int i = 0; i < MaxBackends; ++i) pg_atomic_init_u32(&g_shared->progress[i].changecount, 0);
  }
  LWLockRelease(AddinShmemInitLock);
}

ProgressSlot* my_slot() {
  if (!g_shared || MyBackendId == InvalidBackendId || MyBackendId > MaxBackends) return nullptr;
  return &g_shared->progress[MyBackendId - 1];
}

// Writes to this backend's slot between two increments of its change counter.
template <typename F>
void write_slot(F&& f) {
  ProgressSlot* s = my_slot();
  if (!s) return;
  pg_atomic_fetch_add_u32(&s->changecount, 1);
  pg_write_barrier();
  f(*s);
  pg_write_barrier();
  pg_atomic_fetch_add_u32(&s->changecount, 1);
}

// A consistent copy of another backend's slot (retried while its owner writes).
bool read_slot(int i, ProgressSlot* out) {
  ProgressSlot* s = &g_shared->progress[i];
  for (int tries = 0; tries < 1000; ++tries) {
    const uint32 before = pg_atomic_read_u32(&s->changecount);
    pg_read_barrier();
    memcpy(static_cast<void*>(out), s, sizeof *out);
    pg_read_barrier();
    if ((before & 1) == 0 && before == pg_atomic_read_u32(&s->changecount)) return true;
  }
  return false;
}

void copy_text(char* dst, size_t n, const char* src) { strlcpy(dst, src ? src : "", n); }

void clear_local() {
  write_slot([](ProgressSlot& s) {
    s.pid = 0;
    s.op = 0;
  });
  g_local = Local{};
}

// The current operation ended in an aborted transaction: its outcome goes to the ring.
void record_outcome(int status) {
  if (!g_shared) return;
  SpinLockAcquire(&g_shared->mutex);
  Outcome& o = g_shared->outcomes[g_shared->outcomes_written % kOutcomes];
  g_shared->outcomes_written++;
  o.pid = MyProcPid;
  o.dbid = MyDatabaseId;
  o.op = static_cast<int32>(g_local.op);
  o.run_id = g_local.run_id;
  o.started = g_local.started;
  o.ended = GetCurrentTimestamp();
  o.backend_start = MyStartTimestamp;
  o.status = status;
  memcpy(o.error, g_local.error, sizeof o.error);
  memcpy(o.role, g_local.role, sizeof o.role);
  memcpy(o.source, g_local.source, sizeof o.source);
  SpinLockRelease(&g_shared->mutex);
}

int status_of_error() {
  if (strcmp(g_local.sqlstate, "57014") == 0) return kCancelled;  // query_canceled
  if (proc_exit_inprogress || strncmp(g_local.sqlstate, "57P", 3) == 0) return kInterrupted;
  return kFailed;
}

// A run inside the caller's transaction fails with it; a committing run ends in its own loop,
// unless the backend is exiting (FATAL, pg_terminate_backend).
void on_xact(XactEvent event) {
  if (g_local.op == Op::None) return;
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
    if (g_local.committing && !proc_exit_inprogress) return;
    record_outcome(g_local.committing ? kInterrupted : status_of_error());
    clear_local();
  } else if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT) && !g_local.committing) {
    clear_local();  // ended without end(): nothing to keep
  }
}

void on_subxact(SubXactEvent event) {
  if (g_local.op == Op::None || g_local.committing || event != SUBXACT_EVENT_ABORT_SUB) return;
  if (GetCurrentTransactionNestLevel() > g_local.level) return;  // an inner block the run survives
  record_outcome(status_of_error());
  clear_local();
}

void set_cstring_or_null(Datum* v, bool* n, const char* s) {
  if (s && *s) {
    *v = CStringGetTextDatum(s);
  } else {
    *n = true;
  }
}

}  // namespace

const char* op_name(Op op) {
  switch (op) {
    case Op::Purge: return "purge";
    case Op::Seal: return "audit_seal";
    case Op::AuditPurge: return "audit_purge";
    case Op::Export: return "export_subject";
    case Op::Erase: return "erase_subject";
    case Op::Rotate: return "rotate_master_key";
    case Op::None: break;
  }
  return "";
}

bool begin(Op op, bool committing, const char* unit) noexcept {
  if (g_local.op != Op::None) return false;
  g_local.op = op;
  g_local.committing = committing;
  g_local.level = GetCurrentTransactionNestLevel();
  g_local.started = GetCurrentTimestamp();
  // The role's name needs the catalog: a worker calls this inside a transaction.
  // The role running the operation (after SET ROLE; before any switch to the extension owner).
  const char* role = IsTransactionState() ? GetUserNameFromId(GetUserId(), true) : nullptr;
  copy_text(g_local.role, sizeof g_local.role, role);
  copy_text(g_local.source, sizeof g_local.source,
            MyBackendType == B_BG_WORKER ? "worker" : (application_name && *application_name ? application_name : "sql"));
  write_slot([&](ProgressSlot& s) {
    s.pid = MyProcPid;
    s.dbid = MyDatabaseId;
    s.userid = GetUserId();
    s.op = static_cast<int32>(op);
    s.run_id = 0;
    s.started = g_local.started;
    s.done = 0;
    s.total = -1;
    copy_text(s.unit, sizeof s.unit, unit);
    s.phase[0] = '\0';
    s.target[0] = '\0';
  });
  return true;
}

void set_run_id(std::int64_t run_id) noexcept {
  g_local.run_id = run_id;
  write_slot([&](ProgressSlot& s) { s.run_id = run_id; });
}

void progress(const char* phase, const char* target, std::int64_t done, std::int64_t total) noexcept {
  if (g_local.op == Op::None) return;
  g_local.done = done;
  write_slot([&](ProgressSlot& s) {
    if (phase) copy_text(s.phase, sizeof s.phase, phase);
    if (target) copy_text(s.target, sizeof s.target, target);
    s.done = done;
    if (total != kKeepTotal) s.total = total;
  });
}

void add_done(std::int64_t n) noexcept {
  if (g_local.op == Op::None) return;
  g_local.done += n;
  write_slot([&](ProgressSlot& s) { s.done = g_local.done; });
}

TimestampTz started() noexcept { return g_local.op == Op::None ? 0 : g_local.started; }
const char* role() noexcept { return g_local.role; }
const char* source() noexcept { return g_local.source; }
std::int64_t done() noexcept { return g_local.done; }

void end() noexcept { clear_local(); }

void add_count(const char* name, std::int64_t n) noexcept {
  if (g_local.op == Op::None || !name) return;
  for (int i = 0; i < g_local.ncounts; ++i)
    if (strcmp(g_local.count_names[i], name) == 0) {
      g_local.counts[i] += n;
      return;
    }
  if (g_local.ncounts == 8) return;
  strlcpy(g_local.count_names[g_local.ncounts], name, sizeof g_local.count_names[0]);
  g_local.counts[g_local.ncounts++] = n;
}

std::int64_t count(const char* name) noexcept {
  for (int i = 0; i < g_local.ncounts; ++i)
    if (strcmp(g_local.count_names[i], name) == 0) return g_local.counts[i];
  return 0;
}

char* counts_json() {
  StringInfoData out;
  initStringInfo(&out);
  appendStringInfoChar(&out, '{');
  for (int i = 0; i < g_local.ncounts; ++i) {
    if (i) appendStringInfoString(&out, ", ");
    escape_json(&out, g_local.count_names[i]);
    appendStringInfo(&out, ": %lld", static_cast<long long>(g_local.counts[i]));
  }
  appendStringInfoChar(&out, '}');
  return out.data;
}

void note_error(const ErrorData* edata) noexcept {
  if (g_local.op == Op::None || edata->elevel < ERROR) return;
  copy_text(g_local.sqlstate, sizeof g_local.sqlstate, unpack_sql_state(edata->sqlerrcode));
  snprintf(g_local.error, sizeof g_local.error, "%s: %s", g_local.sqlstate, edata->message ? edata->message : "");
}

void worker_state(const char* db, WorkerState state) noexcept {
  if (!g_shared) return;
  SpinLockAcquire(&g_shared->mutex);
  Worker* w = nullptr;
  for (int i = 0; i < kWorkers && !w; ++i)
    if (strcmp(g_shared->workers[i].db, db) == 0) w = &g_shared->workers[i];
  for (int i = 0; i < kWorkers && !w; ++i)
    if (g_shared->workers[i].db[0] == '\0') {
      w = &g_shared->workers[i];
      strlcpy(w->db, db, NAMEDATALEN);
      w->ok = -1;
    }
  if (w) {
    w->pid = state == WorkerState::Stopped ? 0 : MyProcPid;
    w->state = static_cast<int32>(state);
    if (state == WorkerState::Purging) w->round_started = GetCurrentTimestamp();
  }
  SpinLockRelease(&g_shared->mutex);
}

void worker_round_end(const char* db, bool ok, std::int64_t rows_deleted, std::int64_t sealed,
                      const char* error) noexcept {
  if (!g_shared) return;
  SpinLockAcquire(&g_shared->mutex);
  for (int i = 0; i < kWorkers; ++i) {
    Worker& w = g_shared->workers[i];
    if (strcmp(w.db, db) != 0) continue;
    w.round_ended = GetCurrentTimestamp();
    w.ok = ok ? 1 : 0;
    w.rows_deleted = rows_deleted;
    w.sealed = sealed;
    copy_text(w.error, sizeof w.error, error);
    w.state = static_cast<int32>(WorkerState::Idle);
    break;
  }
  SpinLockRelease(&g_shared->mutex);
}

void launcher_started() noexcept {
  if (!g_shared) return;
  SpinLockAcquire(&g_shared->mutex);
  g_shared->launcher_pid = MyProcPid;
  g_shared->launcher_started = GetCurrentTimestamp();
  SpinLockRelease(&g_shared->mutex);
}


}  // namespace pgp::ops

// The registry's steps (registry.hpp): the transaction callbacks, shared memory (preloaded only)
// and the emit_log step.
namespace pgp {
void ops_on_xact(XactEvent event) { ops::on_xact(event); }
void ops_on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId) { ops::on_subxact(event); }
void ops_shmem_request() { ops::shmem_request(); }
void ops_shmem_startup() { ops::shmem_startup(); }
void ops_note_error(ErrorData* edata) noexcept { ops::note_error(edata); }
}  // namespace pgp

namespace ops = pgp::ops;

// privacy._progress_rows(): one row per backend running a reported operation, every database.
Datum pgp_ops_progress_rows(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (!ops::g_shared) return (Datum)0;
  for (int i = 0; i < MaxBackends; ++i) {
    ops::ProgressSlot s;
    if (!ops::read_slot(i, &s) || s.pid == 0 || s.op == 0) continue;
    Datum v[11];
    bool n[11] = {};
    v[0] = Int32GetDatum(s.pid);
    v[1] = ObjectIdGetDatum(s.dbid);
    v[2] = ObjectIdGetDatum(s.userid);
    v[3] = CStringGetTextDatum(ops::op_name(static_cast<ops::Op>(s.op)));
    s.phase[sizeof s.phase - 1] = s.target[sizeof s.target - 1] = s.unit[sizeof s.unit - 1] = '\0';
    ops::set_cstring_or_null(&v[4], &n[4], s.phase);
    ops::set_cstring_or_null(&v[5], &n[5], s.target);
    v[6] = Int64GetDatum(s.done);
    v[7] = Int64GetDatum(s.total);
    n[7] = s.total < 0;
    ops::set_cstring_or_null(&v[8], &n[8], s.unit);
    v[9] = TimestampTzGetDatum(s.started);
    v[10] = Int64GetDatum(s.run_id);
    n[10] = s.run_id == 0;
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
  }
  return (Datum)0;
}

// privacy._outcomes(): the runs of this database whose transaction failed, newest last (the
// ring keeps the last 64 of the cluster).
Datum pgp_ops_outcomes(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (!ops::g_shared) return (Datum)0;
  ops::Outcome copy[ops::kOutcomes];
  SpinLockAcquire(&ops::g_shared->mutex);
  const uint64 written = ops::g_shared->outcomes_written;
  memcpy(static_cast<void*>(copy), ops::g_shared->outcomes, sizeof copy);
  SpinLockRelease(&ops::g_shared->mutex);
  const uint64 first = written > ops::kOutcomes ? written - ops::kOutcomes : 0;
  for (uint64 k = first; k < written; ++k) {
    const ops::Outcome& o = copy[k % ops::kOutcomes];
    if (o.dbid != MyDatabaseId) continue;
    Datum v[10];
    bool n[10] = {};
    v[0] = CStringGetTextDatum(ops::op_name(static_cast<ops::Op>(o.op)));
    v[1] = Int32GetDatum(o.pid);
    v[2] = TimestampTzGetDatum(o.started);
    v[3] = TimestampTzGetDatum(o.ended);
    v[4] = CStringGetTextDatum(ops::status_name(o.status));
    char err[ops::kText];
    memcpy(err, o.error, sizeof err);
    err[sizeof err - 1] = '\0';
    ops::set_cstring_or_null(&v[5], &n[5], err);
    char role[NAMEDATALEN], source[NAMEDATALEN];
    strlcpy(role, o.role, sizeof role);
    strlcpy(source, o.source, sizeof source);
    v[6] = DirectFunctionCall1(namein, CStringGetDatum(role));
    v[7] = CStringGetTextDatum(source);
    v[8] = Int64GetDatum(o.run_id);
    n[8] = o.run_id == 0;
    v[9] = TimestampTzGetDatum(o.backend_start);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
  }
  return (Datum)0;
}

// privacy._worker_rows(): the retention launcher and each database's worker, as last reported.
Datum pgp_ops_worker_rows(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (!ops::g_shared) return (Datum)0;
  ops::Worker copy[ops::kWorkers];
  SpinLockAcquire(&ops::g_shared->mutex);
  memcpy(static_cast<void*>(copy), ops::g_shared->workers, sizeof copy);
  const int32 launcher = ops::g_shared->launcher_pid;
  SpinLockRelease(&ops::g_shared->mutex);
  static const char* const kStates[] = {"", "starting", "idle", "purging", "sealing", "stopped"};
  for (const ops::Worker& w : copy) {
    if (w.db[0] == '\0') continue;
    Datum v[10];
    bool n[10] = {};
    char db[NAMEDATALEN], err[ops::kText];
    strlcpy(db, w.db, sizeof db);
    memcpy(err, w.error, sizeof err);
    err[sizeof err - 1] = '\0';
    v[0] = CStringGetTextDatum(db);
    v[1] = Int32GetDatum(w.pid);
    n[1] = w.pid == 0;
    v[2] = CStringGetTextDatum(w.state >= 1 && w.state <= 5 ? kStates[w.state] : "unknown");
    v[3] = TimestampTzGetDatum(w.round_started);
    n[3] = w.round_started == 0;
    v[4] = TimestampTzGetDatum(w.round_ended);
    n[4] = w.round_ended == 0;
    v[5] = BoolGetDatum(w.ok == 1);
    n[5] = w.ok < 0;
    v[6] = Int64GetDatum(w.rows_deleted);
    v[7] = Int64GetDatum(w.sealed);
    ops::set_cstring_or_null(&v[8], &n[8], err);
    v[9] = Int32GetDatum(launcher);
    n[9] = launcher == 0;
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
  }
  return (Datum)0;
}

// privacy._progress(phase, target, done, total): the SQL bodies of an operation report their
// progress (export and erasure per table). Nothing happens outside a reported operation.
Datum pgp_ops_progress(PG_FUNCTION_ARGS) {
  ops::progress(PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0)),
                PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1)),
                PG_ARGISNULL(2) ? ops::done() : PG_GETARG_INT64(2), PG_ARGISNULL(3) ? ops::kKeepTotal : PG_GETARG_INT64(3));
  PG_RETURN_VOID();
}

// privacy._progress_purge(tbl, tenant, deleted, dropped): one purge batch's rows, from
// privacy._purge_record (the purge's one progress hook).
Datum pgp_ops_progress_purge(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0)) PG_RETURN_VOID();
  char target[ops::kText];
  const char* rel = DatumGetCString(DirectFunctionCall1(regclassout, PG_GETARG_DATUM(0)));
  if (PG_ARGISNULL(1))
    strlcpy(target, rel, sizeof target);
  else
    snprintf(target, sizeof target, "%s, tenant %s", rel, text_to_cstring(PG_GETARG_TEXT_PP(1)));
  ops::progress(nullptr, target, ops::done() + (PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2)), ops::kKeepTotal);
  PG_RETURN_VOID();
}

// privacy._backend_alive(pid, backend_start): whether that backend still runs. Reads the backend
// status array directly, so the answer does not depend on the caller's statistics privileges.
Datum pgp_ops_backend_alive(PG_FUNCTION_ARGS) {
  const int32 pid = PG_GETARG_INT32(0);
  const TimestampTz start = PG_GETARG_TIMESTAMPTZ(1);
  const int n = pgstat_fetch_stat_numbackends();
  for (int i = 1; i <= n; ++i) {
    LocalPgBackendStatus* local = pgstat_fetch_stat_local_beentry(i);
    if (local && local->backendStatus.st_procpid == pid && local->backendStatus.st_proc_start_timestamp == start)
      PG_RETURN_BOOL(true);
  }
  PG_RETURN_BOOL(false);
}

// privacy._count(name, n): adds to a named count of the current operation (its history row).
Datum pgp_ops_count(PG_FUNCTION_ARGS) {
  if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1)) ops::add_count(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_INT64(1));
  PG_RETURN_VOID();
}

// privacy._count_of(name): a named count of the current operation so far (0 without one).
Datum pgp_ops_count_of(PG_FUNCTION_ARGS) {
  PG_RETURN_INT64(PG_ARGISNULL(0) ? 0 : ops::count(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}
