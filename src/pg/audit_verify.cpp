// privacy.audit_verify(): reads the sealed log in id order, directly (no SPI cursor, no projection:
// the copy of every row cost more than its hash), and feeds the core Verifier (changed, deleted,
// inserted or reordered records, and a cut-off or rewritten tail against an exported head).
//
// Whole-log verification reads the heap in physical order first: the sealer appends records in id
// order, so the heap usually is in id order, and a sequential scan costs one buffer pin per page
// where the primary-key scan costs an index probe and a pin per record. Records are fed in id
// order all the same: one read ahead of its turn waits (as its hashes) until its turn comes. One
// read after its turn, too many waiting, or any failure at all sends the verifier back to the
// start through the primary key, whose result is the one returned. So both paths check the same
// records in the same order.
#include "pg/audit.hpp"
#include "pg/convert.hpp"
#include "pg/owner_spi.hpp"

#include <limits>
#include <map>
#include <string>

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
}

PGP_FUNCTION(pgp_audit_verify)

namespace ca = pgp::core::audit;

namespace pgp::audit {

namespace {

// Records the heap may hold ahead of their turn before verification gives its order up.
constexpr std::size_t kMaxEarly = 65536;

ca::Hash hash_of(Datum d) {
  ca::Hash h{};
  const std::string_view b = varlena_view(d);
  if (b.size() == h.size()) memcpy(h.data(), b.data(), h.size());
  return h;  // a malformed stored hash stays all-zero and fails the comparison
}

// The log read with the active snapshot (the one the SPI queries of the verifier use too): in id
// order through its primary key, or in physical order while that is id order. Plain C state:
// opened and advanced inside pg_call().
struct LogScan {
  bool physical = false;       // the whole log in heap order (no id range)
  bool out_of_order = false;  // physical: a record the heap's order cannot place
  Relation heap = nullptr;
  Relation index = nullptr;
  IndexScanDesc scan = nullptr;
  TableScanDesc heap_scan = nullptr;
  TupleTableSlot* slot = nullptr;
  AttrNumber id = 0, prev_hash = 0, hash = 0;
  AttrNumber record[kRecordCount] = {};
  std::uint64_t read = 0;
};

AttrNumber column(TupleDesc desc, const char* name, Oid type) {
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute a = TupleDescAttr(desc, i);
    if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0 && a->atttypid == type) return a->attnum;
  }
  ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_privacy's audit log has an unexpected shape"),
                  errhint("Update the extension: ALTER EXTENSION pg_privacy UPDATE.")));
  return 0;
}

void scan_open(LogScan& s, std::int64_t lo, std::int64_t hi) {
  s.heap = table_open(privacy_relid("audit_log"), AccessShareLock);
  const Oid pkey = RelationGetPrimaryKeyIndex(s.heap);
  if (!OidIsValid(pkey))
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_privacy's audit log has no primary key")));
  s.index = index_open(pkey, AccessShareLock);
  TupleDesc desc = RelationGetDescr(s.heap);
  s.id = column(desc, "id", INT8OID);
  s.prev_hash = column(desc, "prev_hash", BYTEAOID);
  s.hash = column(desc, "hash", BYTEAOID);
  for (int c = 0; c < kRecordCount; ++c) s.record[c] = column(desc, kRecordColumns[c], kRecordTypes[c]);
  if (s.index->rd_index->indnatts != 1 || s.index->rd_index->indkey.values[0] != s.id)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_privacy's audit log has an unexpected shape")));
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(lo));
  ScanKeyInit(&keys[1], 1, BTLessEqualStrategyNumber, F_INT8LE, Int64GetDatum(hi));
  s.slot = table_slot_create(s.heap, nullptr);
  if (s.physical) {
    // A ring of buffers (the log is larger than shared_buffers), and no synchronized scan: one
    // that joined another scan midway would start in the middle of the chain.
    s.heap_scan = table_beginscan_strat(s.heap, GetActiveSnapshot(), 0, nullptr, true, false);
    return;
  }
  s.scan = index_beginscan(s.heap, s.index, GetActiveSnapshot(), 2, 0);
  index_rescan(s.scan, keys, 2, nullptr, 0);
}

// The next record's columns into values/nulls (in the order id, prev_hash, hash, then
// kRecordColumns); false at the end.
bool scan_next(LogScan& s, Datum* values, bool* nulls) {
  if ((++s.read & 1023) == 0) CHECK_FOR_INTERRUPTS();
  if (s.physical) {
    if (!table_scan_getnextslot(s.heap_scan, ForwardScanDirection, s.slot)) return false;
    slot_getallattrs(s.slot);
    if (s.slot->tts_isnull[s.id - 1]) {  // cannot be (NOT NULL): let the primary key decide
      s.out_of_order = true;
      return false;
    }
  } else {
    if (!index_getnext_slot(s.scan, ForwardScanDirection, s.slot)) return false;
    slot_getallattrs(s.slot);
  }
  auto take = [&](int i, AttrNumber a) {
    values[i] = s.slot->tts_values[a - 1];
    nulls[i] = s.slot->tts_isnull[a - 1];
  };
  take(0, s.id);
  take(1, s.prev_hash);
  take(2, s.hash);
  for (int c = 0; c < kRecordCount; ++c) take(3 + c, s.record[c]);
  return true;
}

void scan_close(LogScan& s) {
  if (s.heap_scan) table_endscan(s.heap_scan);
  if (s.scan) index_endscan(s.scan);
  ExecDropSingleTupleTableSlot(s.slot);
  index_close(s.index, AccessShareLock);
  table_close(s.heap, AccessShareLock);
}

}  // namespace

std::string_view varlena_view(Datum d) {
  struct varlena* v = reinterpret_cast<struct varlena*>(DatumGetPointer(d));
  if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v)) v = pg_call([&] { return pg_detoast_datum_packed(v); });
  return {VARDATA_ANY(v), static_cast<std::size_t>(VARSIZE_ANY_EXHDR(v))};
}

ChainStart chain_start() {
  ChainStart s;
  pg_call([] { SPI_execute("SELECT id, hash FROM privacy.audit_checkpoints ORDER BY id DESC LIMIT 1", true, 1); });
  if (SPI_processed == 1) {
    bool null;
    s.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null));
    s.hash = hash_of(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &null));
  }
  return s;
}

ca::VerifyResult verify_chain(std::optional<std::int64_t> from_id, std::optional<std::int64_t> to_id,
                              std::optional<std::int64_t> head_id, const std::optional<ca::Hash>& head_hash) {
  const ChainStart start = chain_start();
  std::int64_t first = start.id + 1;
  ca::Hash prev = start.hash;
  if (from_id && *from_id > first) {
    first = *from_id;
    Oid type = INT8OID;
    Datum arg = Int64GetDatum(first);
    pg_call([&] {
      SPI_execute_with_args("SELECT prev_hash FROM privacy.audit_log WHERE id = $1", 1, &type, &arg, nullptr, true, 1);
    });
    bool null = true;
    if (SPI_processed == 1) {
      Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null);
      if (!null) prev = hash_of(d);
    }
  }
  RecordEncoder encoder(hmac_key_view(pg_call([] { return hmac_key(); })));

  // Without a from_id every row is read, even those below the start: a record forged there is
  // reported as out of order.
  const std::int64_t lo = from_id ? first : std::numeric_limits<std::int64_t>::min();
  const std::int64_t hi = to_id ? *to_id : std::numeric_limits<std::int64_t>::max();
  MemoryContext record_cxt = pg_call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_privacy audit verify record", ALLOCSET_DEFAULT_SIZES);
  });
  constexpr int kColumns = 3 + kRecordCount;
  Datum values[kColumns];
  bool nulls[kColumns];
  std::string encoded;
  const MemoryContext outer = CurrentMemoryContext;
  std::optional<std::int64_t> heap_anomaly;  // an id the heap-order pass read a second time or below the start
  // One pass over the log; `physical`: in heap order, given up (false) once that is not id order.
  auto pass = [&](bool physical, ca::VerifyResult& result) {
    ca::Verifier verifier(prev, first);
    if (head_id && head_hash) verifier.expect_head(*head_id, *head_hash);
    LogScan scan;
    scan.physical = physical;
    pg_call([&] { scan_open(scan, lo, hi); });
    ca::StoredRecord rec;
    // Physical order: a record read before its turn waits here (a small record can land in
    // free space of an early page), its own hash checked already, so that only its hashes wait
    // (about 100 bytes, whatever the record's size); a record read after its turn, or more than
    // kMaxEarly waiting, gives the heap's order up.
    struct Early {
      ca::StoredRecord rec;
      bool content_ok;
    };
    std::map<std::int64_t, Early> early;
    std::int64_t next = first;
    bool ok = true;
    // The scan allocates its own state as it goes (in the outer context); what one record's
    // conversions allocate goes into record_cxt, reset after each record.
    while (ok) {
      if (!pg_call([&] { return scan_next(scan, values, nulls); })) break;
      rec.id = DatumGetInt64(values[0]);
      MemoryContextSwitchTo(record_cxt);
      rec.prev_hash = nulls[1] ? ca::Hash{} : hash_of(values[1]);
      rec.hash = nulls[2] ? ca::Hash{} : hash_of(values[2]);
      encoder.encode(rec.id, values + 3, nulls + 3, encoded);
      MemoryContextSwitchTo(outer);
      pg_call([&] { MemoryContextReset(record_cxt); });
      if (!physical || rec.id == next) {
        ok = verifier.feed_encoded(rec, encoded);
        next = rec.id + 1;
        for (auto it = early.begin(); ok && it != early.end() && it->first == next; it = early.erase(it)) {
          ok = verifier.feed_checked(it->second.rec, it->second.content_ok);
          next = it->first + 1;
        }
      } else if (rec.id > next && early.size() < kMaxEarly && !early.contains(rec.id)) {
        early.emplace(rec.id, Early{rec, ca::chain_hash(rec.prev_hash, encoded) == rec.hash});
      } else {
        // Every id from the start to `next` was read once already: one below it, or one read
        // twice, is a record the heap holds a second time or before the chain's start.
        if (rec.id < next || early.contains(rec.id)) heap_anomaly = rec.id;
        scan.out_of_order = true;
        break;
      }
    }
    if (!early.empty()) scan.out_of_order = true;
    pg_call([&] { scan_close(scan); });
    if (scan.out_of_order) return false;
    result = verifier.finish(head_id, head_hash);
    return true;
  };
  ca::VerifyResult result;
  // The heap's order is trusted only for a whole log that verifies: a failure in that order may
  // be a record stored out of place (the primary key's order is the chain's), so it is checked
  // again through the key, and that result stands. Unless the key finds nothing wrong where the
  // heap held an id twice or one below the start: a row the primary key does not index (a
  // forged heap tuple, a damaged index) is reported then.
  const bool whole = !from_id && !to_id;
  if (!whole || !pass(true, result) || !result.ok) {
    pass(false, result);
    if (result.ok && heap_anomaly) {
      result.ok = false;
      result.first_bad_id = *heap_anomaly;
      result.reason = "record out of order or duplicated (in the heap, not through the primary key)";
    }
  }
  pg_call([&] { MemoryContextDelete(record_cxt); });
  return result;
}

}  // namespace pgp::audit

// privacy.audit_verify(from_id, to_id, head_id, head_hash) RETURNS TABLE(ok, checked,
// first_bad_id, reason). Reads as the extension owner, so the tenant policies do not hide rows.
Datum pgp_audit_verify(PG_FUNCTION_ARGS) {
  auto opt = [&](int i) {
    return PG_ARGISNULL(i) ? std::optional<std::int64_t>() : std::optional<std::int64_t>(PG_GETARG_INT64(i));
  };
  const auto from_id = opt(0), to_id = opt(1), head_id = opt(2);
  const char* head_hex = PG_ARGISNULL(3) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(3));
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("audit_verify must return a row")));
  desc = BlessTupleDesc(desc);
  if ((head_id == std::nullopt) != (head_hex == nullptr))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("an exported head needs both its id and its hash"),
                    errhint("Pass head_id and head_hash as privacy.audit_head() returned them.")));
  // The result outlives SPI_finish: plain values, and the reason copied with SPI_palloc.
  bool ok = true;
  std::int64_t checked = 0, bad_id = 0;
  char* reason = nullptr;
  pgp::as_owner([&] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
    pgp::guarded([&] {
      std::optional<pgp::core::audit::Hash> head_hash;
      if (head_hex) {
        head_hash = pgp::core::audit::from_hex(head_hex);
        if (!head_hash)
          throw pgp::core::Error(pgp::core::sqlstate::kInvalidArgument, "invalid head hash",
                                 "The hash of an exported head is 64 hexadecimal digits.",
                                 "Pass the hash privacy.audit_head() returned.");
      }
      const auto r = pgp::audit::verify_chain(from_id, to_id, head_id, head_hash);
      ok = r.ok;
      checked = r.checked;
      bad_id = r.first_bad_id.value_or(0);
      if (!r.ok) {
        reason = pgp::pg_call([&] { return static_cast<char*>(SPI_palloc(r.reason.size() + 1)); });
        memcpy(reason, r.reason.c_str(), r.reason.size() + 1);
      }
    });
    SPI_finish();
  });
  Datum values[4] = {BoolGetDatum(ok), Int64GetDatum(checked), Int64GetDatum(bad_id),
                     reason ? CStringGetTextDatum(reason) : (Datum)0};
  bool nulls[4] = {false, false, ok, reason == nullptr};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
