// The audit queue writer and the backend state of audit: the pass flags of the sealer, the purge
// and the maintenance switch, and the cached HMAC key.
#include "pg/audit.hpp"
#include "pg/owner_spi.hpp"
#include "pg/registry.hpp"
#include "pg/tenancy.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/table.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "access/xact.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "tcop/utility.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"
}

PGP_FUNCTION(pgp_audit_new_key)

namespace pgp::audit {

namespace {

bool g_seal = false;
bool g_purge = false;
bool g_erase = false;
bool g_maintenance = false;

// The queue and its sequence, looked up once per backend (four catalog look-ups per record
// otherwise) and forgotten when either relation's cache entry is invalidated (DROP EXTENSION).
Oid g_queue = InvalidOid;
Oid g_queue_seq = InvalidOid;

constexpr int kQueueColumns = 14;

unsigned char g_key[kHmacKeyBytes];
bool g_key_valid = false;
Oid g_settings_relid = InvalidOid;

// ---- the write buffer ----------------------------------------------------------------------
// Records are buffered and written to the queue by table_multi_insert(): one WAL record and one
// buffer lock per page of records instead of per record (bulk statements write a record per
// row). The buffer is written when full, after every statement (ExecutorFinish, after the AFTER
// triggers fired; ProcessUtility, for COPY and TRUNCATE), before a statement starts (so that
// what it reads includes them), and before commit or prepare. It belongs to the subtransaction
// that filled it: dropped when that aborts (as its rows would be), handed to the parent when it
// commits. While it holds rows of another subtransaction, a record goes to the heap at once.
constexpr int kMaxBuffered = 1000;
constexpr Size kMaxBufferedBytes = 256 * 1024;
MemoryContext g_buf_cxt = nullptr;
HeapTuple g_buf[kMaxBuffered];
int g_nbuf = 0;
Size g_buf_bytes = 0;
SubTransactionId g_buf_subxact = InvalidSubTransactionId;
Oid g_buf_queue = InvalidOid;  // the queue the buffered records are for (g_queue may be reset meanwhile)

void buffer_discard() {
  g_nbuf = 0;
  g_buf_bytes = 0;
  g_buf_subxact = InvalidSubTransactionId;
  if (g_buf_cxt) MemoryContextReset(g_buf_cxt);
}

// The slots table_multi_insert() takes, made once per backend over a copy of the queue's
// descriptor that is not reference-counted: slots over the relation's own descriptor each
// register it with the resource owner, whose list of 1,000 entries is searched linearly on
// release (a fifth of the bulk-insert time).
TupleTableSlot* g_slots[kMaxBuffered];
int g_nslots = 0;
TupleDesc g_slot_desc = nullptr;
Oid g_slot_queue = InvalidOid;

TupleTableSlot** flush_slots(Relation rel, int n) {
  if (g_slot_queue != RelationGetRelid(rel)) {
    for (int i = 0; i < g_nslots; ++i) ExecDropSingleTupleTableSlot(g_slots[i]);
    g_nslots = 0;
    if (g_slot_desc) FreeTupleDesc(g_slot_desc);
    g_slot_desc = nullptr;
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    g_slot_desc = CreateTupleDescCopy(RelationGetDescr(rel));
    MemoryContextSwitchTo(old);
    g_slot_queue = RelationGetRelid(rel);
  }
  if (g_nslots < n) {
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    for (; g_nslots < n; ++g_nslots) g_slots[g_nslots] = MakeSingleTupleTableSlot(g_slot_desc, &TTSOpsHeapTuple);
    MemoryContextSwitchTo(old);
  }
  return g_slots;
}

// The queue is written by a direct heap insert, which maintains no index, checks no constraint
// and fires no trigger: it is verified before each write (once per relcache entry) to be what
// that insert can write correctly: a plain heap table, no index (an index added later would
// silently miss every record written here), no CHECK constraint, and exactly the expected
// columns and types. PV305 otherwise.
Oid g_queue_verified = InvalidOid;

void verify_queue(Relation rel) {
  const Oid relid = RelationGetRelid(rel);
  if (relid == g_queue_verified) return;
  const char* problem = nullptr;
  TupleDesc desc = RelationGetDescr(rel);
  if (rel->rd_rel->relkind != RELKIND_RELATION)
    problem = "It is not a plain table.";
  else if (rel->rd_rel->relam != HEAP_TABLE_AM_OID)
    problem = "It does not use the heap access method.";
  else if (RelationGetIndexList(rel) != NIL)
    problem = "It has an index, which the queue writer would not maintain.";
  else if (desc->constr && desc->constr->num_check > 0)
    problem = "It has a CHECK constraint, which the queue writer would not check.";
  else if (desc->natts != kQueueColumns)
    problem = "It does not have the expected columns.";
  for (int i = 0; !problem && i < kQueueColumns; ++i) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped || strcmp(NameStr(att->attname), kRecordColumns[i]) != 0 || att->atttypid != kRecordTypes[i])
      problem = "It does not have the expected columns.";
  }
  if (problem)
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '3', '0', '5')),
                    errmsg("pg_privacy's audit queue has an unexpected shape"), errdetail("%s", problem),
                    errhint("The queue is written directly, without indexes, constraints or triggers: undo the change "
                            "to privacy.audit_queue.")));
  g_queue_verified = relid;
}

void buffer_flush() {
  if (g_nbuf == 0 || g_buf_subxact != GetCurrentSubTransactionId()) return;
  Relation rel = table_open(g_buf_queue, RowExclusiveLock);
  verify_queue(rel);
  if (g_nbuf == 1) {  // a single-row statement: no slots needed
    g_nbuf = 0;
    simple_heap_insert(rel, g_buf[0]);
    table_close(rel, NoLock);
    buffer_discard();
    return;
  }
  TupleTableSlot** slots = flush_slots(rel, g_nbuf);
  for (int i = 0; i < g_nbuf; ++i) ExecStoreHeapTuple(g_buf[i], slots[i], false);
  const int n = g_nbuf;
  g_nbuf = 0;  // an error below aborts the (sub)transaction, which drops the buffer anyway
  table_multi_insert(rel, slots, n, GetCurrentCommandId(true), 0, nullptr);
  for (int i = 0; i < n; ++i) ExecClearTuple(slots[i]);
  table_close(rel, NoLock);
  buffer_discard();
}

void on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId parent) {
  if (g_buf_subxact == InvalidSubTransactionId) return;
  if (event == SUBXACT_EVENT_ABORT_SUB && g_buf_subxact >= sub) buffer_discard();
  if (event == SUBXACT_EVENT_COMMIT_SUB && g_buf_subxact == sub) g_buf_subxact = parent;
}

// Every pass ends with its transaction, committed or not: a switch cannot be left on.
void on_xact(XactEvent event) {
  switch (event) {
    case XACT_EVENT_PRE_COMMIT:
    case XACT_EVENT_PRE_PREPARE:
      // Every subtransaction has ended: what is left belongs to the transaction.
      if (g_nbuf > 0) {
        g_buf_subxact = GetCurrentSubTransactionId();
        buffer_flush();
      }
      return;
    case XACT_EVENT_PARALLEL_PRE_COMMIT:
      return;
    default:
      break;
  }
  buffer_discard();
  switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
      g_seal = g_purge = g_erase = g_maintenance = false;
      break;
    default:
      break;
  }
}

void on_relcache(Oid relid) {
  if (relid == InvalidOid || relid == g_settings_relid) g_key_valid = false;
  if (relid == InvalidOid || relid == g_queue || relid == g_queue_seq) g_queue = g_queue_seq = InvalidOid;
  if (relid == InvalidOid || relid == g_queue_verified) g_queue_verified = InvalidOid;
}

}  // namespace

namespace {
bool& pass_flag(Pass p) { return p == Pass::Seal ? g_seal : p == Pass::Purge ? g_purge : g_erase; }
}  // namespace
void set_pass(Pass p, bool on) { pass_flag(p) = on; }
bool pass_on(Pass p) { return pass_flag(p); }
bool maintenance_on() { return g_maintenance; }
void set_maintenance(bool on) { g_maintenance = on; }

namespace {

// The name of the acting role, looked up once per role rather than once per record (a bulk
// insert writes a record per row); a rename of any role drops it.
Oid g_role_uid = InvalidOid;
char g_role[NAMEDATALEN];

const char* role_name(Oid uid) {
  if (uid != g_role_uid) {
    strlcpy(g_role, GetUserNameFromId(uid, false), sizeof(g_role));
    g_role_uid = uid;
  }
  return g_role;
}

}  // namespace

void queue_append(const QueueRecord& r) {
  if (!OidIsValid(g_queue) || !OidIsValid(g_queue_seq)) {
    g_queue = privacy_relid("audit_queue");
    g_queue_seq = privacy_relid("audit_queue_qid_seq");
  }
  const Oid queue = g_queue, seq = g_queue_seq;
  if (!OidIsValid(queue) || !OidIsValid(seq))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("pg_privacy's audit queue does not exist"),
                    errhint("Update the extension: ALTER EXTENSION pg_privacy UPDATE.")));
  Datum values[kQueueColumns];
  bool nulls[kQueueColumns] = {};
  const char* tenant = current_tenant_or_null();
  const char* subject = current_subject_or_null();
  values[0] = Int64GetDatum(nextval_internal(seq, false));
  values[1] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
  values[2] = FullTransactionIdGetDatum(GetTopFullTransactionId());
  values[3] = tenant ? CStringGetTextDatum(tenant) : (nulls[3] = true, (Datum)0);
  values[4] = subject ? CStringGetTextDatum(subject) : (nulls[4] = true, (Datum)0);
  values[5] = BoolGetDatum(false);  // subject_erased: the raw subject, hashed as its HMAC
  // The session's role as SET ROLE left it: a SECURITY DEFINER function does not change it.
  values[6] = CStringGetTextDatum(role_name(GetOuterUserId()));
  values[7] = CStringGetTextDatum(r.action);
  values[8] = CStringGetTextDatum(r.kind);
  values[9] = r.table_name ? CStringGetTextDatum(r.table_name) : (nulls[9] = true, (Datum)0);
  values[10] = r.pk;
  nulls[10] = r.pk_null;
  values[11] = r.changed_columns;
  nulls[11] = r.changed_columns_null;
  values[12] = r.row_values;
  nulls[12] = r.row_values_null;
  values[13] = r.detail;
  nulls[13] = r.detail_null;

  Relation rel = table_open(queue, RowExclusiveLock);
  verify_queue(rel);
  const SubTransactionId sub = GetCurrentSubTransactionId();
  if (g_nbuf > 0 && (g_buf_subxact != sub || g_buf_queue != queue)) {
    // The buffer holds another subtransaction's records: this one goes to the heap at once.
    simple_heap_insert(rel, heap_form_tuple(RelationGetDescr(rel), values, nulls));
    table_close(rel, NoLock);
    return;
  }
  if (!g_buf_cxt)
    g_buf_cxt = AllocSetContextCreate(TopMemoryContext, "pg_privacy audit queue buffer", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(g_buf_cxt);
  HeapTuple tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
  MemoryContextSwitchTo(old);
  table_close(rel, NoLock);
  g_buf[g_nbuf++] = tup;
  g_buf_subxact = sub;
  g_buf_queue = queue;
  g_buf_bytes += tup->t_len;
  if (g_nbuf == kMaxBuffered || g_buf_bytes >= kMaxBufferedBytes) buffer_flush();
}

void require_read_committed(const char* fn) {
  if (IsolationUsesXactSnapshot())
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '3', '0', '2')),
                    errmsg("%s must run in a READ COMMITTED transaction", fn),
                    errhint("Call it outside a REPEATABLE READ or SERIALIZABLE transaction.")));
}

void lock_chain() {
  if (SPI_execute("LOCK TABLE privacy.audit_checkpoints IN SHARE ROW EXCLUSIVE MODE", false, 0) != SPI_OK_UTILITY)
    elog(ERROR, "pg_privacy: could not lock the audit chain");
  CommandCounterIncrement();
  PushActiveSnapshot(GetTransactionSnapshot());
}

void end_chain() { PopActiveSnapshot(); }

const unsigned char* hmac_key() {
  if (g_key_valid) return g_key;
  static const char* const kQuery[] = {"SELECT encode(hmac_key, 'hex') FROM privacy.audit_settings"};
  RawRows rows;
  owner_queries(kQuery, &rows, 1);
  const char* hex = rows.nrows == 1 ? rows.at(0, 0) : nullptr;
  if (!hex || strlen(hex) != 2 * kHmacKeyBytes)
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '3', '0', '4')),
                    errmsg("the audit HMAC key is missing or malformed"),
                    errhint("privacy.audit_settings must hold one row with a 32-byte hmac_key.")));
  hex_decode(hex, 2 * kHmacKeyBytes, reinterpret_cast<char*>(g_key));
  g_settings_relid = privacy_relid("audit_settings");
  g_key_valid = true;
  return g_key;
}

}  // namespace pgp::audit

namespace pgp {

// The registry's dispatch (registry.hpp). Records are written before a statement starts (so
// that what it reads includes them), after it finished (its AFTER triggers fired) and after a
// utility statement (COPY, TRUNCATE).
void audit_utility_after(const UtilityCall&) { audit::buffer_flush(); }
void audit_executor_start_before(QueryDesc*, int) { audit::buffer_flush(); }
void audit_executor_finish_after(QueryDesc*) { audit::buffer_flush(); }
void audit_on_xact(XactEvent event) { audit::on_xact(event); }
void audit_on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId parent) {
  audit::on_subxact(event, sub, parent);
}
void audit_on_relcache(Oid relid) { audit::on_relcache(relid); }
void audit_on_role_change() { audit::g_role_uid = InvalidOid; }

}  // namespace pgp

// privacy._audit_new_key(): 32 bytes from the server's strong random source, for the HMAC key.
Datum pgp_audit_new_key(PG_FUNCTION_ARGS) {
  bytea* out = static_cast<bytea*>(palloc(VARHDRSZ + pgp::audit::kHmacKeyBytes));
  SET_VARSIZE(out, VARHDRSZ + pgp::audit::kHmacKeyBytes);
  if (!pg_strong_random(VARDATA(out), pgp::audit::kHmacKeyBytes))
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random bytes")));
  PG_RETURN_BYTEA_P(out);
}
