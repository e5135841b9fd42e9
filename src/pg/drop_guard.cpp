// The DROP EXTENSION guard: an event trigger at ddl_command_start refuses DROP EXTENSION
// pg_privacy (and DROP OWNED BY its owner) while keys, wrapped provider API keys or audit
// records would be destroyed, unless privacy.allow_drop_with_data is on (docs/install.md).
//
// Why an event trigger and not a ProcessUtility hook: ddl_command_start fires for DROP EXTENSION
// of the extension that owns the trigger (checked: sql_drop does not, the trigger is gone by
// then), and a C trigger function sees the statement's parse tree, so it knows which extension is
// named. Calling it loads the library, so the guard holds without shared_preload_libraries too.
#include "pg/owner_spi.hpp"
#include "pg/registry.hpp"

#include <initializer_list>

extern "C" {
#include "catalog/pg_extension.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
}

PGP_FUNCTION(pgp_drop_guard)

namespace {

bool names_pg_privacy(const DropStmt* stmt) {
  if (stmt->removeType != OBJECT_EXTENSION) return false;
  ListCell* lc;
  foreach (lc, stmt->objects) {
    Node* obj = static_cast<Node*>(lfirst(lc));
    if (IsA(obj, String) && strcmp(strVal(obj), "pg_privacy") == 0) return true;
  }
  return false;
}

// DROP OWNED BY the extension's owner drops the extension too.
bool drops_owner(const DropOwnedStmt* stmt) {
  const Oid ext = get_extension_oid("pg_privacy", true);
  if (!OidIsValid(ext)) return false;
  const Oid owner = pgp::privacy_schema_owner();
  ListCell* lc;
  foreach (lc, stmt->roles) {
    const Oid role = get_rolespec_oid(static_cast<RoleSpec*>(lfirst(lc)), true);
    if (role == owner) return true;
  }
  return false;
}

// "3 tenant keys (2 tenants), 1 subject key and 40 audit records": the parts that are not zero.
void describe(StringInfo out, const pgp::RawRows& r) {
  struct Part {
    int col;
    const char* one;
    const char* many;
  };
  const Part parts[] = {{0, "tenant key", "tenant keys"},
                        {2, "subject key", "subject keys"},
                        {3, "provider API key", "provider API keys"},
                        {4, "audit record", "audit records"}};
  int shown = 0, total = 0;
  for (const Part& p : parts) total += atol(r.at(0, p.col)) > 0;
  for (const Part& p : parts) {
    const long n = atol(r.at(0, p.col));
    if (n == 0) continue;
    appendStringInfo(out, "%s%ld %s", shown == 0 ? "" : (shown == total - 1 ? " and " : ", "), n,
                     n == 1 ? p.one : p.many);
    if (p.col == 0) {
      const long tenants = atol(r.at(0, 1));
      appendStringInfo(out, " (%ld %s)", tenants, tenants == 1 ? "tenant" : "tenants");
    }
    ++shown;
  }
}

}  // namespace

// privacy._drop_guard(): the event trigger function (ddl_command_start, DROP EXTENSION and DROP
// OWNED). Counts what a drop would destroy as the extension's owner; refuses with PV901 when
// anything would be lost and the setting does not confirm it.
Datum pgp_drop_guard(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("privacy._drop_guard() must be called as an event trigger")));
  Node* tree = reinterpret_cast<EventTriggerData*>(fcinfo->context)->parsetree;
  const bool ours = (IsA(tree, DropStmt) && names_pg_privacy(reinterpret_cast<DropStmt*>(tree))) ||
                    (IsA(tree, DropOwnedStmt) && drops_owner(reinterpret_cast<DropOwnedStmt*>(tree)));
  if (!ours || !OidIsValid(pgp::privacy_relid("tenant_keys"))) PG_RETURN_VOID();
  pgp::RawRows r;
  pgp::owner_execute(
      "SELECT (SELECT count(*) FROM privacy.tenant_keys WHERE wrapped IS NOT NULL AND kind <> 2),"
      "       (SELECT count(DISTINCT tenant_id) FROM privacy.tenant_keys WHERE wrapped IS NOT NULL AND kind <> 2),"
      "       (SELECT count(*) FROM privacy.tenant_keys WHERE wrapped IS NOT NULL AND kind = 2),"
      "       (SELECT count(*) FROM privacy.providers WHERE api_key_wrapped IS NOT NULL),"
      "       (SELECT count(*) FROM privacy.audit_log) + (SELECT count(*) FROM privacy.audit_queue)",
      0, nullptr, nullptr, nullptr, true, &r);
  if (r.nrows != 1) PG_RETURN_VOID();
  bool any = false;
  for (int c : {0, 2, 3, 4}) any = any || atol(r.at(0, c)) > 0;
  if (!any) PG_RETURN_VOID();
  StringInfoData what;
  initStringInfo(&what);
  describe(&what, r);
  if (pgp::settings::allow_drop_with_data) {
    ereport(WARNING, (errmsg("dropping pg_privacy destroys %s", what.data),
                      errdetail("privacy.allow_drop_with_data is on.")));
    PG_RETURN_VOID();
  }
  ereport(ERROR,
          (errcode(MAKE_SQLSTATE('P', 'V', '9', '0', '1')),
           errmsg("dropping pg_privacy would destroy %s", what.data),
           errdetail("Values encrypted under these keys would become unreadable for good (a new CREATE EXTENSION "
                     "makes new keys), providers would lose their API keys, and the audit log and its hash chain "
                     "would be gone."),
           errhint("Keep a copy first (pg_dump -Fc of this database keeps the keys, the providers and the audit "
                   "log); then SET privacy.allow_drop_with_data = on and drop again. See docs/operations.md, "
                   "\"Removing pg_privacy\".")));
  PG_RETURN_VOID();
}
