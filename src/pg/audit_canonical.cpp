// The canonical fields of an audit record, from its stored columns: one encoder for the sealer
// (over the rows it moves from the queue) and the verifier (over the log), so both hash the same
// bytes. Each conversion gives the text of the SQL cast it stands for (int8, xid8, jsonb, text[]).
#include "pg/audit.hpp"
#include "pg/guard.hpp"

#include <charconv>

extern "C" {
#include "utils/array.h"
#include "utils/arrayaccess.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

namespace ca = pgp::core::audit;

namespace pgp::audit {

namespace {

// Column indexes in kRecordColumns.
enum Col { kQid, kAt, kXid, kTenant, kSubject, kErased, kRole, kAction, kKind, kTable, kPk, kChanged, kRowValues,
           kDetail };
static_assert(kDetail + 1 == kRecordCount);

struct Text {
  const char* p;
  std::size_t n;
};

Text number_text(char* buf, std::size_t size, auto v) {
  const auto r = std::to_chars(buf, buf + size, v);
  return {buf, static_cast<std::size_t>(r.ptr - buf)};
}

// The text of a text[] as array_out() prints it. The common case (one dimension from 1, no NULL,
// no element that array_out() would quote) is written here: array_out() was the largest cost of
// the verifier after the hash. Anything else goes through array_out() itself. Postgres side.
Text text_array_text(Datum d, FmgrInfo* array_out) {
  ArrayType* a = DatumGetArrayTypeP(d);
  bool plain = ARR_NDIM(a) == 1 && ARR_LBOUND(a)[0] == 1 && !ARR_HASNULL(a) && ARR_ELEMTYPE(a) == TEXTOID;
  const int n = plain ? ARR_DIMS(a)[0] : 0;
  StringInfoData buf;
  if (plain) {
    initStringInfo(&buf);
    appendStringInfoChar(&buf, '{');
    array_iter it;
    array_iter_setup(&it, reinterpret_cast<AnyArrayType*>(a));
    for (int i = 0; i < n && plain; ++i) {
      bool isnull;
      const Datum e = array_iter_next(&it, &isnull, i, -1, false, TYPALIGN_INT);
      const char* data = VARDATA_ANY(DatumGetPointer(e));
      const int len = static_cast<int>(VARSIZE_ANY_EXHDR(DatumGetPointer(e)));
      // array_out() quotes an empty element, NULL in any case, and one with a quote, a
      // backslash, a brace, the delimiter or white space.
      plain = len > 0 && !(len == 4 && pg_strncasecmp(data, "NULL", 4) == 0);
      for (int k = 0; k < len && plain; ++k) {
        const char ch = data[k];
        plain = !(ch == '"' || ch == '\\' || ch == '{' || ch == '}' || ch == ',' || ch == ' ' || ch == '\t' ||
                  ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f');
      }
      if (i > 0) appendStringInfoChar(&buf, ',');
      appendBinaryStringInfo(&buf, data, len);
    }
    appendStringInfoChar(&buf, '}');
  }
  if (!plain || n == 0) {
    const char* s = OutputFunctionCall(array_out, d);
    return {s, strlen(s)};
  }
  return {buf.data, static_cast<std::size_t>(buf.len)};
}

}  // namespace

RecordEncoder::RecordEncoder(std::string_view hmac_key) : pseudonym_(hmac_key), fields_(kCanonicalCount) {
  pgp::pg_call([&] { fmgr_info(F_ARRAY_OUT, &array_out_); });
}

void RecordEncoder::encode(std::int64_t id, const Datum* v, const bool* nulls, std::string& out) {
  Text t[kRecordCount] = {};
  // The Postgres half (detoasting, jsonb and array output): no C++ object lives in it.
  pgp::pg_call([&] {
    for (int c = 0; c < kRecordCount; ++c) {
      if (nulls[c] || c == kAt || c == kErased) continue;
      switch (c) {
        case kQid:
          t[c] = number_text(qid_, sizeof qid_, DatumGetInt64(v[c]));
          break;
        case kXid:
          t[c] = number_text(xid_, sizeof xid_, DatumGetUInt64(v[c]));  // xid8out: the 64-bit value
          break;
        case kPk:
        case kRowValues:
        case kDetail: {
          Jsonb* jb = DatumGetJsonbP(v[c]);
          const char* s = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
          t[c] = {s, strlen(s)};
          break;
        }
        case kChanged:
          t[c] = text_array_text(v[c], &array_out_);
          break;
        default: {  // text
          struct varlena* p = reinterpret_cast<struct varlena*>(DatumGetPointer(v[c]));
          if (VARATT_IS_EXTENDED(p) && !VARATT_IS_SHORT(p)) p = pg_detoast_datum_packed(p);
          t[c] = {VARDATA_ANY(p), static_cast<std::size_t>(VARSIZE_ANY_EXHDR(p))};
          break;
        }
      }
    }
  });
  auto field = [&](int c) { return nulls[c] ? ca::Field() : ca::Field(std::string_view(t[c].p, t[c].n)); };
  const Text id_text = number_text(id_, sizeof id_, id);
  // Records of one statement share its start time: its text is made once.
  if (!nulls[kAt] && (!at_valid_ || DatumGetTimestampTz(v[kAt]) != at_value_)) {
    at_value_ = DatumGetTimestampTz(v[kAt]);
    at_ = ca::utc_timestamp(at_value_);
    at_valid_ = true;
  }
  int f = 0;
  fields_[f++] = std::string_view(id_text.p, id_text.n);
  fields_[f++] = field(kQid);
  fields_[f++] = nulls[kAt] ? ca::Field() : ca::Field(at_);
  fields_[f++] = field(kXid);
  fields_[f++] = field(kTenant);
  fields_[f++] = pseudonym_.field(field(kSubject), !nulls[kErased] && DatumGetBool(v[kErased]));
  for (int c = kRole; c <= kDetail; ++c) fields_[f++] = field(c);
  ca::canonical_into(fields_, out);
}

}  // namespace pgp::audit
