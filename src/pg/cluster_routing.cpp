// Routing on a Citus cluster: under a verified context, a query on a protected table distributed
// by its tenant column gets "tenant_column = '<tenant>'" added to its WHERE clause before Citus
// plans it, so that the router planner sends it to that tenant's shard only. Plain RLS fans out to
// every shard (citusdata/citus#6712): the policy's current_tenant() is not a constant at planning.
// The qual is what the tenant policy already enforces, so no result changes (docs/citus.md).
#include "pg/cluster.hpp"
#include "pg/owner_spi.hpp"
#include "pg/registry.hpp"
#include "pg/tenancy.hpp"

extern "C" {
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "utils/fmgroids.h"
#include "utils/plancache.h"
#include "utils/rls.h"
}

#include <cstdlib>

namespace pgp {

namespace {

// Protected tables, and for those distributed by their tenant column, the column. Loaded when a
// backend first plans under a verified context; dropped when privacy.protected_tables or one of
// the tables changes (protect(), create_distributed_table(), ALTER TABLE).
struct RoutedTable {
  Oid relid;
  bool routed;  // distributed by its tenant column, which is text
  AttrNumber attnum;
  Oid collation;
};
constexpr int kMaxTables = 1024;
RoutedTable* g_tables = nullptr;  // TopMemoryContext
int g_ntables = 0;
bool g_valid = false;
bool g_loading = false;
Oid g_protected_relid = InvalidOid;

// The tenant the plans made with a routing qual were made for: a context for another tenant
// resets this backend's plan cache, so that no cached plan keeps another tenant's constant.
char* g_routed_tenant = nullptr;  // TopMemoryContext
bool g_routed = false;

void load() {
  g_ntables = 0;
  g_protected_relid = privacy_relid("protected_tables");
  if (!OidIsValid(g_protected_relid) || !citus_installed()) {
    g_valid = true;
    return;
  }
  static const char* const kQuery[] = {
      "SELECT p.table_name::oid, a.attnum, a.attcollation, "
      "       a.atttypid = 'text'::regtype AND privacy._distribution_column(p.table_name) = p.tenant_column "
      "  FROM privacy.protected_tables p "
      "  JOIN pg_attribute a ON a.attrelid = p.table_name AND a.attname = p.tenant_column"};
  RawRows rows;
  g_loading = true;  // owner_queries plans its query through this hook
  PG_TRY();
  { owner_queries(kQuery, &rows, 1); }
  PG_FINALLY();
  { g_loading = false; }
  PG_END_TRY();
  if (!g_tables)
    g_tables = static_cast<RoutedTable*>(MemoryContextAlloc(TopMemoryContext, sizeof(RoutedTable) * kMaxTables));
  for (int r = 0; r < rows.nrows && g_ntables < kMaxTables; ++r) {
    RoutedTable& t = g_tables[g_ntables++];
    t.relid = static_cast<Oid>(std::strtoul(rows.at(r, 0), nullptr, 10));
    t.attnum = static_cast<AttrNumber>(std::atoi(rows.at(r, 1)));
    t.collation = static_cast<Oid>(std::strtoul(rows.at(r, 2), nullptr, 10));
    t.routed = rows.at(r, 3) && rows.at(r, 3)[0] == 't';
  }
  g_valid = true;
}

const RoutedTable* find(Oid relid) {
  for (int i = 0; i < g_ntables; ++i)
    if (g_tables[i].relid == relid) return &g_tables[i];
  return nullptr;
}

// True when the join tree reads the relation and has no outer join. A WHERE qual on the nullable
// side of an outer join would remove its unmatched rows; and with the policy's qual, the planner
// derives a pseudoconstant "current_tenant() = '<tenant>'" that Citus refuses beside an outer
// join on PostgreSQL 15 and 16. Queries with outer joins fan out, as without routing.
bool inner_joined(Node* n, int rtindex, bool* found) {
  if (IsA(n, RangeTblRef)) {
    if (reinterpret_cast<RangeTblRef*>(n)->rtindex == rtindex) *found = true;
    return true;
  }
  if (IsA(n, FromExpr)) {
    ListCell* lc;
    foreach (lc, reinterpret_cast<FromExpr*>(n)->fromlist)
      if (!inner_joined(static_cast<Node*>(lfirst(lc)), rtindex, found)) return false;
    return true;
  }
  if (IsA(n, JoinExpr)) {
    JoinExpr* j = reinterpret_cast<JoinExpr*>(n);
    return j->jointype == JOIN_INNER && inner_joined(j->larg, rtindex, found) && inner_joined(j->rarg, rtindex, found);
  }
  return false;
}

bool routable(Query* q, int rtindex) {
  bool found = false;
  return inner_joined(reinterpret_cast<Node*>(q->jointree), rtindex, &found) && found;
}

}  // namespace

Query* cluster_route_planner_before(Query* parse) {
  if (g_loading || parse->jointree == nullptr ||
      (parse->commandType != CMD_SELECT && parse->commandType != CMD_UPDATE && parse->commandType != CMD_DELETE))
    return parse;
  const char* tenant = own_tenant_or_null();
  if (!tenant) return parse;
  if (!g_valid) load();
  if (g_ntables == 0) return parse;
  int rtindex = 0;
  ListCell* lc;
  foreach (lc, parse->rtable) {
    ++rtindex;
    RangeTblEntry* rte = static_cast<RangeTblEntry*>(lfirst(lc));
    if (rte->rtekind != RTE_RELATION) continue;
    const RoutedTable* t = find(rte->relid);
    // Only where the tenant policy applies to this reader (not a superuser, BYPASSRLS role or
    // owner of an unforced table: the qual would hide rows they may see), and only for a table
    // of a top-level join tree without outer joins (see inner_joined()).
    if (!t || !t->routed || !routable(parse, rtindex) ||
        check_enable_rls(rte->relid, InvalidOid, true) != RLS_ENABLED)
      continue;
    Var* var = makeVar(rtindex, t->attnum, TEXTOID, -1, t->collation, 0);
    Const* value = makeConst(TEXTOID, -1, t->collation, -1, CStringGetTextDatum(tenant), false, false);
    OpExpr* eq = reinterpret_cast<OpExpr*>(
        make_opclause(TextEqualOperator, BOOLOID, false, reinterpret_cast<Expr*>(var),
                      reinterpret_cast<Expr*>(value), InvalidOid, t->collation));
    eq->opfuncid = F_TEXTEQ;
    Node* quals = parse->jointree->quals;
    parse->jointree->quals = quals ? reinterpret_cast<Node*>(makeBoolExpr(AND_EXPR, list_make2(quals, eq), -1))
                                   : reinterpret_cast<Node*>(eq);
    if (!g_routed || strcmp(g_routed_tenant, tenant) != 0) {
      if (g_routed_tenant) pfree(g_routed_tenant);
      g_routed_tenant = MemoryContextStrdup(TopMemoryContext, tenant);
      g_routed = true;
    }
  }
  return parse;
}

void cluster_routing_context_changed(const char* tenant) {
  if (g_routed && (tenant == nullptr || strcmp(tenant, g_routed_tenant) != 0)) {
    // Plans cached by this backend may hold the previous tenant's constant.
    ResetPlanCache();
    g_routed = false;
  }
}

void cluster_routing_on_relcache(Oid relid) {
  if (!g_valid) return;
  if (relid == InvalidOid || relid == g_protected_relid || find(relid)) g_valid = false;
}

}  // namespace pgp
