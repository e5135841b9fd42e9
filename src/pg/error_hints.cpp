// Hints for the errors a DBA meets first, added to PostgreSQL's own messages as they are
// reported (a step of the emit_log hook, registry.cpp): a "permission denied" on one of pg_privacy's
// objects names the role that holds the privilege (privacy.role_grants), and a row refused by
// row-level security says whether the transaction has a verified tenant context. Runs while an
// error is being reported: no catalog access, no ereport, allocation in the error context only.
#include "pg/error_hints.hpp"
#include "pg/registry.hpp"
#include "pg/tenancy.hpp"

#include <cstdio>
#include <cstring>

namespace {

struct Grant {
  const char* object;
  const char* role;
};

// The public objects of privacy.role_grants (src/sql/0.4.0/85_roles.sql, the one definition of
// who may do what), by name, with the roles that view grants them to: the hint cannot read the
// catalog while an error is reported. test/pgtap/80_operations.sql checks this table against the
// view through privacy._permission_hint().
constexpr Grant kGrants[] = {
    // PUBLIC's application surface (a "permission denied" on one means a DBA revoked it)
    {"version", "PUBLIC"}, {"preloaded", "PUBLIC"}, {"detect", "PUBLIC"}, {"redact", "PUBLIC"}, {"mask", "PUBLIC"},
    {"contains_pii", "PUBLIC"}, {"redact_jsonb", "PUBLIC"}, {"sanitize_csv", "PUBLIC"}, {"detectors", "PUBLIC"},
    {"finding_stats", "PUBLIC"}, {"redact_trigger", "PUBLIC"}, {"encrypt_trigger", "PUBLIC"},
    {"authenticate", "PUBLIC"}, {"logout", "PUBLIC"}, {"current_tenant", "PUBLIC"}, {"current_subject", "PUBLIC"},
    {"current_roles", "PUBLIC"}, {"current_region", "PUBLIC"}, {"encrypt", "PUBLIC"}, {"decrypt", "PUBLIC"},
    {"decrypt_bytea", "PUBLIC"}, {"pseudonymize", "PUBLIC"}, {"provider_call", "PUBLIC"},
    {"provider_call_many", "PUBLIC"}, {"audit_by_table", "PUBLIC"}, {"audit_by_tenant", "PUBLIC"},
    {"audit_by_subject", "PUBLIC"}, {"findings", "PUBLIC"}, {"role_grants", "PUBLIC"},
    {"set_context", "privacy_middleware"},
    {"audit_log", "privacy_auditor"}, {"audit_checkpoints", "privacy_auditor"}, {"audit_verify", "privacy_auditor"},
    {"audit_head", "privacy_auditor"}, {"audit_hmac", "privacy_auditor"}, {"cluster_audit_verify", "privacy_auditor"},
    {"history", "privacy_auditor, privacy_officer, privacy_purger or pg_monitor"},
    {"export_subject", "privacy_officer"}, {"erase_subject", "privacy_officer"}, {"shred_subject", "privacy_officer"},
    {"place_hold", "privacy_officer"}, {"release_hold", "privacy_officer"}, {"subject_tables", "privacy_officer"},
    {"legal_holds", "privacy_officer or privacy_purger"}, {"legal_holds_id_seq", "privacy_officer"},
    {"purge", "privacy_purger"}, {"purge_preview", "privacy_purger"}, {"audit_seal", "privacy_purger"},
    {"audit_purge", "privacy_purger"}, {"retention_policies", "privacy_purger"}, {"tenants", "privacy_purger"},
    {"region_retention", "privacy_purger"}, {"purge_runs", "privacy_purger"}, {"purge_runs_run_id_seq", "privacy_purger"},
    {"status", "pg_monitor"}, {"progress", "pg_monitor"}, {"metrics", "pg_monitor"},
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
               "GRANT that role to the login role.",
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

void error_hints_emit(ErrorData* edata) noexcept { add_error_hint(edata); }

}  // namespace pgp
