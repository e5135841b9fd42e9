// The privilege switch (privilege.hpp): the identity, security context and search_path that
// pg_privacy runs with when it acts as the extension's owner or as a table's owner.
#include "pg/privilege.hpp"

#include "pg/registry.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "utils/syscache.h"
}

namespace pgp {

namespace {
// Nesting depth of as_role() and the role the outermost switch was made for. Kept right on every
// exit because as_role() restores on errors too; a transaction abort resets the identity anyway.
int g_depth = 0;
Oid g_outer = InvalidOid;
int g_exec_depth = 0;          // executor nesting (executor_enter/leave)
int g_switch_exec_depth = -1;  // g_exec_depth when the innermost switch was made (-1: none)
}  // namespace

Oid privacy_schema_owner() {
  Oid nsp = get_namespace_oid("privacy", false);
  HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
  if (!HeapTupleIsValid(tup)) elog(ERROR, "pg_privacy: schema privacy not found");
  Oid owner = ((Form_pg_namespace)GETSTRUCT(tup))->nspowner;
  ReleaseSysCache(tup);
  return owner;
}

RoleSwitch enter_role(Oid role) {
  RoleSwitch s;
  GetUserIdAndSecContext(&s.user, &s.sec_context);
  // The caller's search_path must not choose the functions and operators that run as `role`
  // (a public.encode() or public.= shadowing pg_catalog's): pin it, as SET search_path does for
  // a SECURITY DEFINER function. The nest level makes leave_role() undo exactly this.
  s.guc_level = NewGUCNestLevel();
  (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true,
                          0, false);
  SetUserIdAndSecContext(role, s.sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
  if (g_depth++ == 0) g_outer = s.user;
  s.outer_exec_depth = g_switch_exec_depth;
  g_switch_exec_depth = g_exec_depth;
  return s;
}

void leave_role(const RoleSwitch& s) {
  SetUserIdAndSecContext(s.user, s.sec_context);
  // false: every setting changed under the switch is rolled back, not only search_path (a
  // table owner's trigger cannot leave a setting behind in the caller's session), as PostgreSQL
  // does after running index functions.
  AtEOXact_GUC(false, s.guc_level);
  if (g_depth > 0 && --g_depth == 0) g_outer = InvalidOid;
  g_switch_exec_depth = s.outer_exec_depth;
}

void executor_enter() noexcept { ++g_exec_depth; }
void executor_leave() noexcept {
  if (g_exec_depth > 0) --g_exec_depth;
}

// The registry's ExecutorRun and ExecutorFinish steps (registry.hpp): the depth is counted around
// the rest of the executor, and restored on errors too.
void privilege_executor_run(QueryDesc* qd, ScanDirection dir, uint64 count, bool execute_once, ExecutorRunNext next) {
  executor_enter();
  PG_TRY();
  { next(qd, dir, count, execute_once); }
  PG_FINALLY();
  { executor_leave(); }
  PG_END_TRY();
}

void privilege_executor_finish(QueryDesc* qd, ExecutorFinishNext next) {
  executor_enter();
  PG_TRY();
  { next(qd); }
  PG_FINALLY();
  { executor_leave(); }
  PG_END_TRY();
}

// The statements pg_privacy runs under a switch (through SPI) execute one level below the
// executor that called the switching function.
bool in_switched_statement() noexcept { return g_depth > 0 && g_exec_depth == g_switch_exec_depth + 1; }

bool role_switched() { return g_depth > 0; }

Oid outer_user() { return g_depth > 0 ? g_outer : GetUserId(); }

}  // namespace pgp
