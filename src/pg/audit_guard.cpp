// The append-only rules of the audit log and its administrative records: the guard trigger on
// the log's tables, the audited maintenance switch, and privacy._audit_record() for the DDL
// event trigger.
#include "pg/audit.hpp"
#include "pg/owner_spi.hpp"

extern "C" {
#include "commands/trigger.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "utils/acl.h"
#include "utils/jsonb.h"
#include "utils/portal.h"
#include "utils/rel.h"
}

PGP_FUNCTION(pgp_audit_guard)
PGP_FUNCTION(pgp_audit_maintenance)
PGP_FUNCTION(pgp_audit_record)

namespace {

Datum jsonb_pair(const char* key, JsonbValue* value) {
  JsonbParseState* st = nullptr;
  pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
  JsonbValue k;
  k.type = jbvString;
  k.val.string.val = const_cast<char*>(key);
  k.val.string.len = static_cast<int>(strlen(key));
  pushJsonbValue(&st, WJB_KEY, &k);
  pushJsonbValue(&st, WJB_VALUE, value);
  return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, nullptr)));
}

bool erased(HeapTuple tup, TupleDesc desc) {
  const int att = SPI_fnumber(desc, "subject_erased");
  if (att <= 0) return false;
  bool null;
  const Datum d = heap_getattr(tup, att, desc, &null);
  return !null && DatumGetBool(d);
}

JsonbValue string_value(const char* s) {
  JsonbValue v;
  v.type = jbvString;
  v.val.string.val = const_cast<char*>(s);
  v.val.string.len = static_cast<int>(strlen(s));
  return v;
}

// True while the statement being run is COPY ... FROM into `rel`: how pg_restore and psql load a
// dump's table data.
bool copy_from_into(Relation rel) {
  if (!ActivePortal || list_length(ActivePortal->stmts) != 1) return false;
  const PlannedStmt* ps = linitial_node(PlannedStmt, ActivePortal->stmts);
  if (ps->commandType != CMD_UTILITY || !ps->utilityStmt || !IsA(ps->utilityStmt, CopyStmt)) return false;
  const CopyStmt* cs = reinterpret_cast<const CopyStmt*>(ps->utilityStmt);
  return cs->is_from && cs->relation && !cs->query &&
         RangeVarGetRelid(cs->relation, NoLock, true) == RelationGetRelid(rel);
}

// The restore door (docs/audit.md, "Backup and restore"): the rows of a dump are loaded into the
// audit tables by COPY FROM, into a log and a checkpoint table that held no row before the
// statement (a chain is restored whole, never spliced into another); the queue takes restored
// records beside new ones. Decided at the statement's first row, which also queues one
// audit/RESTORE record, so that the restore is itself in the chain.
bool restore_door(Relation rel, bool must_be_empty) {
  static LocalTransactionId door_lxid = InvalidLocalTransactionId;
  static CommandId door_cid = InvalidCommandId;
  static Oid door_rel = InvalidOid;
  static bool door_open = false;
  const CommandId cid = GetCurrentCommandId(false);
  if (door_lxid == MyProc->lxid && door_cid == cid && door_rel == RelationGetRelid(rel)) return door_open;
  door_lxid = MyProc->lxid;
  door_cid = cid;
  door_rel = RelationGetRelid(rel);
  door_open = copy_from_into(rel);
  if (door_open && must_be_empty) {
    char query[160];
    snprintf(query, sizeof query, "SELECT 1 FROM privacy.%s LIMIT 1", RelationGetRelationName(rel));
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
    if (SPI_execute(query, true, 1) != SPI_OK_SELECT) elog(ERROR, "pg_privacy: could not read the audit log");
    door_open = SPI_processed == 0;
    SPI_finish();
  }
  if (door_open) {
    JsonbValue table = string_value(RelationGetRelationName(rel));
    pgp::audit::QueueRecord rec;
    rec.kind = "audit";
    rec.action = "RESTORE";
    rec.detail = jsonb_pair("table", &table);
    rec.detail_null = false;
    pgp::audit::queue_append(rec);
  }
  return door_open;
}

}  // namespace

// BEFORE INSERT OR UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement) on privacy.audit_log,
// audit_queue and audit_checkpoints. Privileges keep every other role out; this keeps the owner
// (and superusers) out too: only the sealer inserts into the log and deletes from the queue, only
// the purge deletes from the log and inserts checkpoints, and anything else needs the audited
// maintenance switch. The subject erasure (privacy._audit_erase_subject) updates the log and the
// queue.
Datum pgp_audit_guard(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("privacy._audit_guard() must be called as a trigger")));
  TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
  const TriggerEvent ev = td->tg_event;
  const char* rel = RelationGetRelationName(td->tg_relation);
  using pgp::audit::Pass;
  bool allowed = pgp::audit::maintenance_on();
  // The subject erasure only ever sets subject_erased: a row it lets through must come out erased.
  const bool erasing = TRIGGER_FIRED_BY_UPDATE(ev) && TRIGGER_FIRED_FOR_ROW(ev) && pgp::audit::pass_on(Pass::Erase) &&
                       erased(td->tg_newtuple, RelationGetDescr(td->tg_relation));
  const bool row_insert = TRIGGER_FIRED_BY_INSERT(ev) && TRIGGER_FIRED_FOR_ROW(ev);
  if (strcmp(rel, "audit_log") == 0) {
    allowed = allowed || (TRIGGER_FIRED_BY_INSERT(ev) && pgp::audit::pass_on(Pass::Seal)) ||
              (TRIGGER_FIRED_BY_DELETE(ev) && pgp::audit::pass_on(Pass::Purge)) || erasing ||
              (row_insert && restore_door(td->tg_relation, true));
  } else if (strcmp(rel, "audit_queue") == 0) {
    allowed = allowed || (TRIGGER_FIRED_BY_DELETE(ev) && pgp::audit::pass_on(Pass::Seal)) || erasing ||
              (row_insert && restore_door(td->tg_relation, false));
  } else if (strcmp(rel, "audit_checkpoints") == 0) {
    allowed = allowed || (TRIGGER_FIRED_BY_INSERT(ev) && pgp::audit::pass_on(Pass::Purge)) ||
              (row_insert && restore_door(td->tg_relation, true));
  }
  if (!allowed)
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '3', '0', '1')),
                    errmsg("privacy.%s is append-only", rel),
                    errdetail("Only privacy.audit_seal(), privacy.audit_purge(), the subject erasure and the restore of a dump "
                              "(COPY FROM into an empty log) write to the audit tables."),
                    errhint("The extension owner can switch maintenance on with privacy.audit_maintenance(true, "
                            "reason); the switch is itself audited.")));
  if (TRIGGER_FIRED_FOR_STATEMENT(ev)) return PointerGetDatum(nullptr);
  return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(ev) ? td->tg_newtuple : td->tg_trigtuple);
}

// privacy.audit_maintenance(enabled boolean, reason text): lets this transaction change the log's
// tables directly. The owner of the extension or a superuser only; each switch is recorded (kind
// 'maintenance', the reason in detail), and the switch goes off by itself at transaction end.
Datum pgp_audit_maintenance(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(1)) == 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("audit maintenance needs a reason"),
                    errhint("privacy.audit_maintenance(true, 'why the log must be changed').")));
  if (!superuser() && !has_privs_of_role(GetUserId(), pgp::privacy_schema_owner()))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("only the owner of pg_privacy may switch audit maintenance")));
  const bool on = PG_GETARG_BOOL(0);
  JsonbValue reason;
  reason.type = jbvString;
  text* t = PG_GETARG_TEXT_PP(1);
  reason.val.string.val = VARDATA_ANY(t);
  reason.val.string.len = static_cast<int>(VARSIZE_ANY_EXHDR(t));
  pgp::audit::QueueRecord rec;
  rec.kind = "maintenance";
  rec.action = on ? "MAINTENANCE ON" : "MAINTENANCE OFF";
  rec.detail = jsonb_pair("reason", &reason);
  rec.detail_null = false;
  pgp::audit::queue_append(rec);
  pgp::audit::set_maintenance(on);
  PG_RETURN_VOID();
}

// privacy._audit_record(kind text, action text, table_name text, detail jsonb): one record from
// SQL, for the DDL event trigger. Not granted to anyone: the event trigger's function is
// SECURITY DEFINER.
Datum pgp_audit_record(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("an audit record needs a kind and an action")));
  pgp::audit::QueueRecord rec;
  rec.kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
  rec.action = text_to_cstring(PG_GETARG_TEXT_PP(1));
  if (!PG_ARGISNULL(2)) rec.table_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
  if (!PG_ARGISNULL(3)) {
    rec.detail = PG_GETARG_DATUM(3);
    rec.detail_null = false;
  }
  pgp::audit::queue_append(rec);
  PG_RETURN_VOID();
}
