// The one privilege switch: every place where pg_privacy acts as another role (the extension's
// owner, a registered table's owner) goes through as_role(), which pins what that role runs.
#pragma once

#include "pg/pg.hpp"

#include <utility>

namespace pgp {

// What enter_role() changed, for leave_role() to put back.
struct RoleSwitch {
  Oid user;
  int sec_context;
  int guc_level;
  int outer_exec_depth;  // the switch's executor depth before this one (nested switches)
};

// Becomes `role` as a security-restricted operation (no SET ROLE, no temporary objects, no
// holdable cursors, as PostgreSQL runs VACUUM or REFRESH MATERIALIZED VIEW), with search_path
// pinned to pg_catalog, pg_temp so that the caller's schemas cannot choose the functions and
// operators that run with the role's rights. Plain C, may ereport: use as_role().
RoleSwitch enter_role(Oid role);
// Restores the identity, the security context and every setting changed since enter_role().
void leave_role(const RoleSwitch& s);

// Runs f() as `role` (see enter_role) and restores the caller's identity, security context and
// search_path on every exit, an error included (restored before the error travels on). `f` holds
// no C++ objects with destructors across Postgres calls (like pg_call's argument); it may call
// guarded(), whose error is raised after its C++ scope has closed.
template <typename F>
void as_role(Oid role, F&& f) {
  const RoleSwitch s = enter_role(role);
  PG_TRY();
  { std::forward<F>(f)(); }
  PG_CATCH();
  {
    leave_role(s);
    PG_RE_THROW();
  }
  PG_END_TRY();
  leave_role(s);
}

// The owner of schema privacy (the extension's owner): the identity configuration is read as.
Oid privacy_schema_owner();

// as_role() as the extension's owner.
template <typename F>
void as_owner(F&& f) {
  as_role(privacy_schema_owner(), std::forward<F>(f));
}

// True while as_role() is switched (on this backend). The role the session acts for is then
// outer_user(); GetUserId() is the role switched to.
bool role_switched();
// The role that called into pg_privacy before its first switch (GetUserId() when none).
Oid outer_user();

// The executor's nesting depth, kept by the registry's ExecutorRun and ExecutorFinish hooks
// (privilege_executor_run/finish, registry.hpp): one more for each ExecutorRun/ExecutorFinish in
// progress.
void executor_enter() noexcept;
void executor_leave() noexcept;
// True while a statement that pg_privacy itself runs under the innermost as_role() executes:
// not a statement nested in it (a trigger's, a function's), which is the switched role's own code.
bool in_switched_statement() noexcept;

}  // namespace pgp
