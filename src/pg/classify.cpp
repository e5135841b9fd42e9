// Column classification (privacy.classify): a reader whose verified roles are not allowed to see
// a classified column reads its masked value, through whatever query, view, CTE or function reads
// it. Enforced in the planner: after the rewriter has expanded views and added row-level-security
// quals, every read of a classified column (a Var) is wrapped in privacy._masked(value, level,
// allowed_roles), which decides per row at execution time, so cached plans stay correct when the
// context changes. Policy quals and WITH CHECK options are left alone: they are the owner's and
// compare raw values. See docs/tenancy.md, "Column classification".
#include "pg/convert.hpp"
#include "pg/guard.hpp"
#include "pg/redact_engine.hpp"
#include "pg/classify.hpp"
#include "pg/privilege.hpp"
#include "pg/registry.hpp"
#include "pg/tenancy.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "catalog/heap.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "utils/jsonb.h"
#include "utils/typcache.h"
}

PGP_FUNCTION(pgp_masked)
PGP_FUNCTION(pgp_masked_row)
PGP_FUNCTION(pgp_forget_column_stats)
PGP_FUNCTION(pgp_classified_mask)

namespace {

// What a reader who may not see a RESTRICTED value gets: the same for every value, so that not
// even its length shows.
constexpr const char* kRestrictedMask = "****";

// ---- the classification cache (backend-local, rebuilt after any change) ---------------------

struct ClassCol {
  AttrNumber attnum;
  char level;            // 'P'ublic, 'I'nternal, 'C'onfidential, 'R'estricted
  Datum level_text;      // text, for the plan-time Const
  Datum allowed_array;   // text[], for the plan-time Const
  int nallowed;
  char** allowed;        // the same roles as C strings, for _masked_row
};

struct ClassRel {
  Oid relid;
  int ncols;
  ClassCol* cols;
  char* nspname;  // for the log hook, which may not read the catalog
  char* relname;
};

MemoryContext g_cxt = nullptr;
bool g_valid = false;
Oid g_config_relid = InvalidOid;  // privacy.classified_columns, when the extension is installed
Oid g_masked_fn = InvalidOid;
Oid g_masked_row_fn = InvalidOid;
ClassRel* g_rels = nullptr;
int g_nrels = 0;

bool reader_exempt();

const ClassRel* find_rel(Oid relid) {
  for (int i = 0; i < g_nrels; ++i)
    if (g_rels[i].relid == relid) return &g_rels[i];
  return nullptr;
}

const ClassCol* find_col(const ClassRel* rel, AttrNumber attnum) {
  for (int i = 0; i < rel->ncols; ++i)
    if (rel->cols[i].attnum == attnum) return &rel->cols[i];
  return nullptr;
}

void on_relcache_invalidation(Oid relid) {
  if (!g_valid) return;
  if (relid == InvalidOid || relid == g_config_relid || find_rel(relid)) g_valid = false;
}

int attnum_of(TupleDesc desc, const char* name) {
  for (int i = 0; i < desc->natts; ++i)
    if (!TupleDescAttr(desc, i)->attisdropped && strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0)
      return i + 1;
  elog(ERROR, "pg_privacy: privacy.classified_columns has no column \"%s\"", name);
  return 0;
}

// Reads privacy.classified_columns with a heap scan (no SPI: this runs inside the planner, and a
// query here would re-enter it) under the latest snapshot, so a transaction whose own snapshot
// is older cannot cache a classification that has since been tightened. Plain Postgres calls
// only: it may ereport, and leaves g_valid false if it does.
void load_cache() {
  if (g_valid) return;
  if (!g_cxt)
    g_cxt = AllocSetContextCreate(TopMemoryContext, "pg_privacy classification", ALLOCSET_SMALL_SIZES);
  MemoryContextReset(g_cxt);
  g_rels = nullptr;
  g_nrels = 0;
  g_config_relid = InvalidOid;
  g_masked_fn = g_masked_row_fn = InvalidOid;

  // Not installed (or an older version): nothing is cached, so CREATE/ALTER EXTENSION is seen
  // by the next query without waiting for an invalidation.
  Oid nsp = get_namespace_oid("privacy", true);
  if (!OidIsValid(nsp)) return;
  Oid config = get_relname_relid("classified_columns", nsp);
  if (!OidIsValid(config)) return;
  Oid masked_args[3] = {ANYELEMENTOID, TEXTOID, TEXTARRAYOID};
  Oid row_args[2] = {ANYELEMENTOID, OIDOID};
  Oid masked = LookupFuncName(list_make2(makeString(pstrdup("privacy")), makeString(pstrdup("_masked"))), 3,
                              masked_args, true);
  Oid masked_row = LookupFuncName(
      list_make2(makeString(pstrdup("privacy")), makeString(pstrdup("_masked_row"))), 2, row_args, true);
  if (!OidIsValid(masked) || !OidIsValid(masked_row)) return;

  Relation rel = table_open(config, AccessShareLock);
  TupleDesc desc = RelationGetDescr(rel);
  const int a_table = attnum_of(desc, "table_name"), a_column = attnum_of(desc, "column_name"),
            a_level = attnum_of(desc, "level"), a_allowed = attnum_of(desc, "allowed_roles");
  Snapshot snap = RegisterSnapshot(GetLatestSnapshot());
  TableScanDesc scan = table_beginscan(rel, snap, 0, nullptr);
  MemoryContext old = MemoryContextSwitchTo(g_cxt);
  int cap = 8;
  ClassRel* rels = static_cast<ClassRel*>(palloc0(sizeof(ClassRel) * cap));
  int nrels = 0;
  HeapTuple tup;
  while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    bool isnull;
    Oid relid = DatumGetObjectId(heap_getattr(tup, a_table, desc, &isnull));
    if (isnull) continue;
    Datum colname = heap_getattr(tup, a_column, desc, &isnull);
    if (isnull) continue;
    // A dropped column (or table) has nothing left to mask. Renames are refused while a
    // column is classified (utility hook below), so a name that resolves is the same column.
    AttrNumber attnum = get_attnum(relid, NameStr(*DatumGetName(colname)));
    if (attnum == InvalidAttrNumber) continue;
    char* level = TextDatumGetCString(heap_getattr(tup, a_level, desc, &isnull));
    if (level[0] == 'P') continue;  // PUBLIC: recorded, never masked
    Datum allowed = heap_getattr(tup, a_allowed, desc, &isnull);
    ClassCol col{};
    col.attnum = attnum;
    col.level = level[0];
    col.level_text = CStringGetTextDatum(level);
    if (isnull) {
      col.allowed_array = PointerGetDatum(construct_empty_array(TEXTOID));
    } else {
      col.allowed_array = datumCopy(allowed, false, -1);
      Datum* elems;
      bool* nulls;
      deconstruct_array(DatumGetArrayTypeP(col.allowed_array), TEXTOID, -1, false, TYPALIGN_INT, &elems,
                        &nulls, &col.nallowed);
      col.allowed = static_cast<char**>(palloc0(sizeof(char*) * (col.nallowed + 1)));
      for (int i = 0; i < col.nallowed; ++i) col.allowed[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
    }
    ClassRel* cr = nullptr;
    for (int i = 0; i < nrels; ++i)
      if (rels[i].relid == relid) cr = &rels[i];
    if (!cr) {
      if (nrels == cap) {
        cap *= 2;
        rels = static_cast<ClassRel*>(repalloc(rels, sizeof(ClassRel) * cap));
      }
      cr = &rels[nrels++];
      *cr = ClassRel{relid, 0, nullptr, nullptr, nullptr};
    }
    cr->cols = static_cast<ClassCol*>(cr->cols ? repalloc(cr->cols, sizeof(ClassCol) * (cr->ncols + 1))
                                               : palloc(sizeof(ClassCol)));
    cr->cols[cr->ncols++] = col;
  }
  table_endscan(scan);
  UnregisterSnapshot(snap);
  table_close(rel, AccessShareLock);
  // A classification holds for every partition and inheritance child of the table, those
  // attached or created after privacy.classify() included: a query on the child directly is
  // planned against the child alone. Columns are matched by name (their numbers may differ).
  // Attaching a partition invalidates the parent's cache entry, which rebuilds this list.
  const int nexplicit = nrels;
  for (int p = 0; p < nexplicit; ++p) {
    ListCell* lc;
    List* children = find_all_inheritors(rels[p].relid, NoLock, nullptr);
    foreach (lc, children) {
      const Oid child = lfirst_oid(lc);
      if (child == rels[p].relid) continue;
      ClassRel* cr = nullptr;
      for (int i = 0; i < nrels; ++i)
        if (rels[i].relid == child) cr = &rels[i];
      if (!cr) {
        if (nrels == cap) {
          cap *= 2;
          rels = static_cast<ClassRel*>(repalloc(rels, sizeof(ClassRel) * cap));
        }
        cr = &rels[nrels++];
        *cr = ClassRel{child, 0, nullptr, nullptr, nullptr};
      }
      for (int c = 0; c < rels[p].ncols; ++c) {
        const char* name = get_attname(rels[p].relid, rels[p].cols[c].attnum, true);
        const AttrNumber attnum = name ? get_attnum(child, name) : InvalidAttrNumber;
        if (attnum == InvalidAttrNumber) continue;
        bool have = false;
        for (int k = 0; k < cr->ncols; ++k) have = have || cr->cols[k].attnum == attnum;
        if (have) continue;  // the child's own classification of the column stands
        ClassCol col = rels[p].cols[c];
        col.attnum = attnum;
        cr->cols = static_cast<ClassCol*>(cr->cols ? repalloc(cr->cols, sizeof(ClassCol) * (cr->ncols + 1))
                                                   : palloc(sizeof(ClassCol)));
        cr->cols[cr->ncols++] = col;
      }
    }
  }
  for (int i = 0; i < nrels; ++i) {
    const char* relname = get_rel_name(rels[i].relid);
    const char* nspname = relname ? get_namespace_name(get_rel_namespace(rels[i].relid)) : nullptr;
    rels[i].relname = relname ? pstrdup(relname) : nullptr;
    rels[i].nspname = nspname ? pstrdup(nspname) : nullptr;
  }
  MemoryContextSwitchTo(old);

  g_rels = rels;
  g_nrels = nrels;
  g_config_relid = config;
  g_masked_fn = masked;
  g_masked_row_fn = masked_row;
  g_valid = true;
}

// ---- the planner hook ------------------------------------------------------------------------

// PG 15's tree walkers and mutators take callbacks declared without a prototype.
template <typename To, typename From>
To old_style(From f) {
  return reinterpret_cast<To>(reinterpret_cast<void (*)()>(f));
}

struct MaskContext {
  List* queries;  // the enclosing queries, innermost first (a Var's varlevelsup indexes it)
};

Node* mask_mutator(Node* node, MaskContext* ctx);

Query* mask_query(Query* q, MaskContext* ctx, int flags) {
  // Row-level-security quals and WITH CHECK options stay as written: they are the table
  // owner's, and compare the stored values.
  List* wco = q->withCheckOptions;
  q->withCheckOptions = NIL;
  const int nrte = list_length(q->rtable);
  List** security = static_cast<List**>(palloc0(sizeof(List*) * (nrte + 1)));
  for (int i = 0; i < nrte; ++i) {
    RangeTblEntry* rte = rt_fetch(i + 1, q->rtable);
    security[i] = rte->securityQuals;
    rte->securityQuals = NIL;
  }
  ctx->queries = lcons(q, ctx->queries);
  Query* out = query_tree_mutator(q, old_style<Node* (*)()>(mask_mutator), ctx, flags);
  ctx->queries = list_delete_first(ctx->queries);
  out->withCheckOptions = wco;
  for (int i = 0; i < nrte; ++i) rt_fetch(i + 1, out->rtable)->securityQuals = security[i];
  return out;
}

Node* mask_var(Var* v, MaskContext* ctx) {
  if (IS_SPECIAL_VARNO(v->varno) || v->varlevelsup >= static_cast<Index>(list_length(ctx->queries))) return nullptr;
  Query* q = static_cast<Query*>(list_nth(ctx->queries, v->varlevelsup));
  if (v->varno < 1 || v->varno > list_length(q->rtable)) return nullptr;
  // EXCLUDED in INSERT ... ON CONFLICT holds the values being inserted, not stored ones.
  if (q->onConflict && static_cast<int>(v->varno) == q->onConflict->exclRelIndex) return nullptr;
  RangeTblEntry* rte = rt_fetch(v->varno, q->rtable);
  if (rte->rtekind != RTE_RELATION) return nullptr;
  const ClassRel* cr = find_rel(rte->relid);
  if (!cr) return nullptr;
  if (v->varattno == 0) {  // whole-row reference: row_to_json(t), SELECT t FROM t, ...
    Const* relid = makeConst(OIDOID, -1, InvalidOid, sizeof(Oid), ObjectIdGetDatum(cr->relid), false, true);
    return reinterpret_cast<Node*>(makeFuncExpr(g_masked_row_fn, v->vartype,
                                                list_make2(copyObjectImpl(v), relid), InvalidOid, InvalidOid,
                                                COERCE_EXPLICIT_CALL));
  }
  const ClassCol* col = find_col(cr, v->varattno);
  if (!col) return nullptr;
  // Copies, not pointers into the cache: a plan can outlive the next cache rebuild.
  Const* level = makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1, datumCopy(col->level_text, false, -1), false,
                           false);
  Const* allowed = makeConst(TEXTARRAYOID, -1, InvalidOid, -1, datumCopy(col->allowed_array, false, -1), false,
                             false);
  FuncExpr* masked = makeFuncExpr(g_masked_fn, v->vartype, list_make3(copyObjectImpl(v), level, allowed),
                                  v->varcollid, v->varcollid, COERCE_EXPLICIT_CALL);
  // Keep the column's typmod (varchar(n), numeric(p,s)): result descriptors of cached plans and
  // clients see the same type as before. Masking keeps the length, but for RESTRICTED's "****".
  if (v->vartypmod < 0) return reinterpret_cast<Node*>(masked);
  return reinterpret_cast<Node*>(
      makeRelabelType(reinterpret_cast<Expr*>(masked), v->vartype, v->vartypmod, v->varcollid, COERCE_IMPLICIT_CAST));
}

Node* mask_mutator(Node* node, MaskContext* ctx) {
  if (node == nullptr) return nullptr;
  if (IsA(node, Var)) {
    Node* wrapped = mask_var(reinterpret_cast<Var*>(node), ctx);
    return wrapped ? wrapped : static_cast<Node*>(copyObjectImpl(node));
  }
  if (IsA(node, Query)) return reinterpret_cast<Node*>(mask_query(reinterpret_cast<Query*>(node), ctx, 0));
  return expression_tree_mutator(node, old_style<Node* (*)()>(mask_mutator), ctx);
}

bool touches_classified(Query* q);

bool touches_walker(Node* node, void*) {
  if (node == nullptr) return false;
  if (IsA(node, Query)) return touches_classified(reinterpret_cast<Query*>(node));
  return expression_tree_walker(node, old_style<bool (*)()>(touches_walker), nullptr);
}

// Cheap pre-check, so queries that read no classified table are planned untouched.
bool touches_classified(Query* q) {
  ListCell* lc;
  foreach (lc, q->rtable) {
    RangeTblEntry* rte = static_cast<RangeTblEntry*>(lfirst(lc));
    if (rte->rtekind == RTE_RELATION && find_rel(rte->relid)) return true;
  }
  return query_tree_walker(q, old_style<bool (*)()>(touches_walker), nullptr, 0);
}

// Set once this backend has seen a classified column, never cleared: the inlining guard below
// must not depend on a cache that an invalidation may have just emptied.
bool g_ever_classified = false;

// The planner inlines SQL functions (a set-returning "SELECT * FROM t", or a scalar body with a
// sub-select) after this hook has run, and plans their bodies without calling it again: their
// reads would escape masking. PostgreSQL does not inline a function for which a plugin asks to
// hook calls, so in a backend that uses classification every SQL-language function is kept
// whole; its body is then planned on its own, through this hook, when it runs.
bool needs_fmgr(Oid fn) {
  if (!g_ever_classified) return false;
  HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
  if (!HeapTupleIsValid(tup)) return false;
  const bool sql = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup))->prolang == SQLlanguageId;
  ReleaseSysCache(tup);
  return sql;
}

Query* planner_before(Query* parse) {
  load_cache();
  if (g_nrels > 0) {
    g_ever_classified = true;
    (void)reader_exempt();  // decided here, while the catalog can be read, for the log hook
  }
  if (g_nrels > 0 && touches_classified(parse)) {
    MaskContext ctx{NIL};
    parse = mask_query(parse, &ctx, QTW_DONT_COPY_QUERY);
  }
  return parse;
}

// Every cached plan depends on the classification: a change to it replans them all.
void planner_after(PlannedStmt* result) {
  if (OidIsValid(g_config_relid)) result->relationOids = lappend_oid(result->relationOids, g_config_relid);
}

// ---- who may read ----------------------------------------------------------------------------

// Superusers and BYPASSRLS roles (the DBA, backups) read stored values, as they do under the
// tenant policies.
// The last decision, for the log hook (which may not read the catalog to make one).
Oid g_exempt_user = InvalidOid;
bool g_exempt = false;

bool reader_exempt() {
  // The statements pg_privacy itself runs under as_role() (the export's and the erasure's reads
  // and writes of a registered table) see stored values, so that ids compare as stored; what
  // they hand to a caller is masked for that caller (privacy._classified_mask). Statements nested
  // in them (a trigger of the table, run as its owner) are the owner's own code: not exempt.
  if (pgp::in_switched_statement()) return true;
  // Foreign-key checks (ri_triggers.c runs them as the table's owner with SECURITY_NOFORCE_RLS,
  // its mark alone) compare stored keys and return no value: masked, a key would never be found.
  if (InNoForceRLSOperation()) return true;
  Oid uid = GetUserId();
  if (uid != g_exempt_user) {
    g_exempt = superuser_arg(uid) || has_bypassrls_privilege(uid);
    g_exempt_user = uid;
  }
  return g_exempt;
}

bool may_read(char level, int nallowed, char** allowed) {
  if (level == 'P') return true;
  if (!pgp::context_is_verified()) return false;
  if (level == 'I' && nallowed == 0) return true;  // INTERNAL without a role list: any verified reader
  for (int i = 0; i < nallowed; ++i)
    if (pgp::context_has_role(allowed[i])) return true;
  return false;
}

bool is_text_like(Oid type) {
  Oid base = getBaseType(type);
  return base == TEXTOID || base == VARCHAROID || base == BPCHAROID;
}

// The masked form of a text-like value. INTERNAL and CONFIDENTIAL hide the whole value but what
// mask() keeps of each finding (a card's last four digits, an email's domain), so a reader can
// still recognise their own data; RESTRICTED hides it entirely, length included.
Datum masked_text(Datum value, char level) {
  if (level == 'R') return PointerGetDatum(cstring_to_text(kRestrictedMask));
  const pgp::core::redact::Engine& eng = pgp::redact_engine();
  text* in = DatumGetTextPP(value);
  return pgp::guarded([&] {
    const std::string_view v = pgp::text_view(in);
    return PointerGetDatum(pgp::make_text(pgp::core::redact::mask_whole(eng, v)));
  });
}

// ---- executor hooks: integrity errors of statements that write a classified table ----------------

// A constraint violation's detail quotes the row ("Failing row contains (...)", "Key (...)=(...)"),
// stored values of classified columns included, and a PL/pgSQL handler can read it (GET STACKED
// DIAGNOSTICS) before any log hook sees it. While a statement writes a classified table with a
// column the reader may not see, an error context callback replaces the detail of every integrity
// violation (class 23): context callbacks run inside errfinish(), before the error is thrown to
// any handler. PostgreSQL does the same for tables under row-level security.
constexpr const char kDetailWithheld[] =
    "[detail withheld by pg_privacy: the table has classified columns this reader may not see]";

void withhold_detail_callback(void*) {
  if (ERRCODE_TO_CATEGORY(geterrcode()) == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION) errdetail("%s", kDetailWithheld);
}

bool hides_a_column(const ClassRel* cr) {
  for (int c = 0; c < cr->ncols; ++c)
    if (!may_read(cr->cols[c].level, cr->cols[c].nallowed, cr->cols[c].allowed)) return true;
  return false;
}

bool writes_hidden(QueryDesc* qd) {
  if (!g_ever_classified || qd->plannedstmt == nullptr || qd->plannedstmt->resultRelations == NIL) return false;
  load_cache();
  if (g_nrels == 0 || reader_exempt()) return false;
  ListCell* lc;
  foreach (lc, qd->plannedstmt->resultRelations) {
    const RangeTblEntry* rte = rt_fetch(lfirst_int(lc), qd->plannedstmt->rtable);
    const ClassRel* cr = find_rel(rte->relid);
    if (cr && hides_a_column(cr)) return true;
  }
  return false;
}

// Pushes the detail guard for the statement when it writes a hidden column; the registry's
// ExecutorRun and ExecutorFinish steps below pop it after the executor returns (an error unwinds
// error_context_stack itself). The executor depth (privilege.hpp) is already counted for this
// statement: privilege's step runs before this one (registry.cpp).
bool push_detail_guard(QueryDesc* qd, ErrorContextCallback* cb) {
  if (!writes_hidden(qd)) return false;
  cb->callback = withhold_detail_callback;
  cb->arg = nullptr;
  cb->previous = error_context_stack;
  error_context_stack = cb;
  return true;
}

// ---- utility hook: COPY TO and column renames --------------------------------------------------

void check_utility(Node* stmt) {
  if (IsA(stmt, CopyStmt)) {
    CopyStmt* copy = reinterpret_cast<CopyStmt*>(stmt);
    if (copy->is_from || copy->relation == nullptr) return;  // COPY (query) TO goes through the planner
    // Catalog lookups before the cache is read: they may process invalidations that rebuild it.
    Oid relid = RangeVarGetRelid(copy->relation, NoLock, true);
    if (!OidIsValid(relid) || reader_exempt()) return;
    load_cache();
    const ClassRel* cr = find_rel(relid);
    if (!cr) return;
    for (int i = 0; i < cr->ncols; ++i)
      if (!may_read(cr->cols[i].level, cr->cols[i].nallowed, cr->cols[i].allowed))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("COPY TO of table \"%s\" would read classified columns this reader may not see",
                               copy->relation->relname),
                        errhint("Use COPY (SELECT ...) TO, which reads the masked values.")));
    return;
  }
  if (IsA(stmt, AlterTableStmt)) {
    // A classified column keeps its statistics off (privacy.classify() set them to 0): pg_stats
    // would show its most common values and histogram to every reader with SELECT.
    AlterTableStmt* at = reinterpret_cast<AlterTableStmt*>(stmt);
    if (at->relation == nullptr) return;
    ListCell* lc;
    foreach (lc, at->cmds) {
      AlterTableCmd* cmd = static_cast<AlterTableCmd*>(lfirst(lc));
      if (cmd->subtype != AT_SetStatistics || cmd->name == nullptr || cmd->def == nullptr) continue;
      if (IsA(cmd->def, Integer) && intVal(cmd->def) == 0) continue;
      Oid relid = RangeVarGetRelid(at->relation, NoLock, true);
      AttrNumber attnum = OidIsValid(relid) ? get_attnum(relid, cmd->name) : InvalidAttrNumber;
      if (attnum == InvalidAttrNumber) continue;
      load_cache();
      const ClassRel* cr = find_rel(relid);
      if (cr && find_col(cr, attnum))
        ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '2', '1', '5')),
                        errmsg("column \"%s\" of relation \"%s\" is classified: its statistics stay off", cmd->name,
                               at->relation->relname),
                        errhint("pg_stats would show its values; privacy.unclassify() turns them back on.")));
    }
    return;
  }
  if (IsA(stmt, RenameStmt)) {
    RenameStmt* rn = reinterpret_cast<RenameStmt*>(stmt);
    if (rn->renameType != OBJECT_COLUMN || rn->relation == nullptr || rn->subname == nullptr) return;
    Oid relid = RangeVarGetRelid(rn->relation, NoLock, true);
    AttrNumber attnum = OidIsValid(relid) ? get_attnum(relid, rn->subname) : InvalidAttrNumber;
    if (attnum == InvalidAttrNumber) return;
    load_cache();
    const ClassRel* cr = find_rel(relid);
    if (cr && find_col(cr, attnum))
      ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '2', '1', '5')),
                      errmsg("column \"%s\" of relation \"%s\" is classified and cannot be renamed", rn->subname,
                             rn->relation->relname),
                      errhint("Call privacy.unclassify() first, rename, then privacy.classify() again.")));
  }
}

}  // namespace

namespace pgp {

bool classified_levels(Oid relid, int natts, char* levels) {
  load_cache();
  const ClassRel* cr = find_rel(relid);
  if (!cr) return false;
  memset(levels, 0, natts);
  for (int i = 0; i < cr->ncols; ++i)
    if (cr->cols[i].attnum >= 1 && cr->cols[i].attnum <= natts) levels[cr->cols[i].attnum - 1] = cr->cols[i].level;
  return true;
}

char* classified_mask_cstring(const char* value, char level) {
  return TextDatumGetCString(masked_text(CStringGetTextDatum(value), level));
}

void withhold_classified_detail(ErrorData* edata) noexcept {
  if (!edata->table_name || (!edata->detail && !edata->detail_log) || g_nrels == 0) return;
  const bool exempt = pgp::in_switched_statement() || (g_exempt_user == GetUserId() && g_exempt);
  if (exempt) return;
  for (int r = 0; r < g_nrels; ++r) {
    const ClassRel& cr = g_rels[r];
    if (!cr.relname || strcmp(cr.relname, edata->table_name) != 0) continue;
    if (edata->schema_name && cr.nspname && strcmp(cr.nspname, edata->schema_name) != 0) continue;
    bool hidden = false;
    for (int c = 0; c < cr.ncols && !hidden; ++c)
      hidden = !may_read(cr.cols[c].level, cr.cols[c].nallowed, cr.cols[c].allowed);
    if (!hidden) return;
    static const char kWithheld[] =
        "[detail withheld by pg_privacy: the table has classified columns this reader may not see]";
    char* copy = static_cast<char*>(palloc_extended(sizeof kWithheld, MCXT_ALLOC_NO_OOM));
    if (copy) memcpy(copy, kWithheld, sizeof kWithheld);
    if (edata->detail) edata->detail = copy;
    if (edata->detail_log) edata->detail_log = nullptr;
    return;
  }
}

// The registry's dispatch (registry.hpp).
void classify_utility_before(const UtilityCall& call) {
  if (call.pstmt->utilityStmt && IsTransactionState()) check_utility(call.pstmt->utilityStmt);
}
Query* classify_planner_before(Query* parse) { return planner_before(parse); }
void classify_planner_after(PlannedStmt* result) { planner_after(result); }
bool classify_needs_fmgr(Oid fn) { return needs_fmgr(fn); }
void classify_on_relcache(Oid relid) { on_relcache_invalidation(relid); }
void classify_emit_log(ErrorData* edata) noexcept { withhold_classified_detail(edata); }

// A statement that writes a classified table: integrity errors lose their detail while it runs.
void classify_executor_run(QueryDesc* qd, ScanDirection dir, uint64 count, bool execute_once, ExecutorRunNext next) {
  ErrorContextCallback cb;
  const bool guard = push_detail_guard(qd, &cb);
  next(qd, dir, count, execute_once);
  if (guard) error_context_stack = cb.previous;
}
// Foreign keys are checked by after-triggers, which run in ExecutorFinish.
void classify_executor_finish(QueryDesc* qd, ExecutorFinishNext next) {
  ErrorContextCallback cb;
  const bool guard = push_detail_guard(qd, &cb);
  next(qd);
  if (guard) error_context_stack = cb.previous;
}

}  // namespace pgp

// privacy._masked(value, level, allowed_roles): the value, or its masked form when the reader
// may not see it. Inserted by the planner around every read of a classified column.
namespace {

// What one call site needs, decoded once: the planner passes the level and the roles as
// constants, so they are parsed on the first row only (fn_extra), not on every row.
struct MaskSite {
  Oid userid;
  bool exempt;
  bool text_like;
  char level;
  int nallowed;
  char** allowed;
};

MaskSite* mask_site(FunctionCallInfo fcinfo) {
  FmgrInfo* fl = fcinfo->flinfo;
  MaskSite* site = static_cast<MaskSite*>(fl->fn_extra);
  const bool constant_args = get_fn_expr_arg_stable(fl, 1) && get_fn_expr_arg_stable(fl, 2);
  if (site && constant_args) {
    if (site->userid != GetUserId()) {  // SET ROLE or a SECURITY DEFINER frame since the last row
      site->userid = GetUserId();
      site->exempt = reader_exempt();
    }
    return site;
  }
  MemoryContext old = MemoryContextSwitchTo(constant_args ? fl->fn_mcxt : CurrentMemoryContext);
  site = static_cast<MaskSite*>(palloc0(sizeof(MaskSite)));
  site->userid = GetUserId();
  site->exempt = reader_exempt();
  site->text_like = is_text_like(get_fn_expr_argtype(fl, 0));
  text* level_text = PG_GETARG_TEXT_PP(1);
  site->level = VARSIZE_ANY_EXHDR(level_text) > 0 ? VARDATA_ANY(level_text)[0] : 'R';
  Datum* elems;
  bool* nulls;
  deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &site->nallowed);
  site->allowed = static_cast<char**>(palloc0(sizeof(char*) * (site->nallowed + 1)));
  for (int i = 0; i < site->nallowed; ++i)
    site->allowed[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
  MemoryContextSwitchTo(old);
  if (constant_args) fl->fn_extra = site;
  return site;
}

}  // namespace

Datum pgp_masked(PG_FUNCTION_ARGS) {
  // The type comes from the call's expression: without one (a call that does not come from a
  // query) nothing says how to read the value.
  if (!OidIsValid(get_fn_expr_argtype(fcinfo->flinfo, 0)))
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("privacy._masked() cannot determine its argument type")));
  Datum value = PG_GETARG_DATUM(0);
  const MaskSite* site = mask_site(fcinfo);
  if (site->exempt || may_read(site->level, site->nallowed, site->allowed)) PG_RETURN_DATUM(value);
  if (!site->text_like) PG_RETURN_NULL();  // other types read as NULL
  return masked_text(value, site->level);
}

// privacy._masked_row(row, relid): a whole-row value of a classified table with each column the
// reader may not see masked.
Datum pgp_masked_row(PG_FUNCTION_ARGS) {
  // PUBLIC may call it (the planner puts it in readers' queries), so it checks what it is given
  // before it reads the value as a row: a row of a table (its composite type), and that table.
  // privacy._masked_row(1, 0) or a text read as a tuple header would otherwise crash the server.
  const Oid argtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
  const Oid relid = PG_GETARG_OID(1);
  if (!OidIsValid(argtype) || !type_is_rowtype(argtype))
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("privacy._masked_row() needs a row of a table"),
                    errhint("The planner inserts privacy._masked_row(); it is not meant to be called directly.")));
  const Oid reltype = get_rel_type_id(relid);
  if (!OidIsValid(reltype) || (argtype != reltype && argtype != RECORDOID))
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("privacy._masked_row() needs a row of the table it names"),
                    errhint("The planner inserts privacy._masked_row(); it is not meant to be called directly.")));
  HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(0);
  if (HeapTupleHeaderGetTypeId(th) != reltype && HeapTupleHeaderGetTypeId(th) != RECORDOID)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("privacy._masked_row() needs a row of the table it names")));
  if (reader_exempt()) PG_RETURN_POINTER(th);
  // Catalog lookups first: they may process invalidations, which rebuild the cache.
  TupleDesc desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(th), HeapTupleHeaderGetTypMod(th));
  bool* text_like = static_cast<bool*>(palloc0(sizeof(bool) * (desc->natts + 1)));
  for (int i = 0; i < desc->natts; ++i) text_like[i] = is_text_like(TupleDescAttr(desc, i)->atttypid);
  (void)pgp::redact_engine();
  load_cache();
  const ClassRel* cr = find_rel(relid);
  // The decision per column, copied out of the cache before anything else can rebuild it.
  const int ncols = cr ? cr->ncols : 0;
  AttrNumber* hide = static_cast<AttrNumber*>(palloc0(sizeof(AttrNumber) * (ncols + 1)));
  char* levels = static_cast<char*>(palloc0(ncols + 1));
  int nhide = 0;
  for (int i = 0; i < ncols; ++i) {
    const ClassCol& col = cr->cols[i];
    if (col.attnum < 1 || col.attnum > desc->natts || may_read(col.level, col.nallowed, col.allowed)) continue;
    hide[nhide] = col.attnum;
    levels[nhide++] = col.level;
  }
  if (nhide == 0) {
    ReleaseTupleDesc(desc);
    PG_RETURN_POINTER(th);
  }
  HeapTupleData tuple;
  tuple.t_len = HeapTupleHeaderGetDatumLength(th);
  ItemPointerSetInvalid(&tuple.t_self);
  tuple.t_tableOid = InvalidOid;
  tuple.t_data = th;
  Datum* values = static_cast<Datum*>(palloc(sizeof(Datum) * desc->natts));
  bool* isnull = static_cast<bool*>(palloc(sizeof(bool) * desc->natts));
  heap_deform_tuple(&tuple, desc, values, isnull);
  for (int i = 0; i < nhide; ++i) {
    const int idx = hide[i] - 1;
    if (isnull[idx]) continue;
    if (text_like[idx])
      values[idx] = masked_text(values[idx], levels[i]);
    else
      isnull[idx] = true;
  }
  HeapTuple out = heap_form_tuple(desc, values, isnull);
  ReleaseTupleDesc(desc);
  PG_RETURN_DATUM(HeapTupleGetDatum(out));
}

// privacy._forget_column_stats(tbl regclass, col name): deletes the column's rows of pg_statistic
// (privacy.classify() sets its statistics target to 0 too, so ANALYZE collects none again). The
// table's owner only.
Datum pgp_forget_column_stats(PG_FUNCTION_ARGS) {
  const Oid relid = PG_GETARG_OID(0);
  const char* col = NameStr(*PG_GETARG_NAME(1));
  if (!pg_class_ownercheck(relid, GetUserId()))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("must be owner of the table to forget its statistics")));
  const AttrNumber attnum = get_attnum(relid, col);
  if (attnum == InvalidAttrNumber)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN), errmsg("column \"%s\" does not exist", col)));
  RemoveStatistics(relid, attnum);
  PG_RETURN_VOID();
}

// privacy._classified_mask(row jsonb, tbl regclass): a row of `tbl` as to_jsonb() gave it, with
// each classified column that the caller of pg_privacy (outer_user(): the role that called
// export_subject, not the owner it runs as) may not see masked as a read would mask it: text
// masked, other values null. For privacy.export_subject(), whose rows are read as the table's
// owner.
Datum pgp_classified_mask(PG_FUNCTION_ARGS) {
  Jsonb* row = PG_GETARG_JSONB_P(0);
  const Oid relid = PG_GETARG_OID(1);
  const Oid reader = pgp::outer_user();
  if (superuser_arg(reader) || has_bypassrls_privilege(reader)) PG_RETURN_JSONB_P(row);
  load_cache();
  const ClassRel* cr = find_rel(relid);
  if (!cr || JB_ROOT_IS_SCALAR(row) || !JB_ROOT_IS_OBJECT(row)) PG_RETURN_JSONB_P(row);
  // The decisions first (a copy: masking may rebuild the cache through the redaction engine).
  const int n = cr->ncols;
  char** names = static_cast<char**>(palloc0(sizeof(char*) * (n + 1)));
  char* levels = static_cast<char*>(palloc0(n + 1));
  bool* text_like = static_cast<bool*>(palloc0(sizeof(bool) * (n + 1)));
  int nhide = 0;
  for (int i = 0; i < n; ++i) {
    const ClassCol& col = cr->cols[i];
    if (may_read(col.level, col.nallowed, col.allowed)) continue;
    const char* name = get_attname(relid, col.attnum, true);
    if (!name) continue;
    names[nhide] = pstrdup(name);
    levels[nhide] = col.level;
    text_like[nhide++] = is_text_like(get_atttype(relid, col.attnum));
  }
  if (nhide == 0) PG_RETURN_JSONB_P(row);
  JsonbParseState* st = nullptr;
  JsonbValue* out = nullptr;
  JsonbIterator* it = JsonbIteratorInit(&row->root);
  JsonbValue v;
  JsonbIteratorToken tok;
  int hide = -1;  // the column whose value comes next, when it is hidden
  int skip = 0;   // depth of a nested value being dropped
  while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
    if (skip > 0) {
      if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT) ++skip;
      if ((tok == WJB_END_ARRAY || tok == WJB_END_OBJECT) && --skip == 0) {
        JsonbValue null_value;
        null_value.type = jbvNull;
        out = pushJsonbValue(&st, WJB_VALUE, &null_value);
      }
      continue;
    }
    if (tok == WJB_KEY) {
      hide = -1;
      for (int i = 0; i < nhide && hide < 0; ++i)
        if (strlen(names[i]) == static_cast<size_t>(v.val.string.len) &&
            memcmp(names[i], v.val.string.val, v.val.string.len) == 0)
          hide = i;
    } else if (hide >= 0) {
      const int h = hide;
      hide = -1;
      if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT) {
        skip = 1;
        continue;
      }
      if (tok == WJB_VALUE && v.type != jbvNull) {
        if (text_like[h] && v.type == jbvString) {
          const char* masked = pgp::classified_mask_cstring(pnstrdup(v.val.string.val, v.val.string.len), levels[h]);
          v.val.string.val = const_cast<char*>(masked);
          v.val.string.len = static_cast<int>(strlen(masked));
        } else {
          v.type = jbvNull;
        }
      }
    }
    JsonbValue* arg = (tok == WJB_KEY || tok == WJB_VALUE || tok == WJB_ELEM || tok == WJB_BEGIN_ARRAY) ? &v : nullptr;
    out = pushJsonbValue(&st, tok, arg);
  }
  PG_RETURN_JSONB_P(JsonbValueToJsonb(out));
}
