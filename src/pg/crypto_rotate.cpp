// Master-key rotation across the cluster: privacy.rotate_master_key(old_keyring_file) re-wraps
// every wrapped secret (tenant data and pseudonym keys, subject keys, providers' API keys) from
// the old master key to the configured one, in every database of the cluster that has pg_privacy.
// Each database is served by a background worker connected to it (dynamic, one at a time), which
// commits a batch of keys at a time: an interrupted rotation (a crash, a cancel) is resumed by
// calling it again, since keys already under the new master key are only counted. The caller
// gets one row per database and kind of secret.
#include "core/common.hpp"
#include "core/crypto/keyring.hpp"
#include "core/crypto/wrap.hpp"
#include "pg/convert.hpp"
#include "pg/crypto_keys.hpp"
#include "pg/keyring.hpp"
#include "pg/ops_history.hpp"
#include "pg/owner_spi.hpp"

#include <array>
#include <string>

extern "C" {
#include "access/htup_details.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

PGP_FUNCTION(pgp_rewrap_batch)
PGP_FUNCTION(pgp_rewrap_provider_keys)
PGP_FUNCTION(pgp_rotate_master_key)

extern "C" {
PGDLLEXPORT void pgp_rotate_worker_main(Datum arg);
}

namespace cc = pgp::core::crypto;

namespace {

constexpr int kKinds = 4;  // 0 data keys, 1 subject keys, 2 pseudonym keys, 3 provider API keys
constexpr const char* kKindNames[kKinds] = {"tenant data key", "subject key", "pseudonym key", "provider API key"};
enum Count { kRewrapped, kCurrent, kUnreadable };

std::string hex_to_bytes(const char* hex) {
  std::string raw(strlen(hex) / 2, '\0');
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(nib(hex[2 * i]) << 4 | nib(hex[2 * i + 1]));
  return raw;
}

bytea* to_bytea(const std::string& s) {
  return pgp::pg_call([&] {
    bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + s.size()));
    SET_VARSIZE(b, VARHDRSZ + s.size());
    memcpy(VARDATA(b), s.data(), s.size());
    return b;
  });
}

void require_superuser() {
  if (!superuser())
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied to rotate the master key"),
                    errhint("Only a superuser may call privacy.rotate_master_key().")));
}

}  // namespace

// privacy._rewrap_batch(old_keyring_file, after_tenant, after_kind, after_ref, after_version,
// batch): up to `batch` rows of privacy.tenant_keys after the given key (NULL: from the first),
// locked, re-wrapped from the old master key to the configured one. Returns the last key seen
// (NULL when there was none) and, per kind (data, subject, pseudonym), how many were re-wrapped,
// were already current, and could not be unwrapped with the old key (a tenant secret gone, or
// wrapped under yet another master key). Superuser only.
Datum pgp_rewrap_batch(PG_FUNCTION_ARGS) {
  require_superuser();
  if (PG_ARGISNULL(0)) ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("old_keyring_file is required")));
  const char* old_path = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const bool from_start = PG_ARGISNULL(1);
  Datum after[4] = {from_start ? (Datum)0 : PG_GETARG_DATUM(1), from_start ? (Datum)0 : PG_GETARG_DATUM(2),
                    from_start ? (Datum)0 : PG_GETARG_DATUM(3), from_start ? (Datum)0 : PG_GETARG_DATUM(4)};
  const int32 batch = PG_ARGISNULL(5) ? 1000 : PG_GETARG_INT32(5);
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "privacy._rewrap_batch: return type must be a row type");
  int64 counts[3][3] = {};
  pgp::RawRows rows;
  {
    Oid types[5] = {TEXTOID, INT2OID, TEXTOID, INT4OID, INT4OID};
    Datum values[5] = {after[0], after[1], after[2], after[3], Int32GetDatum(batch)};
    const char nulls[5] = {from_start ? 'n' : ' ', from_start ? 'n' : ' ', from_start ? 'n' : ' ',
                           from_start ? 'n' : ' ', ' '};
    pgp::owner_execute(
        "SELECT tenant_id, kind, subject_ref, version, encode(wrapped, 'hex'), secret_id, master_key_id "
        "FROM privacy.tenant_keys WHERE wrapped IS NOT NULL "
        "AND ($1::text IS NULL OR (tenant_id, kind, subject_ref, version) > ($1, $2, $3, $4)) "
        "ORDER BY tenant_id, kind, subject_ref, version LIMIT $5 FOR UPDATE",
        5, types, values, nulls, false, &rows);
  }
  pgp::guarded([&] {
    const cc::SecretKey old_master = cc::read_keyring_file(old_path);
    const cc::SecretKey& new_master = pgp::master_key();
    const std::string new_id = cc::master_key_id(new_master);
    for (int r = 0; r < rows.nrows; ++r) {
      const std::string tenant = rows.at(r, 0);
      const int kind_no = atoi(rows.at(r, 1));
      const auto kind = static_cast<cc::KeyKind>(kind_no);
      const int k = kind_no == 1 ? 0 : kind_no == 2 ? 1 : 2;
      const std::string subject_ref = rows.at(r, 2);
      const auto version = static_cast<std::uint32_t>(strtoul(rows.at(r, 3), nullptr, 10));
      const char* secret_id = rows.at(r, 5);
      const char* mid = rows.at(r, 6);
      if (mid && new_id == mid) {
        ++counts[k][kCurrent];
        continue;
      }
      std::optional<cc::SecretKey> old_kek = pgp::tenant_kek(old_master, tenant, secret_id);
      std::optional<cc::SecretKey> new_kek = pgp::tenant_kek(new_master, tenant, secret_id);
      if (!old_kek || !new_kek) {  // the tenant's secret file is gone: nothing left to re-wrap
        ++counts[k][kUnreadable];
        continue;
      }
      std::string rewrapped;
      try {
        rewrapped = cc::rewrap_secret(
            *old_kek, *new_kek, hex_to_bytes(rows.at(r, 4)),
            cc::WrapLabel::data_key(kind, tenant, version, kind == cc::KeyKind::kSubject ? subject_ref : ""));
      } catch (const pgp::core::Error&) {  // PV707: not under the old master key either
        ++counts[k][kUnreadable];
        continue;
      }
      bytea* w = to_bytea(rewrapped);
      Oid types[6] = {BYTEAOID, TEXTOID, TEXTOID, INT2OID, TEXTOID, INT4OID};
      Datum values[6];
      pgp::pg_call([&] {
        values[0] = PointerGetDatum(w);
        values[1] = CStringGetTextDatum(new_id.c_str());
        values[2] = CStringGetTextDatum(tenant.c_str());
        values[3] = Int16GetDatum(static_cast<int16>(kind_no));
        values[4] = CStringGetTextDatum(subject_ref.c_str());
        values[5] = Int32GetDatum(static_cast<int32>(version));
      });
      pgp::pg_call([&] {
        pgp::owner_execute("UPDATE privacy.tenant_keys SET wrapped = $1, master_key_id = $2 "
                           "WHERE tenant_id = $3 AND kind = $4 AND subject_ref = $5 AND version = $6",
                           6, types, values, nullptr, false, nullptr);
      });
      ++counts[k][kRewrapped];
    }
  });
  Datum values[13];
  bool nulls[13] = {};
  if (rows.nrows == 0) {
    nulls[0] = nulls[1] = nulls[2] = nulls[3] = true;
  } else {
    const int last = rows.nrows - 1;
    values[0] = CStringGetTextDatum(rows.at(last, 0));
    values[1] = Int16GetDatum(static_cast<int16>(atoi(rows.at(last, 1))));
    values[2] = CStringGetTextDatum(rows.at(last, 2));
    values[3] = Int32GetDatum(atoi(rows.at(last, 3)));
  }
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c) values[4 + 3 * k + c] = Int64GetDatum(counts[k][c]);
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

// privacy._rewrap_provider_keys(old_keyring_file): every provider's API key re-wrapped from the
// old master key to the configured one (rewrapped, already_current, unreadable). Superuser only.
Datum pgp_rewrap_provider_keys(PG_FUNCTION_ARGS) {
  require_superuser();
  if (PG_ARGISNULL(0)) ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("old_keyring_file is required")));
  const char* old_path = text_to_cstring(PG_GETARG_TEXT_PP(0));
  TupleDesc tupdesc;
  if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
    elog(ERROR, "privacy._rewrap_provider_keys: return type must be a row type");
  pgp::RawRows rows;
  pgp::owner_execute("SELECT name, encode(api_key_wrapped, 'hex'), master_key_id FROM privacy.providers "
                     "WHERE api_key_wrapped IS NOT NULL ORDER BY name FOR UPDATE",
                     0, nullptr, nullptr, nullptr, false, &rows);
  int64 counts[3] = {};
  pgp::guarded([&] {
    const cc::SecretKey old_master = cc::read_keyring_file(old_path);
    const cc::SecretKey& new_master = pgp::master_key();
    const std::string new_id = cc::master_key_id(new_master);
    for (int r = 0; r < rows.nrows; ++r) {
      const std::string name = rows.at(r, 0);
      const char* mid = rows.at(r, 2);
      if (mid && new_id == mid) {
        ++counts[kCurrent];
        continue;
      }
      std::string rewrapped;
      try {
        rewrapped = cc::rewrap_secret(old_master, new_master, hex_to_bytes(rows.at(r, 1)),
                                      cc::WrapLabel::provider_secret(name));
      } catch (const pgp::core::Error&) {
        ++counts[kUnreadable];
        continue;
      }
      bytea* w = to_bytea(rewrapped);
      Oid types[3] = {BYTEAOID, TEXTOID, TEXTOID};
      Datum values[3];
      pgp::pg_call([&] {
        values[0] = PointerGetDatum(w);
        values[1] = CStringGetTextDatum(new_id.c_str());
        values[2] = CStringGetTextDatum(name.c_str());
      });
      pgp::pg_call([&] {
        pgp::owner_execute("UPDATE privacy.providers SET api_key_wrapped = $1, master_key_id = $2 WHERE name = $3",
                           3, types, values, nullptr, false, nullptr);
      });
      ++counts[kRewrapped];
    }
  });
  Datum values[3] = {Int64GetDatum(counts[0]), Int64GetDatum(counts[1]), Int64GetDatum(counts[2])};
  bool nulls[3] = {};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

// --- one database: the worker ------------------------------------------------------------------

namespace {

// What the caller hands to a database's worker and reads back, in a DSM segment.
struct RotateShared {
  Oid dbid;
  Oid userid;
  int32 batch;
  char old_path[MAXPGPATH];
  int32 outcome;  // 0 not run, 1 no pg_privacy, 2 done, 3 failed
  char error[256];
  int64 counts[kKinds][3];
};

// Runs `sql` in its own transaction (the worker's); returns the first row's columns as text.
pgp::RawRows in_transaction(const char* sql, int nargs, Oid* types, Datum* values, const char* nulls) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
  PushActiveSnapshot(GetTransactionSnapshot());
  pgstat_report_activity(STATE_RUNNING, sql);
  if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0) < 0)
    elog(ERROR, "pg_privacy: a rotation statement failed");
  pgp::RawRows rows;
  rows.nrows = static_cast<int>(SPI_processed);
  rows.ncols = SPI_tuptable ? SPI_tuptable->tupdesc->natts : 0;
  rows.cells = static_cast<char**>(MemoryContextAlloc(TopMemoryContext, sizeof(char*) * (rows.nrows * rows.ncols + 1)));
  for (int r = 0; r < rows.nrows; ++r)
    for (int c = 0; c < rows.ncols; ++c) {
      char* v = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, c + 1);
      rows.cells[r * rows.ncols + c] = v ? MemoryContextStrdup(TopMemoryContext, v) : nullptr;
    }
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  pgstat_report_activity(STATE_IDLE, nullptr);
  return rows;
}

int64 num(const pgp::RawRows& r, int c) { return r.at(0, c) ? strtoll(r.at(0, c), nullptr, 10) : 0; }

int64 g_rotate_run = 0;  // this worker's run in privacy.history, for the error path

void rotate_here(RotateShared* rs) {
  pgp::RawRows has = in_transaction(
      "SELECT to_regprocedure('privacy._rewrap_batch(text,text,smallint,text,integer,integer)') IS NOT NULL", 0,
      nullptr, nullptr, nullptr);
  if (has.nrows != 1 || strcmp(has.at(0, 0), "t") != 0) {
    rs->outcome = 1;
    return;
  }
  StartTransactionCommand();
  pgp::ops::begin(pgp::ops::Op::Rotate, true, "keys");
  CommitTransactionCommand();
  pgp::RawRows total = in_transaction("SELECT count(*) FROM privacy.tenant_keys WHERE wrapped IS NOT NULL", 0,
                                      nullptr, nullptr, nullptr);
  pgp::ops::progress("re-wrapping tenant and subject keys", nullptr, 0, num(total, 0));
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  const int64 run = pgp::ops::run_start(pgp::ops::Op::Rotate, "{}");
  g_rotate_run = run;
  PopActiveSnapshot();
  CommitTransactionCommand();
  Datum path = CStringGetTextDatum(rs->old_path);
  const char* after[4] = {nullptr, nullptr, nullptr, nullptr};
  int64 done = 0;
  for (;;) {
    Oid types[6] = {TEXTOID, TEXTOID, INT2OID, TEXTOID, INT4OID, INT4OID};
    Datum values[6] = {path, 0, 0, 0, 0, Int32GetDatum(rs->batch)};
    char nulls[6] = {' ', 'n', 'n', 'n', 'n', ' '};
    if (after[0]) {
      values[1] = CStringGetTextDatum(after[0]);
      values[2] = Int16GetDatum(static_cast<int16>(atoi(after[1])));
      values[3] = CStringGetTextDatum(after[2]);
      values[4] = Int32GetDatum(atoi(after[3]));
      nulls[1] = nulls[2] = nulls[3] = nulls[4] = ' ';
    }
    pgp::RawRows b = in_transaction("SELECT * FROM privacy._rewrap_batch($1, $2, $3, $4, $5, $6)", 6, types, values,
                                    nulls);
    if (b.nrows != 1 || !b.at(0, 0)) break;
    for (int i = 0; i < 4; ++i) after[i] = b.at(0, i);
    for (int k = 0; k < 3; ++k)
      for (int c = 0; c < 3; ++c) {
        rs->counts[k][c] += num(b, 4 + 3 * k + c);
        done += num(b, 4 + 3 * k + c);
      }
    pgp::ops::progress(nullptr, after[0], done, pgp::ops::kKeepTotal);
    CHECK_FOR_INTERRUPTS();
  }
  pgp::ops::progress("re-wrapping provider API keys", nullptr, done, pgp::ops::kKeepTotal);
  Oid ptype = TEXTOID;
  pgp::RawRows p = in_transaction("SELECT * FROM privacy._rewrap_provider_keys($1)", 1, &ptype, &path, nullptr);
  for (int c = 0; c < 3; ++c) rs->counts[3][c] += num(p, c);
  char counts[512];
  snprintf(counts, sizeof counts,
           "{\"rewrapped\": %lld, \"already_current\": %lld, \"unreadable\": %lld, \"provider_keys_rewrapped\": %lld}",
           static_cast<long long>(rs->counts[0][0] + rs->counts[1][0] + rs->counts[2][0] + rs->counts[3][0]),
           static_cast<long long>(rs->counts[0][1] + rs->counts[1][1] + rs->counts[2][1] + rs->counts[3][1]),
           static_cast<long long>(rs->counts[0][2] + rs->counts[1][2] + rs->counts[2][2] + rs->counts[3][2]),
           static_cast<long long>(rs->counts[3][0]));
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  pgp::ops::run_end(run, "done", counts, nullptr);
  PopActiveSnapshot();
  CommitTransactionCommand();
  g_rotate_run = 0;
  pgp::ops::end();
  rs->outcome = 2;
}

}  // namespace

// A database's rotation worker: connects as the calling superuser and rotates, recording its run
// in that database's history. An error is handed back to the caller (its message only).
void pgp_rotate_worker_main(Datum arg) {
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  dsm_segment* seg = dsm_attach(DatumGetUInt32(arg));
  if (!seg) proc_exit(1);
  RotateShared* rs = static_cast<RotateShared*>(dsm_segment_address(seg));
  BackgroundWorkerInitializeConnectionByOid(rs->dbid, rs->userid, 0);
  PG_TRY();
  { rotate_here(rs); }
  PG_CATCH();
  {
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    snprintf(rs->error, sizeof rs->error, "%s: %s", unpack_sql_state(edata->sqlerrcode), edata->message);
    rs->outcome = 3;
    pgp::ops::end();
    if (g_rotate_run != 0) {  // closed as failed; if even that fails, the next run's flush closes it
      StartTransactionCommand();
      PushActiveSnapshot(GetTransactionSnapshot());
      pgp::ops::run_end(g_rotate_run, edata->sqlerrcode == ERRCODE_QUERY_CANCELED ? "cancelled" : "failed", nullptr,
                        rs->error);
      PopActiveSnapshot();
      CommitTransactionCommand();
    }
  }
  PG_END_TRY();
  dsm_detach(seg);
  proc_exit(0);
}

// privacy.rotate_master_key(old_keyring_file, batch_size): every database, one at a time.
Datum pgp_rotate_master_key(PG_FUNCTION_ARGS) {
  require_superuser();
  if (PG_ARGISNULL(0)) ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("old_keyring_file is required")));
  const char* old_path = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const int32 batch = PG_ARGISNULL(1) ? 1000 : PG_GETARG_INT32(1);
  if (batch < 1 || batch > 100000)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("batch_size must be between 1 and 100000")));
  if (strlen(old_path) >= MAXPGPATH) ereport(ERROR, (errcode(ERRCODE_NAME_TOO_LONG), errmsg("old_keyring_file is too long")));
  // Both keys must be readable before any database is touched (PV705, PV706).
  pgp::guarded([&] {
    (void)cc::read_keyring_file(old_path);
    (void)pgp::master_key();
  });
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  pgp::RawRows dbs;
  pgp::owner_execute("SELECT oid, datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate "
                     "ORDER BY datname",
                     0, nullptr, nullptr, nullptr, true, &dbs);
  int64 totals[3] = {};
  int failed = 0;
  for (int d = 0; d < dbs.nrows; ++d) {
    dsm_segment* seg = dsm_create(sizeof(RotateShared), 0);
    RotateShared* rs = static_cast<RotateShared*>(dsm_segment_address(seg));
    memset(rs, 0, sizeof *rs);
    rs->dbid = static_cast<Oid>(strtoul(dbs.at(d, 0), nullptr, 10));
    rs->userid = GetUserId();
    rs->batch = batch;
    strlcpy(rs->old_path, old_path, sizeof rs->old_path);
    BackgroundWorker w;
    memset(&w, 0, sizeof w);
    w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    w.bgw_start_time = BgWorkerStart_RecoveryFinished;
    w.bgw_restart_time = BGW_NEVER_RESTART;
    strlcpy(w.bgw_library_name, "pg_privacy", BGW_MAXLEN);
    strlcpy(w.bgw_function_name, "pgp_rotate_worker_main", BGW_MAXLEN);
    snprintf(w.bgw_name, BGW_MAXLEN, "pg_privacy master key rotation for database %s", dbs.at(d, 1));
    strlcpy(w.bgw_type, "pg_privacy master key rotation", BGW_MAXLEN);
    w.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
    w.bgw_notify_pid = MyProcPid;
    BackgroundWorkerHandle* handle;
    if (!RegisterDynamicBackgroundWorker(&w, &handle))
      ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                      errmsg("could not start a background worker to rotate the master key"),
                      errhint("pg_privacy: raise max_worker_processes; the databases rotated so far keep their "
                              "new wrapping, and calling privacy.rotate_master_key() again goes on.")));
    // Cancelled while waiting (statement_timeout, pg_cancel_backend): the worker is stopped too;
    // what it committed stays, and a new call goes on from there.
    PG_TRY();
    {
      pid_t pid;
      if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_STARTED)
        (void)WaitForBackgroundWorkerShutdown(handle);
    }
    PG_CATCH();
    {
      TerminateBackgroundWorker(handle);
      PG_RE_THROW();
    }
    PG_END_TRY();
    if (rs->outcome == 1) {
      dsm_detach(seg);
      continue;  // no pg_privacy in that database
    }
    if (rs->outcome == 0) strlcpy(rs->error, "the rotation worker stopped before it finished", sizeof rs->error);
    const char* outcome = rs->outcome == 2 ? "done" : "failed";
    if (rs->outcome != 2) ++failed;
    for (int k = 0; k < kKinds; ++k) {
      Datum v[7] = {DirectFunctionCall1(namein, CStringGetDatum(dbs.at(d, 1))), CStringGetTextDatum(kKindNames[k]),
                    Int64GetDatum(rs->counts[k][0]), Int64GetDatum(rs->counts[k][1]), Int64GetDatum(rs->counts[k][2]),
                    CStringGetTextDatum(outcome), rs->error[0] ? CStringGetTextDatum(rs->error) : (Datum)0};
      bool n[7] = {false, false, false, false, false, false, rs->error[0] == '\0'};
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
      for (int c = 0; c < 3; ++c) totals[c] += rs->counts[k][c];
    }
    dsm_detach(seg);
  }
  ereport(NOTICE, (errmsg("privacy.rotate_master_key: %lld keys re-wrapped, %lld already under the configured "
                          "master key, %lld unreadable",
                          static_cast<long long>(totals[0]), static_cast<long long>(totals[1]),
                          static_cast<long long>(totals[2]))));
  if (failed > 0)
    ereport(WARNING, (errmsg("the rotation failed in %d database(s)", failed),
                      errhint("pg_privacy: the error of each is in the result; call privacy.rotate_master_key() "
                              "again to go on.")));
  return (Datum)0;
}
