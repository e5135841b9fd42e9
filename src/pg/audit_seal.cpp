// privacy.audit_seal() moves committed records from the queue into the hash chain of
// privacy.audit_log; privacy.audit_purge() removes the oldest sealed prefix and leaves a
// checkpoint from which verification goes on. Both run as the extension owner, one at a time.
#include "pg/audit.hpp"
#include "pg/convert.hpp"
#include "pg/ops_history.hpp"

#include <array>
#include <string>
#include <vector>

extern "C" {
#include "access/htup_details.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"
}

PGP_FUNCTION(pgp_audit_seal)
PGP_FUNCTION(pgp_audit_purge)

namespace ca = pgp::core::audit;

namespace {

// The record columns, moved from the queue and copied into the log as they are.
std::string column_list() {
  std::string out;
  for (const char* c : pgp::audit::kRecordColumns) out += std::string(out.empty() ? "" : ", ") + c;
  return out;
}
const std::string kMoveQuery = "WITH moved AS (DELETE FROM privacy.audit_queue RETURNING *) SELECT " + column_list() +
                               " FROM moved ORDER BY 1";
constexpr int kTyped = pgp::audit::kRecordCount;
constexpr int kParams = 1 + kTyped + 2;  // id, the record columns, prev_hash, hash

std::string insert_query() {
  std::string q = "INSERT INTO privacy.audit_log (id, " + column_list() + ", prev_hash, hash) VALUES ($1";
  for (int i = 2; i <= kParams; ++i) q += ", $" + std::to_string(i);
  return q + ")";
}
const std::string kInsert = insert_query();
const std::array<Oid, kParams> kInsertTypes = [] {
  std::array<Oid, kParams> t{};
  t[0] = INT8OID;
  for (int c = 0; c < kTyped; ++c) t[1 + c] = pgp::audit::kRecordTypes[c];
  t[kParams - 2] = t[kParams - 1] = BYTEAOID;
  return t;
}();

Datum hash_datum(const ca::Hash& h) {
  bytea* b = static_cast<bytea*>(pgp::pg_call([] { return palloc(VARHDRSZ + 32); }));
  SET_VARSIZE(b, VARHDRSZ + 32);
  memcpy(VARDATA(b), h.data(), h.size());
  return PointerGetDatum(b);
}

// The head the next record chains from: the last sealed record, else the latest checkpoint.
pgp::audit::ChainStart head() {
  pgp::pg_call([] { SPI_execute("SELECT id, hash FROM privacy.audit_log ORDER BY id DESC LIMIT 1", false, 1); });
  if (SPI_processed == 0) return pgp::audit::chain_start();
  pgp::audit::ChainStart h;
  bool null;
  h.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null));
  const std::string_view b = pgp::audit::varlena_view(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &null));
  if (b.size() == h.hash.size()) memcpy(h.hash.data(), b.data(), h.hash.size());
  return h;
}

std::int64_t seal() {
  using pgp::pg_call;
  pg_call(pgp::audit::lock_chain);
  pgp::audit::ChainStart h = head();
  SPIPlanPtr insert = pg_call([] { return SPI_prepare(kInsert.c_str(), kParams, const_cast<Oid*>(kInsertTypes.data())); });
  pgp::audit::set_pass(pgp::audit::Pass::Seal, true);
  // One statement, one snapshot: exactly the committed rows it deletes are sealed; rows that
  // commit meanwhile stay queued for the next call. The result spills to disk past work_mem.
  Portal portal = pg_call([] { return SPI_cursor_open_with_args(nullptr, kMoveQuery.c_str(), 0, nullptr, nullptr,
                                                                nullptr, false, 0); });
  MemoryContext batch_cxt = pg_call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_privacy audit seal batch", ALLOCSET_DEFAULT_SIZES);
  });
  std::int64_t sealed = 0;
  std::string encoded;
  pgp::audit::RecordEncoder encoder(pgp::audit::hmac_key_view(pg_call([] { return pgp::audit::hmac_key(); })));
  Datum row[kTyped];
  bool row_nulls[kTyped];
  for (;;) {
    pg_call([&] { SPI_cursor_fetch(portal, true, pgp::audit::kBatch); });
    SPITupleTable* tt = SPI_tuptable;
    const std::uint64_t n = SPI_processed;
    if (n == 0) break;
    MemoryContext old = CurrentMemoryContext;
    for (std::uint64_t i = 0; i < n; ++i) {
      MemoryContextSwitchTo(batch_cxt);  // SPI_execute_plan leaves SPI's own context current
      // One pass over the tuple: the record columns go to the INSERT as they are, and into the
      // hash through the encoder.
      heap_deform_tuple(tt->vals[i], tt->tupdesc, row, row_nulls);
      Datum values[kParams];
      char nulls[kParams];
      for (int c = 0; c < kTyped; ++c) {
        values[1 + c] = row[c];
        nulls[1 + c] = row_nulls[c] ? 'n' : ' ';
      }
      const std::int64_t id = ++h.id;
      encoder.encode(id, row, row_nulls, encoded);
      const ca::Hash hash = ca::chain_hash(h.hash, encoded);
      values[0] = Int64GetDatum(id);
      nulls[0] = ' ';
      values[kParams - 2] = hash_datum(h.hash);
      values[kParams - 1] = hash_datum(hash);
      nulls[kParams - 2] = nulls[kParams - 1] = ' ';
      pg_call([&] {
        if (SPI_execute_plan(insert, values, nulls, false, 0) != SPI_OK_INSERT)
          elog(ERROR, "pg_privacy: could not append to the audit log");
      });
      h.hash = hash;
      ++sealed;
    }
    MemoryContextSwitchTo(old);
    pgp::ops::add_done(static_cast<std::int64_t>(n));  // privacy.progress
    pg_call([&] {
      SPI_freetuptable(tt);
      MemoryContextReset(batch_cxt);
    });
  }
  pg_call([&] { SPI_cursor_close(portal); });
  pgp::audit::set_pass(pgp::audit::Pass::Seal, false);
  pg_call(pgp::audit::end_chain);
  return sealed;
}

}  // namespace

// privacy.audit_seal() RETURNS bigint: the number of records sealed. Sealing order is commit order
// across calls (a record is sealed by the first call whose snapshot sees it committed) and qid
// order within one call.
Datum pgp_audit_seal(PG_FUNCTION_ARGS) {
  pgp::audit::require_read_committed("privacy.audit_seal()");
  const bool reported = pgp::ops::begin(pgp::ops::Op::Seal, false, "records");
  std::int64_t sealed = 0;
  pgp::as_owner([&] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
    sealed = pgp::guarded([&] { return seal(); });
    // A seal that found nothing leaves no history row (the worker and pg_cron call it every
    // minute); one that sealed records, or failed, does.
    if (reported && sealed > 0) {
      char counts[64];
      snprintf(counts, sizeof counts, "{\"records\": %lld}", static_cast<long long>(sealed));
      pgp::ops::run_record(pgp::ops::Op::Seal, counts);
    }
    SPI_finish();
  });
  if (reported) pgp::ops::end();
  if (reported && sealed > 0)
    ereport(NOTICE, (errmsg("privacy.audit_seal: %lld records sealed into the chain", static_cast<long long>(sealed))));
  PG_RETURN_INT64(sealed);
}

namespace {

std::int64_t purge(Datum older_than, bool older_than_null) {
  using pgp::pg_call;
  pg_call(pgp::audit::lock_chain);
  if (older_than_null) {
    pg_call([] { SPI_execute("SELECT retention FROM privacy.audit_settings", false, 1); });
    bool null = true;
    if (SPI_processed == 1) older_than = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null);
    if (null)
      throw pgp::core::Error("PV304", "the audit retention setting is missing",
                             "privacy.audit_settings must hold one row.", "");
  }
  // The prefix in id order up to the first record young enough to keep.
  Oid type = INTERVALOID;
  pg_call([&] {
    SPI_execute_with_args(
        "SELECT id FROM privacy.audit_log WHERE id < coalesce((SELECT min(id) FROM privacy.audit_log "
        "WHERE at >= now() - $1), (SELECT max(id) + 1 FROM privacy.audit_log)) ORDER BY id DESC LIMIT 1",
        1, &type, &older_than, nullptr, false, 1);
  });
  if (SPI_processed == 0) {
    pg_call(pgp::audit::end_chain);
    return 0;
  }
  bool null;
  const std::int64_t last = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null));
  // A checkpoint vouches for everything before it: refuse to purge a prefix that does not verify.
  const ca::VerifyResult v = pgp::audit::verify_chain(std::nullopt, last, std::nullopt, std::nullopt);
  if (!v.ok)
    throw pgp::core::Error("PV303", "the audit records to purge do not verify",
                           "Record " + std::to_string(v.first_bad_id.value_or(0)) + ": " + v.reason,
                           "Investigate with privacy.audit_verify() before purging.");
  // The checkpoint: the last purged record's id and hash (verified above), in this transaction.
  pgp::audit::set_pass(pgp::audit::Pass::Purge, true);
  Oid types[2] = {INT8OID, INTERVALOID};
  Datum args[2] = {Int64GetDatum(last), older_than};
  pg_call([&] {
    SPI_execute_with_args("INSERT INTO privacy.audit_checkpoints (id, hash, purged) "
                          "SELECT id, hash, (SELECT count(*) FROM privacy.audit_log WHERE id <= $1) "
                          "FROM privacy.audit_log WHERE id = $1",
                          1, types, args, nullptr, false, 0);
    SPI_execute_with_args("DELETE FROM privacy.audit_log WHERE id <= $1", 1, types, args, nullptr, false, 0);
  });
  const std::int64_t purged = static_cast<std::int64_t>(SPI_processed);
  pgp::audit::set_pass(pgp::audit::Pass::Purge, false);
  // The purge is itself a record (counts only), sealed with the next call of the sealer.
  pg_call([&] {
    SPI_execute_with_args("SELECT privacy._audit_record('retention', 'PURGE', NULL, jsonb_build_object("
                          "'purged', (SELECT purged FROM privacy.audit_checkpoints WHERE id = $1), "
                          "'checkpoint_id', $1, 'older_than_seconds', extract(epoch FROM $2)::bigint))",
                          2, types, args, nullptr, false, 0);
  });
  pg_call(pgp::audit::end_chain);
  return purged;
}

}  // namespace

// privacy.audit_purge(older_than interval DEFAULT NULL) RETURNS bigint: removes the sealed
// records older than `older_than` (the retention setting when NULL), a prefix in id order only.
Datum pgp_audit_purge(PG_FUNCTION_ARGS) {
  pgp::audit::require_read_committed("privacy.audit_purge()");
  const bool null = PG_ARGISNULL(0);
  const Datum older_than = null ? (Datum)0 : PG_GETARG_DATUM(0);
  if (!null) {
    Interval zero{};
    if (DatumGetInt32(DirectFunctionCall2(interval_cmp, older_than, PointerGetDatum(&zero))) < 0)
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("audit retention cannot be negative"),
                      errhint("Pass an interval such as '90 days'.")));
  }
  const bool reported = pgp::ops::begin(pgp::ops::Op::AuditPurge, false, "records");
  std::int64_t purged = 0;
  pgp::as_owner([&] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
    purged = pgp::guarded([&] { return purge(older_than, null); });
    if (reported && purged > 0) {
      char counts[64];
      snprintf(counts, sizeof counts, "{\"records\": %lld}", static_cast<long long>(purged));
      pgp::ops::run_record(pgp::ops::Op::AuditPurge, counts);
    }
    SPI_finish();
  });
  if (reported) pgp::ops::end();
  if (reported && purged > 0)
    ereport(NOTICE, (errmsg("privacy.audit_purge: %lld sealed records purged, a checkpoint recorded",
                            static_cast<long long>(purged))));
  PG_RETURN_INT64(purged);
}
