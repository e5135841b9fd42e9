// Hints for the errors a DBA meets first, added to PostgreSQL's own messages as they are
// reported (from the emit_log_hook, log_scrub.cpp): a "permission denied" on one of pg_privacy's
// objects names the role that holds the privilege (privacy.role_grants), and a row refused by
// row-level security says whether the transaction has a verified tenant context. Runs while an
// error is being reported: no catalog access, no ereport, allocation in the error context only.
#include "pg/error_hints.hpp"
#include "pg/tenancy.hpp"

#include <cstdio>
#include <cstring>

namespace {

struct Grant {
  const char* object;
  const char* role;
};

// The public objects of privacy.role_grants (and pg_monitor's), by name: checked against the
// view by privacy._permission_hint() in test/pgtap/80_operations.sql.
constexpr Grant kGrants[] = {
    {"authenticate", "privacy_app"}, {"logout", "privacy_app"}, {"current_tenant", "privacy_app"},
    {"current_subject", "privacy_app"}, {"current_roles", "privacy_app"}, {"current_region", "privacy_app"},
    {"encrypt", "privacy_app"}, {"decrypt", "privacy_app"}, {"decrypt_bytea", "privacy_app"},
    {"pseudonymize", "privacy_app"}, {"provider_call", "privacy_app"}, {"provider_call_many", "privacy_app"},
    {"redact", "privacy_app"}, {"mask", "privacy_app"}, {"detect", "privacy_app"}, {"contains_pii", "privacy_app"},
    {"redact_jsonb", "privacy_app"}, {"sanitize_csv", "privacy_app"}, {"version", "privacy_app"},
    {"preloaded", "privacy_app"}, {"set_context", "privacy_middleware"}, {"audit_log", "privacy_auditor"},
    {"audit_checkpoints", "privacy_auditor"}, {"audit_by_table", "privacy_auditor"},
    {"audit_by_tenant", "privacy_auditor"}, {"audit_by_subject", "privacy_auditor"},
    {"audit_verify", "privacy_auditor"}, {"audit_head", "privacy_auditor"}, {"audit_hmac", "privacy_auditor"},
    {"history", "privacy_auditor, privacy_officer or privacy_purger"}, {"export_subject", "privacy_officer"},
    {"erase_subject", "privacy_officer"}, {"shred_subject", "privacy_officer"}, {"place_hold", "privacy_officer"},
    {"release_hold", "privacy_officer"}, {"subject_tables", "privacy_officer"},
    {"legal_holds", "privacy_officer or privacy_purger"}, {"purge", "privacy_purger"},
    {"purge_preview", "privacy_purger"}, {"audit_seal", "privacy_purger"}, {"audit_purge", "privacy_purger"},
    {"retention_policies", "privacy_purger"}, {"tenants", "privacy_purger"},
    {"region_retention", "privacy_purger"}, {"purge_runs", "privacy_purger"},
    {"legal_holds_id_seq", "privacy_officer"}, {"purge_runs_run_id_seq", "privacy_purger"}, {"status", "pg_monitor"},
    {"progress", "pg_monitor"}, {"metrics", "pg_monitor"},
};

const char* const kKinds[] = {"function ", "procedure ", "table ", "view ", "sequence "};

void set_hint(ErrorData* edata, const char* text) {
  char* h = static_cast<char*>(palloc_extended(strlen(text) + 1, MCXT_ALLOC_NO_OOM));
  if (!h) return;
  memcpy(h, text, strlen(text) + 1);
  edata->hint = h;
}

}  // namespace

namespace pgp {

const char* permission_hint_role(const char* object) noexcept {
  for (const Grant& g : kGrants)
    if (strcmp(g.object, object) == 0) return g.role;
  return nullptr;
}

void add_error_hint(ErrorData* edata) noexcept {
  if (edata->elevel < ERROR || edata->hint || !edata->message || edata->sqlerrcode != ERRCODE_INSUFFICIENT_PRIVILEGE)
    return;
  char hint[512];
  static const char kDenied[] = "permission denied for ";
  if (strncmp(edata->message, kDenied, sizeof kDenied - 1) == 0) {
    const char* rest = edata->message + sizeof kDenied - 1;
    for (const char* kind : kKinds) {
      if (strncmp(rest, kind, strlen(kind)) != 0) continue;
      const char* role = permission_hint_role(rest + strlen(kind));
      if (!role) return;
      snprintf(hint, sizeof hint,
               "pg_privacy: privacy.%s is granted to %s (privacy.role_grants lists who may do what); "
               "SELECT * FROM privacy.create_roles() creates the roles, then GRANT the role to the login role.",
               rest + strlen(kind), role);
      set_hint(edata, hint);
      return;
    }
    return;
  }
  static const char kRls[] = "new row violates row-level security policy";
  if (strncmp(edata->message, kRls, sizeof kRls - 1) == 0) {
    set_hint(edata, context_is_verified()
                        ? "pg_privacy: on a table protected by privacy.protect(), a row's tenant column must be "
                          "the verified tenant, privacy.current_tenant()."
                        : "pg_privacy: this transaction has no verified tenant context: call "
                          "privacy.authenticate(token) first, in the same transaction (docs/tenancy.md).");
  }
}

}  // namespace pgp
