// The one registration point of the module: the table of every privacy.* setting, and one hook or
// callback of each kind, each calling the capabilities from a dispatch table in a stated order.
//
// PostgreSQL 15 gives a backend 10 relcache callback slots for everything loaded (Citus takes 5):
// one slot per kind, shared by the capabilities, is what lets pg_privacy load beside it. Every hook
// chains the one installed before it (with Citus first in shared_preload_libraries, Citus's).
// The orders below are documented in docs/architecture.md ("Hooks and callbacks").
#include "pg/registry.hpp"

#include <climits>
#include <cstddef>
#include <iterator>

extern "C" {
#include "executor/executor.h"
#include "optimizer/planner.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/fmgrtab.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace pgp {

// ---- settings -----------------------------------------------------------------------------------

namespace settings {
char* redact_placeholder = nullptr;
int rule_max_mem_kb = 8192;
bool scrub_server_log = true;
bool authenticate_session_scope = false;
char* jwt_issuer = nullptr;
char* jwt_audience = nullptr;
int jwt_leeway_s = 30;
int jwt_max_token_bytes = 8192;
char* tenant_claim = nullptr;
char* subject_claim = nullptr;
char* roles_claim = nullptr;
char* region_claim = nullptr;
char* databases = nullptr;
int naptime_s = 60;
int purge_lock_timeout_ms = 100;
int provider_rpm_subject = 60;
int provider_rpm_tenant = 600;
int provider_burst_subject = 10;
int provider_burst_tenant = 100;
int provider_max_concurrency = 16;
int provider_max_response_kb = 8192;
int provider_default_max_tokens = 1024;
bool provider_redact_responses = false;
char* provider_ca_file = nullptr;
char* keyring_file = nullptr;
char* keyring_command = nullptr;
char* keyring_dir = nullptr;
int max_subject_keys = 100000;
char* cluster_context = nullptr;
char* history_keep = nullptr;
bool allow_drop_with_data = false;
}  // namespace settings

namespace {

enum class Kind { Bool, Int, String };

struct Setting {
  const char* name;
  Kind kind;
  void* var;
  bool bool_default;
  int int_default;
  const char* string_default;
  int min, max;
  GucContext context;
  int flags;
  const char* doc;       // one line: pg_settings.short_desc and the docs' description
  const char* long_doc;  // pg_settings.extra_desc, or nullptr
  GucStringAssignHook assign;
  GucStringCheckHook check;
};

constexpr Setting boolean(const char* name, bool* var, bool def, GucContext ctx, int flags, const char* doc,
                          const char* long_doc = nullptr) {
  return {name, Kind::Bool, var, def, 0, nullptr, 0, 0, ctx, flags, doc, long_doc, nullptr, nullptr};
}
constexpr Setting integer(const char* name, int* var, int def, int min, int max, GucContext ctx, int flags,
                          const char* doc, const char* long_doc = nullptr) {
  return {name, Kind::Int, var, false, def, nullptr, min, max, ctx, flags, doc, long_doc, nullptr, nullptr};
}
constexpr Setting string(const char* name, char** var, const char* def, GucContext ctx, int flags, const char* doc,
                         const char* long_doc = nullptr, GucStringAssignHook assign = nullptr,
                         GucStringCheckHook check = nullptr) {
  return {name, Kind::String, var, false, 0, def, 0, 0, ctx, flags, doc, long_doc, assign, check};
}

// A string setting's assign hook that tells a capability its value changed.
template <void (*F)()>
void on_assign(const char*, void*) {
  F();
}

// Every privacy.* setting, by capability. docs/install.md lists the same rows (checked by a test).
const Setting kSettings[] = {
    // redaction
    boolean("privacy.scrub_server_log", &settings::scrub_server_log, true, PGC_SUSET, 0,
            "Redacts PII and secrets from server log messages.",
            "Message, detail, hint, context, internal query and statement text are redacted before "
            "they are written to the server log (and sent to the client)."),
    string("privacy.redact_placeholder", &settings::redact_placeholder, "[{type}_REDACTED]", PGC_USERSET, 0,
           "Placeholder that privacy.redact() writes for a finding.",
           "{type} is replaced by the entity type, for example [EMAIL_REDACTED]."),
    integer("privacy.rule_max_mem", &settings::rule_max_mem_kb, 8192, 64, 65536, PGC_SUSET, GUC_UNIT_KB,
            "Memory budget of one custom rule's compiled RE2 pattern.",
            "A pattern over the budget is refused when the rule is written."),
    // tenancy
    string("privacy.jwt_issuer", &settings::jwt_issuer, "", PGC_SUSET, 0,
           "Expected iss claim of tokens given to privacy.authenticate() (empty: not checked)."),
    string("privacy.jwt_audience", &settings::jwt_audience, "", PGC_SUSET, 0,
           "Expected aud claim of tokens given to privacy.authenticate() (empty: not checked)."),
    integer("privacy.jwt_leeway", &settings::jwt_leeway_s, 30, 0, 3600, PGC_SUSET, GUC_UNIT_S,
            "Clock skew allowed for exp and nbf, in seconds."),
    integer("privacy.jwt_max_token_bytes", &settings::jwt_max_token_bytes, 8192, 256, 65536, PGC_SUSET, 0,
            "Longest token privacy.authenticate() accepts."),
    string("privacy.tenant_claim", &settings::tenant_claim, "tenant_id", PGC_SUSET, 0,
           "Token claim that names the tenant."),
    string("privacy.subject_claim", &settings::subject_claim, "sub", PGC_SUSET, 0,
           "Token claim that names the subject (user)."),
    string("privacy.roles_claim", &settings::roles_claim, "roles", PGC_SUSET, 0,
           "Token claim that lists the caller's roles."),
    string("privacy.region_claim", &settings::region_claim, "region", PGC_SUSET, 0,
           "Token claim that names the tenant's region."),
    boolean("privacy.authenticate_session_scope", &settings::authenticate_session_scope, false, PGC_SUSET, 0,
            "Lets privacy.authenticate(token, 'session') keep a context after COMMIT.",
            "Off by default: behind a transaction-mode pooler a session context would serve the next client of "
            "the connection. Turn it on only where each database session belongs to one end user."),
    // Any role may set it: the value is checked (sealed by the coordinator, not expired) when set.
    string("privacy.cluster_context", &settings::cluster_context, "", PGC_USERSET,
           GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
           "The verified context a Citus coordinator sends to its workers (sealed; set by pg_privacy).",
           "Set by privacy.authenticate() and privacy.set_context() on a coordinator with SET LOCAL; a worker "
           "accepts only a value sealed with the cluster's master key and not expired (docs/citus.md).",
           cluster_context_assign, cluster_context_check),
    // retention
    string("privacy.databases", &settings::databases, "", PGC_SIGHUP, GUC_LIST_INPUT,
           "Databases the retention background worker purges (comma-separated).",
           "Empty: the worker serves no database. Each listed database gets its own worker."),
    integer("privacy.naptime", &settings::naptime_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S,
            "Time between two purges of the retention background worker."),
    integer("privacy.purge_lock_timeout", &settings::purge_lock_timeout_ms, 100, 1, 60000, PGC_SUSET, GUC_UNIT_MS,
            "lock_timeout of each purge batch: a batch that waits longer is skipped."),
    // provider
    integer("privacy.provider_rpm_subject", &settings::provider_rpm_subject, 60, 0, 1000000, PGC_SUSET, 0,
            "Provider calls per minute per subject (token refill; 0: none)."),
    integer("privacy.provider_rpm_tenant", &settings::provider_rpm_tenant, 600, 0, 1000000, PGC_SUSET, 0,
            "Provider calls per minute per tenant (token refill; 0: none)."),
    integer("privacy.provider_burst_subject", &settings::provider_burst_subject, 10, 1, 1000000, PGC_SUSET, 0,
            "Most provider calls a subject may make at once (bucket size)."),
    integer("privacy.provider_burst_tenant", &settings::provider_burst_tenant, 100, 1, 1000000, PGC_SUSET, 0,
            "Most provider calls a tenant may make at once (bucket size)."),
    integer("privacy.provider_max_concurrency", &settings::provider_max_concurrency, 16, 1, 256, PGC_USERSET, 0,
            "Requests of privacy.provider_call_many in flight at once."),
    integer("privacy.provider_max_response_size", &settings::provider_max_response_kb, 8192, 1, 1024 * 1024, PGC_SUSET,
            GUC_UNIT_KB, "Largest provider answer accepted."),
    integer("privacy.provider_default_max_tokens", &settings::provider_default_max_tokens, 1024, 1, 1000000,
            PGC_USERSET, 0, "max_tokens sent to anthropic when the request has none."),
    boolean("privacy.provider_redact_responses", &settings::provider_redact_responses, false, PGC_SUSET, 0,
            "Also run provider answers through the redaction engine."),
    string("privacy.provider_ca_file", &settings::provider_ca_file, "", PGC_SIGHUP, 0,
           "CA bundle to verify providers' TLS certificates with (empty: the system's)."),
    // crypto
    string("privacy.keyring_file", &settings::keyring_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
           "File holding the master key (64 hex digits or base64 of 32 bytes).",
           "It must be owned by the server's user and not readable by group or others. The key is never "
           "stored in the database.",
           on_assign<keyring_on_setting_change>),
    string("privacy.keyring_command", &settings::keyring_command, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
           "Command that prints the master key (used when privacy.keyring_file is empty).",
           "For a KMS or a vault: it runs through /bin/sh as the server's user and must exit 0.",
           on_assign<keyring_on_setting_change>),
    string("privacy.keyring_dir", &settings::keyring_dir, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
           "Directory of per-tenant secrets that wrap each tenant's data keys.",
           "Deleting a tenant's file (privacy.shred_tenant) makes its keys unrecoverable in every backup of the "
           "database. Must be owned by the server's user, mode 0700, outside the data directory and its backups.",
           on_assign<crypto_keys_on_setting_change>),
    integer("privacy.max_subject_keys", &settings::max_subject_keys, 100000, 1, INT_MAX, PGC_SUSET, 0,
            "Most subject keys one tenant may create (privacy.encrypt(value, subject)).",
            "Each subject key is a row and a file in privacy.keyring_dir; past the bound a new subject's first "
            "encryption fails with PV710."),
    // operations
    string("privacy.history_keep", &settings::history_keep, "90 days", PGC_SUSET, 0,
           "How long privacy.history (and privacy.purge_runs) keeps a run.",
           "An interval; older runs are deleted when a run ends."),
    boolean("privacy.allow_drop_with_data", &settings::allow_drop_with_data, false, PGC_SUSET, 0,
            "Lets DROP EXTENSION pg_privacy destroy keys, provider API keys and the audit log.",
            "Off: the drop is refused (PV901) while any of them exists. Set it for the session that drops."),
};

void register_settings() {
  for (const Setting& s : kSettings) {
    switch (s.kind) {
      case Kind::Bool:
        DefineCustomBoolVariable(s.name, s.doc, s.long_doc, static_cast<bool*>(s.var), s.bool_default, s.context,
                                 s.flags, nullptr, nullptr, nullptr);
        break;
      case Kind::Int:
        DefineCustomIntVariable(s.name, s.doc, s.long_doc, static_cast<int*>(s.var), s.int_default, s.min, s.max,
                                s.context, s.flags, nullptr, nullptr, nullptr);
        break;
      case Kind::String:
        DefineCustomStringVariable(s.name, s.doc, s.long_doc, static_cast<char**>(s.var), s.string_default,
                                   s.context, s.flags, s.check, s.assign, nullptr);
        break;
    }
  }
  // Every privacy.* setting is defined above; the prefix is then reserved so that
  // "SET privacy.typo = ..." is an error instead of a silent placeholder.
  MarkGUCPrefixReserved("privacy");
}

// ---- dispatch tables ------------------------------------------------------------------------------
// One line per capability and event. The order is the capability order (redaction, tenancy,
// classification, audit, retention, provider, crypto) unless a comment says why not.

using UtilityStep = void (*)(const UtilityCall&);
// Before the statement: checks that may refuse it, and state it resets.
constexpr UtilityStep kUtilityBefore[] = {tenancy_utility_before, classify_utility_before};
// After it succeeded.
constexpr UtilityStep kUtilityAfter[] = {audit_utility_after};

using PlannerBefore = Query* (*)(Query*);
// Routing after classification: its tenant qual must reach Citus unmasked.
constexpr PlannerBefore kPlannerBefore[] = {classify_planner_before, cluster_route_planner_before};
using PlannerAfter = void (*)(PlannedStmt*);
constexpr PlannerAfter kPlannerAfter[] = {classify_planner_after};

using NeedsFmgrStep = bool (*)(Oid);
constexpr NeedsFmgrStep kNeedsFmgr[] = {classify_needs_fmgr};

using ExecutorStartStep = void (*)(QueryDesc*, int);
constexpr ExecutorStartStep kExecutorStartBefore[] = {audit_executor_start_before};
// Around the executor (registry.hpp: each step calls `next` once). The privilege switch's depth
// first: classification's step asks it whether the statement is one pg_privacy runs as another role.
using ExecutorRunAround = void (*)(QueryDesc*, ScanDirection, uint64, bool, ExecutorRunNext);
constexpr ExecutorRunAround kExecutorRunAround[] = {privilege_executor_run, classify_executor_run};
using ExecutorFinishAround = void (*)(QueryDesc*, ExecutorFinishNext);
constexpr ExecutorFinishAround kExecutorFinishAround[] = {privilege_executor_finish, classify_executor_finish};
// After the executor finished (and the steps around it returned).
using ExecutorFinishStep = void (*)(QueryDesc*);
constexpr ExecutorFinishStep kExecutorFinishAfter[] = {audit_executor_finish_after};

// Secrets first: whatever privacy.scrub_server_log says, a secret-bearing statement's lines are
// withheld (server log only); then a classified table's constraint details (client too); then
// scrubbing (privacy.scrub_server_log); then operations: pg_privacy's hint on a permission or
// row-level security error that has none (its text quotes no value), and the error that ends an
// operation, kept for its history once scrubbed.
using EmitLogStep = void (*)(ErrorData*);
constexpr EmitLogStep kEmitLog[] = {secret_log_emit, classify_emit_log, log_scrub_emit, error_hints_emit,
                                    ops_note_error};

// Tenancy comes last: whatever runs before it at the end of a transaction still sees the context.
using XactStep = void (*)(XactEvent);
// Operations keep the outcome of a run whose transaction aborts (ops_state.cpp).
constexpr XactStep kXact[] = {audit_on_xact, crypto_on_xact, ops_on_xact, tenancy_on_xact};
using SubXactStep = void (*)(SubXactEvent, SubTransactionId, SubTransactionId);
constexpr SubXactStep kSubXact[] = {audit_on_subxact, crypto_on_subxact, ops_on_subxact, tenancy_on_subxact};

using RelcacheStep = void (*)(Oid);
constexpr RelcacheStep kRelcache[] = {redact_engine_on_relcache, tenancy_on_relcache, cluster_on_relcache,
                                      cluster_routing_on_relcache, classify_on_relcache, audit_on_relcache,
                                      crypto_on_relcache};

using Step = void (*)();
constexpr Step kRoleChange[] = {audit_on_role_change};  // AUTHOID syscache
constexpr Step kShmemRequest[] = {stats_shmem_request, provider_limits_shmem_request, ops_shmem_request};
constexpr Step kShmemStartup[] = {stats_shmem_startup, provider_limits_shmem_startup, ops_shmem_startup};
constexpr Step kProcExit[] = {crypto_on_proc_exit};

using ResourceReleaseStep = void (*)(ResourceReleasePhase, bool, bool);
constexpr ResourceReleaseStep kResourceRelease[] = {redact_engine_on_resource_release};

// ---- the hooks and callbacks ------------------------------------------------------------------------

ProcessUtility_hook_type g_prev_utility = nullptr;
planner_hook_type g_prev_planner = nullptr;
needs_fmgr_hook_type g_prev_needs_fmgr = nullptr;
ExecutorStart_hook_type g_prev_executor_start = nullptr;
ExecutorRun_hook_type g_prev_executor_run = nullptr;
ExecutorFinish_hook_type g_prev_executor_finish = nullptr;
emit_log_hook_type g_prev_emit_log = nullptr;
shmem_request_hook_type g_prev_shmem_request = nullptr;
shmem_startup_hook_type g_prev_shmem_startup = nullptr;

void utility_hook(PlannedStmt* pstmt, const char* query, bool read_only, ProcessUtilityContext context,
                  ParamListInfo params, QueryEnvironment* env, DestReceiver* dest, QueryCompletion* qc) {
  const UtilityCall call{pstmt, query, read_only, context, params, env, dest, qc};
  for (UtilityStep f : kUtilityBefore) f(call);
  if (g_prev_utility)
    g_prev_utility(pstmt, query, read_only, context, params, env, dest, qc);
  else
    standard_ProcessUtility(pstmt, query, read_only, context, params, env, dest, qc);
  for (UtilityStep f : kUtilityAfter) f(call);
}

PlannedStmt* planner(Query* parse, const char* query_string, int cursor_options, ParamListInfo params) {
  for (PlannerBefore f : kPlannerBefore) parse = f(parse);
  PlannedStmt* result = g_prev_planner ? g_prev_planner(parse, query_string, cursor_options, params)
                                       : standard_planner(parse, query_string, cursor_options, params);
  for (PlannerAfter f : kPlannerAfter) f(result);
  return result;
}

bool needs_fmgr(Oid fn) {
  if (g_prev_needs_fmgr && g_prev_needs_fmgr(fn)) return true;
  for (NeedsFmgrStep f : kNeedsFmgr)
    if (f(fn)) return true;
  return false;
}

void executor_start(QueryDesc* qd, int eflags) {
  for (ExecutorStartStep f : kExecutorStartBefore) f(qd, eflags);
  if (g_prev_executor_start)
    g_prev_executor_start(qd, eflags);
  else
    standard_ExecutorStart(qd, eflags);
}

// Step I of the table around ExecutorRun, handed step I + 1 as its `next`; past the last step,
// the previous hook or the standard executor.
template <std::size_t I>
void executor_run_from(QueryDesc* qd, ScanDirection dir, uint64 count, bool execute_once) {
  if constexpr (I < std::size(kExecutorRunAround))
    kExecutorRunAround[I](qd, dir, count, execute_once, executor_run_from<I + 1>);
  else if (g_prev_executor_run)
    g_prev_executor_run(qd, dir, count, execute_once);
  else
    standard_ExecutorRun(qd, dir, count, execute_once);
}

void executor_run(QueryDesc* qd, ScanDirection dir, uint64 count, bool execute_once) {
  executor_run_from<0>(qd, dir, count, execute_once);
}

template <std::size_t I>
void executor_finish_from(QueryDesc* qd) {
  if constexpr (I < std::size(kExecutorFinishAround))
    kExecutorFinishAround[I](qd, executor_finish_from<I + 1>);
  else if (g_prev_executor_finish)
    g_prev_executor_finish(qd);
  else
    standard_ExecutorFinish(qd);
}

void executor_finish(QueryDesc* qd) {
  executor_finish_from<0>(qd);
  for (ExecutorFinishStep f : kExecutorFinishAfter) f(qd);
}

// A line reported while the steps run (none of them ereports; a bug could) passes on unchanged
// instead of entering them again.
bool g_in_emit_log = false;

void emit_log(ErrorData* edata) {
  if (!g_in_emit_log) {
    g_in_emit_log = true;
    for (EmitLogStep f : kEmitLog) f(edata);
    g_in_emit_log = false;
  }
  if (g_prev_emit_log) g_prev_emit_log(edata);
}

void on_xact(XactEvent event, void*) {
  for (XactStep f : kXact) f(event);
}

void on_subxact(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void*) {
  for (SubXactStep f : kSubXact) f(event, sub, parent);
}

void on_relcache(Datum, Oid relid) {
  for (RelcacheStep f : kRelcache) f(relid);
}

void on_authid(Datum, int, uint32) {
  for (Step f : kRoleChange) f();
}

void shmem_request() {
  if (g_prev_shmem_request) g_prev_shmem_request();
  for (Step f : kShmemRequest) f();
}

void shmem_startup() {
  if (g_prev_shmem_startup) g_prev_shmem_startup();
  for (Step f : kShmemStartup) f();
}

void proc_exit_callback(int, Datum) {
  for (Step f : kProcExit) f();
}

void on_resource_release(ResourceReleasePhase phase, bool is_commit, bool is_top_level, void*) {
  for (ResourceReleaseStep f : kResourceRelease) f(phase, is_commit, is_top_level);
}

}  // namespace

void registry_init(bool preloaded) {
  register_settings();

  g_prev_utility = ProcessUtility_hook;
  ProcessUtility_hook = utility_hook;
  g_prev_planner = planner_hook;
  planner_hook = planner;
  g_prev_needs_fmgr = needs_fmgr_hook;
  needs_fmgr_hook = needs_fmgr;
  g_prev_executor_start = ExecutorStart_hook;
  ExecutorStart_hook = executor_start;
  g_prev_executor_run = ExecutorRun_hook;
  ExecutorRun_hook = executor_run;
  g_prev_executor_finish = ExecutorFinish_hook;
  ExecutorFinish_hook = executor_finish;
  g_prev_emit_log = emit_log_hook;
  emit_log_hook = emit_log;

  RegisterXactCallback(on_xact, nullptr);
  RegisterSubXactCallback(on_subxact, nullptr);
  CacheRegisterRelcacheCallback(on_relcache, 0);
  CacheRegisterSyscacheCallback(AUTHOID, on_authid, 0);
  RegisterResourceReleaseCallback(on_resource_release, nullptr);
  on_proc_exit(proc_exit_callback, 0);

  if (!preloaded) return;
  g_prev_shmem_request = shmem_request_hook;
  shmem_request_hook = shmem_request;
  g_prev_shmem_startup = shmem_startup_hook;
  shmem_startup_hook = shmem_startup;
  retention_register_workers();
}

}  // namespace pgp
