// SQL entry points of redaction: privacy.detect, redact, mask, contains_pii, redact_jsonb,
// sanitize_csv and detectors. Thin: arguments in, core::redact::Engine, results out.
#include "core/redact/csv.hpp"
#include "pg/convert.hpp"
#include "pg/redact_engine.hpp"

#include <algorithm>

PGP_FUNCTION(pgp_detect)
PGP_FUNCTION(pgp_redact)
PGP_FUNCTION(pgp_redact_types)
PGP_FUNCTION(pgp_mask)
PGP_FUNCTION(pgp_contains_pii)
PGP_FUNCTION(pgp_redact_jsonb)
PGP_FUNCTION(pgp_sanitize_csv)
PGP_FUNCTION(pgp_detectors)

namespace cr = pgp::core::redact;

namespace {

// The options of privacy.redact(): rebuilt only when the placeholder setting changes, since
// redact() runs once per row.
const cr::RedactOptions& redact_options() {
  static cr::RedactOptions opts;
  const char* placeholder = pgp::redact_placeholder();
  if (opts.placeholder != placeholder) opts.placeholder = placeholder;
  return opts;
}

// Redacts into a buffer and a vector of entity types kept across calls (one call per row: their
// capacity is reused), counts the findings and returns the result as a new text, or the input
// itself when nothing was found (most rows: no copy at all). Only the types are needed for the
// statistics, so no Finding (two strings each) is made.
text* redact_counted(const cr::Engine& eng, text* input, const cr::RedactOptions& o) {
  static std::string out;
  static std::vector<std::string_view> types;
  eng.redact_into_types(pgp::text_view(input), o, out, types);
  if (types.empty()) return input;
  pgp::stats_count(types);
  text* result = pgp::make_text(out);
  if (out.capacity() > (1u << 20)) std::string().swap(out);  // do not keep a huge buffer
  return result;
}

}  // namespace

Datum pgp_detect(PG_FUNCTION_ARGS) {
  text* input = PG_GETARG_TEXT_PP(0);
  const cr::Engine& eng = pgp::redact_engine();
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);

  struct Row {
    char* type;
    int32 start;
    int32 end;
    const char* action;
  };
  Row* rows = nullptr;
  std::size_t nrows = 0;
  pgp::guarded([&] {
    const std::string_view in = pgp::text_view(input);
    const auto findings = eng.detect(in);
    pgp::stats_count(findings);
    std::vector<std::size_t> bytes;
    bytes.reserve(findings.size() * 2);
    for (const auto& f : findings) {
      bytes.push_back(f.begin);
      bytes.push_back(f.end);
    }
    std::vector<std::size_t> sorted = bytes;
    std::sort(sorted.begin(), sorted.end());
    const auto chars = cr::utf8_char_offsets(in, sorted);
    auto char_of = [&](std::size_t b) {
      return chars[std::lower_bound(sorted.begin(), sorted.end(), b) - sorted.begin()];
    };
    rows = static_cast<Row*>(pgp::pg_call([&] { return palloc0(sizeof(Row) * (findings.size() + 1)); }));
    for (const auto& f : findings) {
      Row& r = rows[nrows++];
      r.type = pgp::make_cstring(f.type);
      r.start = static_cast<int32>(char_of(f.begin) + 1);  // 1-based, as substr() counts
      r.end = static_cast<int32>(char_of(f.end) + 1);      // exclusive
      r.action = cr::action_name(f.action);
    }
  });
  for (std::size_t i = 0; i < nrows; ++i) {
    Datum values[4] = {CStringGetTextDatum(rows[i].type), Int32GetDatum(rows[i].start),
                       Int32GetDatum(rows[i].end), CStringGetTextDatum(rows[i].action)};
    bool nulls[4] = {false, false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}

Datum pgp_redact(PG_FUNCTION_ARGS) {
  text* input = PG_GETARG_TEXT_PP(0);
  const cr::Engine& eng = pgp::redact_engine();
  return pgp::guarded([&] { return PointerGetDatum(redact_counted(eng, input, redact_options())); });
}

Datum pgp_redact_types(PG_FUNCTION_ARGS) {
  text* input = PG_GETARG_TEXT_PP(0);
  ArrayType* types = PG_GETARG_ARRAYTYPE_P(1);
  Datum* elems;
  bool* nulls;
  int nelems;
  deconstruct_array(types, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
  const cr::Engine& eng = pgp::redact_engine();
  return pgp::guarded([&] {
    cr::RedactOptions o = redact_options();  // a copy: only_types is per call
    for (int i = 0; i < nelems; ++i)
      if (!nulls[i]) o.only_types.emplace_back(pgp::text_view(DatumGetTextPP(elems[i])));
    if (o.only_types.empty()) o.only_types.emplace_back("");  // an empty list redacts nothing
    return PointerGetDatum(redact_counted(eng, input, o));
  });
}

Datum pgp_mask(PG_FUNCTION_ARGS) {
  text* input = PG_GETARG_TEXT_PP(0);
  const cr::Engine& eng = pgp::redact_engine();
  return pgp::guarded([&] { return PointerGetDatum(pgp::make_text(eng.mask(pgp::text_view(input)))); });
}

Datum pgp_contains_pii(PG_FUNCTION_ARGS) {
  text* input = PG_GETARG_TEXT_PP(0);
  const cr::Engine& eng = pgp::redact_engine();
  return pgp::guarded([&] { return BoolGetDatum(eng.detect_any(pgp::text_view(input))); });
}


Datum pgp_redact_jsonb(PG_FUNCTION_ARGS) {
  Jsonb* input = PG_GETARG_JSONB_P(0);
  const cr::Engine& eng = pgp::redact_engine();
  return pgp::guarded([&] {
    return PointerGetDatum(pgp::redact_jsonb(eng, input, redact_options(), nullptr));
  });
}

Datum pgp_sanitize_csv(PG_FUNCTION_ARGS) {
  text* input = PG_GETARG_TEXT_PP(0);
  const cr::Engine& eng = pgp::redact_engine();
  return pgp::guarded([&] {
    const auto summary = cr::summarize_csv(pgp::text_view(input));
    std::string out = eng.redact(summary.header, redact_options());
    out += "\n[" + std::to_string(summary.rows) + (summary.rows == 1 ? " data row" : " data rows") +
           " omitted]";
    return PointerGetDatum(pgp::make_text(out));
  });
}

Datum pgp_detectors(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  const auto* list = pgp::guarded([] { return &cr::builtin_detectors(); });
  for (const auto& d : *list) {
    Datum values[4] = {CStringGetTextDatum(d.type.c_str()),
                       CStringGetTextDatum(cr::action_name(d.default_action)),
                       CStringGetTextDatum(d.description.c_str()), CStringGetTextDatum("builtin")};
    bool nulls[4] = {false, false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}
