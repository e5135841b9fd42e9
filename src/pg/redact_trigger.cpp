// Trigger functions of redaction: privacy.redact_trigger() (redacts named columns on write,
// refuses BLOCK findings), rule validation at write time, and engine invalidation on change.
#include "core/redact/secret_keys.hpp"
#include "pg/convert.hpp"
#include "pg/redact_engine.hpp"

#include <algorithm>

extern "C" {
#include "commands/trigger.h"
#include "utils/inval.h"
#include "access/htup_details.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

PGP_FUNCTION(pgp_redact_trigger)
PGP_FUNCTION(pgp_validate_rule)
PGP_FUNCTION(pgp_config_changed)

namespace cr = pgp::core::redact;

namespace pgp {

namespace {
// One string as the trigger and redact_jsonb() write it: detect once, count the findings,
// note the type of the first BLOCK finding (when the caller asks and none is noted yet), and
// return the redacted text.
std::string redact_checked(const cr::Engine& eng, std::string_view s, const cr::RedactOptions& opts,
                           const char** blocked_type) {
  const auto findings = eng.detect(s);
  stats_count(findings);
  if (blocked_type && !*blocked_type) {
    auto b = std::find_if(findings.begin(), findings.end(),
                          [](const cr::Finding& f) { return f.action == cr::Action::Block; });
    if (b != findings.end()) *blocked_type = make_cstring(b->type);
  }
  return eng.apply(s, findings, opts);
}
}  // namespace

Jsonb* redact_jsonb(const cr::Engine& eng, Jsonb* in, const cr::RedactOptions& opts,
                    const char** blocked_type) {
  JsonbParseState* state = nullptr;
  JsonbValue* result = nullptr;
  JsonbIterator* it = pg_call([&] { return JsonbIteratorInit(&in->root); });
  JsonbValue v;
  JsonbIteratorToken tok;
  // A value under a secret-named key ("password", "api_key", ...: core/redact/secret_keys.hpp)
  // is replaced whole, whatever it looks like: a string or a number by the SECRET placeholder, an
  // object or array (skipped to its end) too. Booleans and nulls carry no secret and stay.
  bool secret_value = false;
  int skip_depth = 0;
  JsonbValue secret;
  secret.type = jbvString;
  secret.val.string.val = nullptr;
  auto push_secret = [&] {
    if (!secret.val.string.val) {
      const std::string ph = cr::secret_placeholder(opts.placeholder);
      secret.val.string.val = make_cstring(ph);
      secret.val.string.len = static_cast<int>(ph.size());
    }
    stats_count(std::vector<std::string_view>{cr::kSecretKeyType});
    result = pg_call([&] { return pushJsonbValue(&state, WJB_VALUE, &secret); });
  };
  while ((tok = pg_call([&] { return JsonbIteratorNext(&it, &v, false); })) != WJB_DONE) {
    if (skip_depth > 0) {
      if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT) ++skip_depth;
      if ((tok == WJB_END_ARRAY || tok == WJB_END_OBJECT) && --skip_depth == 0) push_secret();
      continue;
    }
    if (tok == WJB_KEY) {
      secret_value = cr::is_secret_key(std::string_view(v.val.string.val, v.val.string.len));
    } else if (secret_value) {
      secret_value = false;
      if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT) {
        skip_depth = 1;
        continue;
      }
      if (tok == WJB_VALUE && (v.type == jbvString || v.type == jbvNumeric)) {
        push_secret();
        continue;
      }
    }
    if ((tok == WJB_VALUE || tok == WJB_ELEM) && v.type == jbvString) {
      const std::string out =
          redact_checked(eng, std::string_view(v.val.string.val, v.val.string.len), opts, blocked_type);
      v.val.string.val = make_cstring(out);
      v.val.string.len = static_cast<int>(out.size());
    }
    // Scalars need their value; WJB_BEGIN_ARRAY needs it to keep a raw scalar's rawScalar flag.
    JsonbValue* arg =
        (tok == WJB_KEY || tok == WJB_VALUE || tok == WJB_ELEM || tok == WJB_BEGIN_ARRAY) ? &v : nullptr;
    result = pg_call([&] { return pushJsonbValue(&state, tok, arg); });
  }
  return pg_call([&] { return JsonbValueToJsonb(result); });
}

}  // namespace pgp

namespace {

TriggerData* trigger_data(FunctionCallInfo fcinfo, const char* name) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("%s must be called as a trigger", name)));
  return reinterpret_cast<TriggerData*>(fcinfo->context);
}

const char* column_text(HeapTuple tup, TupleDesc desc, const char* column) {
  int attnum = SPI_fnumber(desc, column);
  if (attnum <= 0) return nullptr;
  return SPI_getvalue(tup, desc, attnum);
}

}  // namespace

Datum pgp_redact_trigger(PG_FUNCTION_ARGS) {
  TriggerData* td = trigger_data(fcinfo, "privacy.redact_trigger()");
  if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      !(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("privacy.redact_trigger() must be a BEFORE INSERT OR UPDATE FOR EACH ROW trigger")));
  const Trigger* trig = td->tg_trigger;
  if (trig->tgnargs == 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("privacy.redact_trigger() needs the names of the columns to redact"),
                    errhint("CREATE TRIGGER ... EXECUTE FUNCTION privacy.redact_trigger('body', 'title').")));
  Relation rel = td->tg_relation;
  TupleDesc desc = RelationGetDescr(rel);
  HeapTuple tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;

  const int n = trig->tgnargs;
  int* cols = static_cast<int*>(palloc(sizeof(int) * n));
  Datum* values = static_cast<Datum*>(palloc(sizeof(Datum) * n));
  bool* nulls = static_cast<bool*>(palloc(sizeof(bool) * n));
  bool* is_json = static_cast<bool*>(palloc(sizeof(bool) * n));
  for (int i = 0; i < n; ++i) {
    const char* name = trig->tgargs[i];
    int attnum = SPI_fnumber(desc, name);
    if (attnum <= 0)
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                      errmsg("column \"%s\" of relation \"%s\" does not exist", name,
                             RelationGetRelationName(rel))));
    Oid type = getBaseType(TupleDescAttr(desc, attnum - 1)->atttypid);
    if (type != TEXTOID && type != VARCHAROID && type != BPCHAROID && type != JSONBOID)
      ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                      errmsg("privacy.redact_trigger() cannot redact column \"%s\" of type %s", name,
                             format_type_be(type)),
                      errhint("Redactable columns are text, varchar, char and jsonb.")));
    cols[i] = attnum;
    is_json[i] = (type == JSONBOID);
    values[i] = heap_getattr(tuple, attnum, desc, &nulls[i]);
    if (!nulls[i])
      values[i] = is_json[i] ? PointerGetDatum(DatumGetJsonbP(values[i]))
                             : PointerGetDatum(PG_DETOAST_DATUM_PACKED(values[i]));
  }

  const cr::Engine& eng = pgp::redact_engine();
  const char* blocked_type = nullptr;
  int blocked_col = -1;
  pgp::guarded([&] {
    cr::RedactOptions opts;
    opts.placeholder = pgp::redact_placeholder();
    for (int i = 0; i < n && !blocked_type; ++i) {
      if (nulls[i]) continue;
      if (is_json[i]) {
        values[i] = PointerGetDatum(
            pgp::redact_jsonb(eng, DatumGetJsonbP(values[i]), opts, &blocked_type));
      } else {
        const std::string out = pgp::redact_checked(
            eng, pgp::text_view(reinterpret_cast<text*>(DatumGetPointer(values[i]))), opts, &blocked_type);
        if (!blocked_type) values[i] = PointerGetDatum(pgp::make_text(out));
      }
      if (blocked_type) blocked_col = i;
    }
  });
  if (blocked_type)
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '1', '0', '2')),
                    errmsg("column \"%s\" of relation \"%s\" contains blocked content of type %s",
                           trig->tgargs[blocked_col], RelationGetRelationName(rel), blocked_type),
                    errhint("A BLOCK rule refuses this kind of value; remove it from the input.")));
  HeapTuple out = heap_modify_tuple_by_cols(tuple, desc, n, cols, values, nulls);
  return PointerGetDatum(out);
}

// BEFORE INSERT OR UPDATE on privacy.rules and privacy.allow_list: compiles the pattern with the
// engine's own options and refuses it here, with PV101, never later at use.
Datum pgp_validate_rule(PG_FUNCTION_ARGS) {
  TriggerData* td = trigger_data(fcinfo, "privacy._validate_rule()");
  HeapTuple tup = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
  TupleDesc desc = RelationGetDescr(td->tg_relation);
  const char* pattern = column_text(tup, desc, "pattern");
  const char* validator = column_text(tup, desc, "validator");
  const char* name = column_text(tup, desc, "name");
  const char* entity_type = column_text(tup, desc, "entity_type");
  const int max_mem = pgp::rule_max_mem_bytes();
  if (pattern) {
    pgp::guarded([&] {
      cr::RuleSpec spec;
      spec.name = name ? name : "allow-list entry";
      spec.entity_type = entity_type ? entity_type : "ALLOW";  // allow-list rows have no type
      spec.pattern = pattern;
      spec.validator = validator ? validator : "";
      cr::validate_rule(spec, max_mem);
    });
  }
  return PointerGetDatum(tup);
}

// AFTER ... FOR EACH STATEMENT on every configuration table: a relcache invalidation of the
// table reaches every backend, whose callback then drops its compiled engine.
Datum pgp_config_changed(PG_FUNCTION_ARGS) {
  TriggerData* td = trigger_data(fcinfo, "privacy._config_changed()");
  CacheInvalidateRelcache(td->tg_relation);
  return PointerGetDatum(nullptr);
}
