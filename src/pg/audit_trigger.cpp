// privacy._audit_trigger(): the AFTER trigger that privacy.audit() attaches (and the extension
// puts on its own configuration tables). It records who changed what in which row, with the
// values only as chosen: none, redacted by the redaction engine, or keyed HMACs.
#include "core/audit/hmac.hpp"
#include "pg/audit.hpp"
#include "pg/classify.hpp"
#include "pg/cluster.hpp"
#include "pg/convert.hpp"
#include "pg/redact_engine.hpp"

extern "C" {
#include "access/htup_details.h"
#include "commands/trigger.h"
#include "nodes/bitmapset.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
}

PGP_FUNCTION(pgp_audit_trigger)
PGP_FUNCTION(pgp_audit_hmac)

namespace cr = pgp::core::redact;

namespace {

enum class ValuesMode { None, Redacted, Hmac };

ValuesMode parse_mode(const char* s) {
  if (strcmp(s, "none") == 0) return ValuesMode::None;
  if (strcmp(s, "redacted") == 0) return ValuesMode::Redacted;
  if (strcmp(s, "hmac") == 0) return ValuesMode::Hmac;
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid audit values mode"),
                  errhint("The values mode is 'none', 'redacted' or 'hmac'.")));
  return ValuesMode::None;
}

// What a value becomes in the log: its redacted text or its keyed HMAC (hex). Returns palloc'd.
char* transform(ValuesMode mode, const char* value, const cr::Engine* eng, const unsigned char* key) {
  return pgp::guarded([&]() -> char* {
    if (mode == ValuesMode::Hmac)
      return pgp::make_cstring(pgp::core::audit::hmac_sha256_hex(
          std::string_view(reinterpret_cast<const char*>(key), pgp::audit::kHmacKeyBytes), value));
    cr::RedactOptions opts;
    opts.placeholder = pgp::redact_placeholder();
    const std::string_view s(value);
    return pgp::make_cstring(eng->apply(s, eng->detect(s), opts));
  });
}

// A jsonb value in 'redacted' mode: through pgp::redact_jsonb(), the path of
// privacy.redact_jsonb() and the redaction trigger (secret-named keys included), as JSON text.
const char* redacted_jsonb_text(Datum v, const cr::Engine* eng) {
  Jsonb* in = DatumGetJsonbP(v);
  Jsonb* out = pgp::guarded([&] {
    cr::RedactOptions opts;
    opts.placeholder = pgp::redact_placeholder();
    return pgp::redact_jsonb(*eng, in, opts, nullptr);
  });
  return JsonbToCString(nullptr, &out->root, VARSIZE(out));
}

const char* output_text(Datum v, Oid type) {
  Oid out;
  bool varlena;
  getTypeOutputInfo(type, &out, &varlena);
  return OidOutputFunctionCall(out, v);
}

void push_string(JsonbParseState** st, JsonbIteratorToken tok, const char* s) {
  JsonbValue v;
  v.type = jbvString;
  v.val.string.val = const_cast<char*>(s);
  v.val.string.len = static_cast<int>(strlen(s));
  pushJsonbValue(st, tok, &v);
}

// Builds a jsonb object {column: text} over the attributes in `attrs` (1-based) that are not
// NULL in `tup`; each value is kept (mode None) or transformed. NULL when no attribute is set.
// `out`, when given, holds the output function of each attribute in `attrs` (looked up once per
// statement); otherwise each value's type is looked up.
// `classified`, when given, holds the classification level of each attribute ('\0': none): a
// classified value is written as a reader who may not see it reads it (masked text, or null for
// other types), except in 'hmac' mode, which writes its HMAC.
Datum values_object(HeapTuple tup, TupleDesc desc, const int* attrs, int n, ValuesMode mode, bool* isnull,
                    const cr::Engine* eng, const unsigned char* key, FmgrInfo* out = nullptr,
                    const char* classified = nullptr) {
  JsonbParseState* st = nullptr;
  pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
  int pushed = 0;
  for (int i = 0; i < n; ++i) {
    Form_pg_attribute att = TupleDescAttr(desc, attrs[i] - 1);
    bool null;
    Datum v = heap_getattr(tup, attrs[i], desc, &null);
    if (null) continue;
    if (classified && classified[attrs[i] - 1] && mode != ValuesMode::Hmac) {
      const Oid base = getBaseType(att->atttypid);
      push_string(&st, WJB_KEY, NameStr(att->attname));
      if (base == TEXTOID || base == VARCHAROID || base == BPCHAROID) {
        const char* text = out ? OutputFunctionCall(&out[i], v) : output_text(v, att->atttypid);
        push_string(&st, WJB_VALUE, pgp::classified_mask_cstring(text, classified[attrs[i] - 1]));
      } else {
        JsonbValue jnull;
        jnull.type = jbvNull;
        pushJsonbValue(&st, WJB_VALUE, &jnull);
      }
      ++pushed;
      continue;
    }
    const bool json = mode == ValuesMode::Redacted && getBaseType(att->atttypid) == JSONBOID;
    const char* text = json  ? redacted_jsonb_text(v, eng)
                       : out ? OutputFunctionCall(&out[i], v)
                             : output_text(v, att->atttypid);
    push_string(&st, WJB_KEY, NameStr(att->attname));
    push_string(&st, WJB_VALUE, mode == ValuesMode::None || json ? text : transform(mode, text, eng, key));
    ++pushed;
  }
  JsonbValue* res = pushJsonbValue(&st, WJB_END_OBJECT, nullptr);
  *isnull = pushed == 0;
  return pushed ? JsonbPGetDatum(JsonbValueToJsonb(res)) : (Datum)0;
}

// What the row path needs on every row of a statement, computed on its first row: the trigger's
// FmgrInfo lives as long as the statement, so fn_extra holds it (a bulk insert of a million rows
// looks the table name, the key columns and the column names up once, not a million times).
struct SiteCache {
  Oid relid;
  char* table_name;
  int npk;
  int* pk_attrs;
  FmgrInfo* pk_out;  // the output function of each key column
  Datum* names;    // the text of each attribute's name, by attribute number - 1
  int nlast;       // the last changed-columns list and its array: reused while rows agree
  int* last;
  Datum last_array;
};

SiteCache* site_cache(FunctionCallInfo fcinfo, Relation rel) {
  FmgrInfo* fl = fcinfo->flinfo;
  SiteCache* c = static_cast<SiteCache*>(fl->fn_extra);
  if (c && c->relid == RelationGetRelid(rel)) return c;
  MemoryContext old = MemoryContextSwitchTo(fl->fn_mcxt);
  TupleDesc desc = RelationGetDescr(rel);
  c = static_cast<SiteCache*>(palloc0(sizeof(SiteCache)));
  c->relid = RelationGetRelid(rel);
  c->table_name = pgp::citus_logical_table_name(rel);  // a shard is recorded as its table
  if (!c->table_name)
    c->table_name = pstrdup(quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
                                                       RelationGetRelationName(rel)));
  Bitmapset* pkattrs = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
  c->pk_attrs = static_cast<int*>(palloc(sizeof(int) * (bms_num_members(pkattrs) + 1)));
  for (int m = -1; (m = bms_next_member(pkattrs, m)) >= 0;)
    c->pk_attrs[c->npk++] = m + FirstLowInvalidHeapAttributeNumber;
  c->pk_out = static_cast<FmgrInfo*>(palloc0(sizeof(FmgrInfo) * (c->npk + 1)));
  for (int i = 0; i < c->npk; ++i) {
    Oid fn;
    bool varlena;
    getTypeOutputInfo(TupleDescAttr(desc, c->pk_attrs[i] - 1)->atttypid, &fn, &varlena);
    fmgr_info_cxt(fn, &c->pk_out[i], fl->fn_mcxt);
  }
  c->names = static_cast<Datum*>(palloc(sizeof(Datum) * (desc->natts + 1)));
  for (int i = 0; i < desc->natts; ++i) c->names[i] = CStringGetTextDatum(NameStr(TupleDescAttr(desc, i)->attname));
  c->last = static_cast<int*>(palloc(sizeof(int) * (desc->natts + 1)));
  c->nlast = -1;
  MemoryContextSwitchTo(old);
  fl->fn_extra = c;
  return c;
}

// The text[] of the changed columns' names: the previous row's array when the list is the same.
Datum changed_array(FunctionCallInfo fcinfo, SiteCache* c, const int* changed, int n) {
  if (n == c->nlast && memcmp(changed, c->last, sizeof(int) * n) == 0) return c->last_array;
  MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
  Datum* names = static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1)));
  for (int i = 0; i < n; ++i) names[i] = c->names[changed[i] - 1];
  if (c->nlast >= 0) pfree(DatumGetPointer(c->last_array));
  c->last_array = PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
  pfree(names);
  MemoryContextSwitchTo(old);
  memcpy(c->last, changed, sizeof(int) * n);
  c->nlast = n;
  return c->last_array;
}

bool same_value(Datum a, Datum b, Form_pg_attribute att) {
  if (datumIsEqual(a, b, att->attbyval, att->attlen)) return true;
  if (att->attlen != -1) return false;
  // Equal values can differ in representation (compressed, external, short header): compare the
  // detoasted bytes.
  struct varlena* da = PG_DETOAST_DATUM_PACKED(a);
  struct varlena* db = PG_DETOAST_DATUM_PACKED(b);
  return VARSIZE_ANY_EXHDR(da) == VARSIZE_ANY_EXHDR(db) &&
         memcmp(VARDATA_ANY(da), VARDATA_ANY(db), VARSIZE_ANY_EXHDR(da)) == 0;
}

}  // namespace

// AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW, or AFTER ... TRUNCATE FOR EACH STATEMENT.
// Arguments: the values mode ('none', 'redacted', 'hmac') and optionally the kind ('dml' by
// default, 'config' on the extension's own tables).
Datum pgp_audit_trigger(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("privacy._audit_trigger() must be called as a trigger")));
  TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
  const TriggerEvent ev = td->tg_event;
  if (!TRIGGER_FIRED_AFTER(ev))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("privacy._audit_trigger() must be an AFTER trigger")));
  const Trigger* trig = td->tg_trigger;
  const ValuesMode mode = parse_mode(trig->tgnargs > 0 ? trig->tgargs[0] : "none");
  const char* kind = trig->tgnargs > 1 ? trig->tgargs[1] : "dml";
  if (strcmp(kind, "dml") != 0 && strcmp(kind, "config") != 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid audit record kind"),
                    errhint("The kind is 'dml' or 'config'.")));

  Relation rel = td->tg_relation;
  TupleDesc desc = RelationGetDescr(rel);
  pgp::audit::QueueRecord rec;
  rec.kind = kind;
  rec.action = TRIGGER_FIRED_BY_INSERT(ev)   ? "INSERT"
               : TRIGGER_FIRED_BY_UPDATE(ev) ? "UPDATE"
               : TRIGGER_FIRED_BY_DELETE(ev) ? "DELETE"
                                             : "TRUNCATE";
  if (!TRIGGER_FIRED_FOR_ROW(ev)) {
    rec.table_name = pgp::citus_logical_table_name(rel);
    if (!rec.table_name)
      rec.table_name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
                                                  RelationGetRelationName(rel));
    pgp::audit::queue_append(rec);
    return PointerGetDatum(nullptr);
  }

  const cr::Engine* eng = mode == ValuesMode::Redacted ? &pgp::redact_engine() : nullptr;
  const unsigned char* key = nullptr;
  HeapTuple newtup = TRIGGER_FIRED_BY_UPDATE(ev) ? td->tg_newtuple : td->tg_trigtuple;
  HeapTuple oldtup = TRIGGER_FIRED_BY_INSERT(ev) ? nullptr : td->tg_trigtuple;
  HeapTuple row = TRIGGER_FIRED_BY_DELETE(ev) ? oldtup : newtup;

  // The primary key addresses the row: as text, or keyed HMACs in 'hmac' mode. The old key on
  // DELETE, the new one otherwise.
  SiteCache* cache = site_cache(fcinfo, rel);
  rec.table_name = cache->table_name;
  // Classified columns (privacy.classify) never reach the log as they are stored.
  char* classified = static_cast<char*>(palloc(desc->natts + 1));
  if (!pgp::classified_levels(RelationGetRelid(rel), desc->natts, classified)) classified = nullptr;
  if (cache->npk > 0) {
    if (mode == ValuesMode::Hmac) key = pgp::audit::hmac_key();
    rec.pk = values_object(row, desc, cache->pk_attrs, cache->npk,
                           mode == ValuesMode::Hmac ? ValuesMode::Hmac : ValuesMode::None, &rec.pk_null, eng, key,
                           cache->pk_out, classified);
  }

  // Changed columns: on UPDATE those whose value differs, on INSERT those set (not NULL).
  int* changed = static_cast<int*>(palloc(sizeof(int) * (desc->natts + 1)));
  int nchanged = 0;
  if (!TRIGGER_FIRED_BY_DELETE(ev)) {
    for (int i = 0; i < desc->natts; ++i) {
      Form_pg_attribute att = TupleDescAttr(desc, i);
      if (att->attisdropped) continue;
      bool nnull;
      Datum nv = heap_getattr(newtup, i + 1, desc, &nnull);
      bool differs = !nnull;
      if (oldtup) {
        bool onull;
        Datum ov = heap_getattr(oldtup, i + 1, desc, &onull);
        differs = onull != nnull || (!nnull && !same_value(ov, nv, att));
      }
      if (differs) changed[nchanged++] = i + 1;
    }
    rec.changed_columns = changed_array(fcinfo, cache, changed, nchanged);
    rec.changed_columns_null = false;
  }

  // Values, only when asked: the changed columns on INSERT and UPDATE, every column on DELETE.
  if (mode != ValuesMode::None) {
    if (mode == ValuesMode::Hmac && !key) key = pgp::audit::hmac_key();
    if (TRIGGER_FIRED_BY_DELETE(ev)) {
      for (int i = 0; i < desc->natts; ++i)
        if (!TupleDescAttr(desc, i)->attisdropped) changed[nchanged++] = i + 1;
    }
    rec.row_values = values_object(row, desc, changed, nchanged, mode, &rec.row_values_null, eng, key, nullptr,
                                   classified);
  }
  pgp::audit::queue_append(rec);
  return PointerGetDatum(nullptr);
}

// privacy.audit_hmac(value text): the keyed HMAC the log holds for `value` in 'hmac' mode, so
// whoever may hold the key can prove which value a record refers to.
Datum pgp_audit_hmac(PG_FUNCTION_ARGS) {
  const char* value = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const unsigned char* key = pgp::audit::hmac_key();
  PG_RETURN_TEXT_P(cstring_to_text(transform(ValuesMode::Hmac, value, nullptr, key)));
}
