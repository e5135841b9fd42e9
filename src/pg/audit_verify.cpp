// privacy.audit_verify(): reads the sealed log in id order through an SPI cursor, batch by
// batch, and feeds the core Verifier (changed, deleted, inserted or reordered records, and a
// cut-off or rewritten tail against an exported head).
#include "pg/audit.hpp"
#include "pg/convert.hpp"

#include <limits>
#include <string>

extern "C" {
#include "access/htup_details.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"
}

PGP_FUNCTION(pgp_audit_verify)

namespace ca = pgp::core::audit;

namespace pgp::audit {

namespace {

ca::Hash hash_of(Datum d) {
  ca::Hash h{};
  const std::string_view b = varlena_view(d);
  if (b.size() == h.size()) memcpy(h.data(), b.data(), h.size());
  return h;  // a malformed stored hash stays all-zero and fails the comparison
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
  ca::Verifier verifier(prev, first);
  if (head_id && head_hash) verifier.expect_head(*head_id, *head_hash);

  // Without a from_id every row is read, even those below the start: a record forged there is
  // reported as out of order.
  const std::string query = std::string("SELECT id, prev_hash, hash, id::text, ") + kCanonicalColumns +
                            " FROM privacy.audit_log WHERE id >= $1 AND id <= $2 ORDER BY 1";
  Oid types[2] = {INT8OID, INT8OID};
  Datum args[2] = {Int64GetDatum(from_id ? first : std::numeric_limits<std::int64_t>::min()),
                   Int64GetDatum(to_id ? *to_id : std::numeric_limits<std::int64_t>::max())};
  Portal portal = pg_call([&] {
    return SPI_cursor_open_with_args(nullptr, query.c_str(), 2, types, args, nullptr, true, 0);
  });
  ca::SubjectPseudonym pseudonym(hmac_key_view(pg_call([] { return hmac_key(); })));
  ca::StoredRecord rec;
  rec.fields.resize(1 + kCanonicalCount);
  constexpr int kColumns = 4 + kProjectedCount;
  Datum values[kColumns];
  bool nulls[kColumns];
  std::string at_text;
  bool going = true;
  while (going) {
    pg_call([&] { SPI_cursor_fetch(portal, true, kBatch); });
    SPITupleTable* tt = SPI_tuptable;
    const std::uint64_t n = SPI_processed;
    if (n == 0) break;
    for (std::uint64_t i = 0; i < n && going; ++i) {
      // One pass over the tuple: attribute-by-attribute access would rescan it per column.
      heap_deform_tuple(tt->vals[i], tt->tupdesc, values, nulls);
      rec.id = DatumGetInt64(values[0]);
      rec.prev_hash = hash_of(values[1]);
      rec.hash = hash_of(values[2]);
      for (int f = 0; f <= kCanonicalCount; ++f)
        if (f != 1 + kAtColumn && f != 1 + kSubjectColumn)
          rec.fields[f] = nulls[3 + f] ? ca::Field() : ca::Field(varlena_view(values[3 + f]));
      rec.fields[1 + kSubjectColumn] = subject_field(pseudonym, values[4 + kSubjectColumn], nulls[4 + kSubjectColumn],
                                                     values[4 + kErasedColumn]);
      at_text = ca::utc_timestamp(DatumGetTimestampTz(values[4 + kAtColumn]));
      rec.fields[1 + kAtColumn] = at_text;
      going = verifier.feed(rec);
    }
    pg_call([&] { SPI_freetuptable(tt); });
  }
  pg_call([&] { SPI_cursor_close(portal); });
  return verifier.finish(head_id, head_hash);
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
  const auto owner = pgp::audit::owner_begin();
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
  // The result outlives SPI_finish: plain values, and the reason copied with SPI_palloc.
  bool ok = true;
  std::int64_t checked = 0, bad_id = 0;
  char* reason = nullptr;
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
  pgp::audit::owner_end(owner);
  Datum values[4] = {BoolGetDatum(ok), Int64GetDatum(checked), Int64GetDatum(bad_id),
                     reason ? CStringGetTextDatum(reason) : (Datum)0};
  bool nulls[4] = {false, false, ok, reason == nullptr};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
