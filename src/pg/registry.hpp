// The one registration point: every privacy.* setting, and the plain functions each capability
// offers to the module's single hook or callback of each kind (registry.cpp holds the tables).
#pragma once

#include "pg/pg.hpp"

extern "C" {
#include "access/sdir.h"
#include "nodes/params.h"
#include "nodes/plannodes.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/resowner.h"
}

struct QueryDesc;

namespace pgp {

// ---- settings ---------------------------------------------------------------------------------
// The variables behind the privacy.* settings. registry.cpp defines them and registers each from
// its one table of settings (name, type, default, context, one-line doc); docs/install.md's
// settings table is checked against that table by test/pgtap/01_registry.sql.
namespace settings {
extern char* redact_placeholder;
extern int rule_max_mem_kb;
extern bool scrub_server_log;
extern bool authenticate_session_scope;
extern char* jwt_issuer;
extern char* jwt_audience;
extern int jwt_leeway_s;
extern int jwt_max_token_bytes;
extern char* tenant_claim;
extern char* subject_claim;
extern char* roles_claim;
extern char* region_claim;
extern char* databases;
extern int naptime_s;
extern int purge_lock_timeout_ms;
extern int provider_rpm_subject;
extern int provider_rpm_tenant;
extern int provider_burst_subject;
extern int provider_burst_tenant;
extern int provider_max_concurrency;
extern int provider_max_response_kb;
extern int provider_default_max_tokens;
extern bool provider_redact_responses;
extern char* provider_ca_file;
extern char* keyring_file;
extern char* keyring_command;
extern char* keyring_dir;
extern int max_subject_keys;
extern char* cluster_context;
extern char* history_keep;
extern bool allow_drop_with_data;
}  // namespace settings

// The arguments of one ProcessUtility call, as the hook received them.
struct UtilityCall {
  PlannedStmt* pstmt;
  const char* query;
  bool read_only;
  ProcessUtilityContext context;
  ParamListInfo params;
  QueryEnvironment* env;
  DestReceiver* dest;
  QueryCompletion* qc;
};

// ExecutorRun and ExecutorFinish take steps that wrap the rest of the executor: each is handed
// `next` (the steps after it in its table, then the previous hook or the standard executor) and
// calls it exactly once, so that it can keep state across the call and restore it on errors.
using ExecutorRunNext = void (*)(QueryDesc*, ScanDirection, uint64, bool);
using ExecutorFinishNext = void (*)(QueryDesc*);

// ---- what each capability offers the registry ----------------------------------------------------
// Plain functions; registry.cpp calls them from its dispatch tables in the order written there
// (and in docs/architecture.md). A new capability adds its function here and one line to a table.

// redaction
void redact_engine_on_relcache(Oid relid);    // relid InvalidOid: everything changed
// Drops the engines pinned for the resource owner being released (and every pin at the end of a
// top-level transaction). Allocates nothing.
void redact_engine_on_resource_release(ResourceReleasePhase phase, bool is_commit, bool is_top_level) noexcept;
void log_scrub_emit(ErrorData* edata);         // emit_log_hook; never ereports or throws
// Withholds the statement, details and context of a line of a secret-bearing statement (secret_log.hpp).
void secret_log_emit(ErrorData* edata) noexcept;
void stats_shmem_request();
void stats_shmem_startup();

// tenancy
// DISCARD ALL clears the context; a holdable cursor is refused under a context (PV216).
void tenancy_utility_before(const UtilityCall& call);
void tenancy_on_xact(XactEvent event);
void tenancy_on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId parent);
void tenancy_on_relcache(Oid relid);

// classification
void classify_utility_before(const UtilityCall& call);  // COPY TO and column renames
Query* classify_planner_before(Query* parse);            // masks reads of classified columns
void classify_planner_after(PlannedStmt* result);        // the plan depends on the classification
bool classify_needs_fmgr(Oid fn);
void classify_on_relcache(Oid relid);
// While a statement writes a classified table with a column the reader may not see, integrity
// errors lose their detail (an error context callback); the emit_log step does the same for an
// error that names such a table and reaches the log hook anyway. Never ereports or throws there.
void classify_executor_run(QueryDesc* qd, ScanDirection dir, uint64 count, bool execute_once, ExecutorRunNext next);
void classify_executor_finish(QueryDesc* qd, ExecutorFinishNext next);
void classify_emit_log(ErrorData* edata) noexcept;

// the privilege switch (privilege.cpp): the executor's nesting depth, which tells the statements
// pg_privacy runs under as_role() from those nested in them (in_switched_statement())
void privilege_executor_run(QueryDesc* qd, ScanDirection dir, uint64 count, bool execute_once, ExecutorRunNext next);
void privilege_executor_finish(QueryDesc* qd, ExecutorFinishNext next);

// audit
void audit_utility_after(const UtilityCall& call);       // writes the statement's buffered records
void audit_executor_start_before(QueryDesc* qd, int eflags);
void audit_executor_finish_after(QueryDesc* qd);
void audit_on_xact(XactEvent event);
void audit_on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId parent);
void audit_on_relcache(Oid relid);
void audit_on_role_change();                             // a pg_authid change (AUTHOID syscache)

// tenancy on a Citus cluster (cluster.cpp): the check and assign hooks of privacy.cluster_context
bool cluster_context_check(char** newval, void** extra, GucSource source);
void cluster_context_assign(const char* newval, void* extra);
void cluster_on_relcache(Oid relid);  // the configuration version's tables
// routing (cluster_routing.cpp): the tenant qual that lets Citus route to one shard
Query* cluster_route_planner_before(Query* parse);
void cluster_routing_on_relcache(Oid relid);
void cluster_routing_context_changed(const char* tenant);  // called by tenancy; may reset the plan cache

// retention
void retention_register_workers();  // preloaded only

// provider
void provider_limits_shmem_request();
void provider_limits_shmem_startup();

// crypto
void keyring_on_setting_change();     // privacy.keyring_file / keyring_command assigned
void crypto_keys_on_setting_change(); // privacy.keyring_dir assigned
void crypto_on_xact(XactEvent event);
void crypto_on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId parent);
void crypto_on_relcache(Oid relid);
void crypto_on_proc_exit();

// operations (issue 21): progress and run outcomes in shared memory (ops_state.cpp), hints on
// PostgreSQL's permission and row-level security errors (error_hints.cpp)
void ops_on_xact(XactEvent event);
void ops_on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId parent);
void ops_shmem_request();
void ops_shmem_startup();
// Keeps the (scrubbed) message of the error that ends the current operation, for its history.
void ops_note_error(ErrorData* edata) noexcept;
// Adds pg_privacy's hint to a permission-denied or row-level security error that has none.
void error_hints_emit(ErrorData* edata) noexcept;

// ---- the registry -------------------------------------------------------------------------------
// From _PG_init: settings, then hooks and callbacks, then (preloaded) shared memory and workers.
void registry_init(bool preloaded);

}  // namespace pgp
