// SQL entry points of tenancy: authenticate (JWT), set_context (trusted middleware), logout,
// current_tenant/subject/roles/region, and signing-key validation. The context lives in backend
// memory and is cleared at transaction end (or kept for the session when asked), on DISCARD ALL,
// and when a subtransaction that set it aborts.
#include "core/crypto/jwt.hpp"
#include "pg/cluster.hpp"
#include "pg/convert.hpp"
#include "pg/owner_spi.hpp"
#include "pg/registry.hpp"
#include "pg/secret_log.hpp"
#include "pg/tenancy.hpp"

#include <ctime>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" {
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/portal.h"
#include "utils/array.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

PGP_FUNCTION(pgp_authenticate)
PGP_FUNCTION(pgp_set_context)
PGP_FUNCTION(pgp_logout)
PGP_FUNCTION(pgp_current_tenant)
PGP_FUNCTION(pgp_current_subject)
PGP_FUNCTION(pgp_current_roles)
PGP_FUNCTION(pgp_current_region)
PGP_FUNCTION(pgp_validate_signing_key)

namespace cc = pgp::core::crypto;

namespace {

// ---- the context ---------------------------------------------------------------------------

struct Context {
  bool set = false;
  bool session_scope = false;
  int nest_level = 0;       // transaction nesting level that set it
  std::int64_t expires = 0; // unix seconds (0: none); an expired context reads as no context
  std::string tenant, subject, region;
  std::vector<std::string> roles;
};
Context g_ctx;

void clear_context() noexcept {
  g_ctx.set = false;
  g_ctx.session_scope = false;
  g_ctx.expires = 0;
  g_ctx.tenant.clear();
  g_ctx.subject.clear();
  g_ctx.region.clear();
  g_ctx.roles.clear();
}

bool context_valid() noexcept {
  if (!g_ctx.set) return false;
  if (g_ctx.expires > 0) {
    const std::int64_t now = static_cast<std::int64_t>(
        timestamptz_to_time_t(GetCurrentStatementStartTimestamp()));
    if (now >= g_ctx.expires) return false;
  }
  return true;
}

// Names of the holdable cursors declared in this transaction (in TopTransactionContext, gone
// with it): a verified context may not be set while one of them is open, since the rows it
// persists at COMMIT would be read under that context and outlive it.
List* g_hold_cursors = NIL;

void on_xact(XactEvent event) noexcept {
  switch (event) {
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_COMMIT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
      g_hold_cursors = NIL;
      if (!g_ctx.session_scope) clear_context();
      break;
    default:
      break;
  }
}

// A context set inside a subtransaction that rolls back is dropped: fail closed rather than
// keep an identity the application has rolled back.
void on_subxact(SubXactEvent event) noexcept {
  if (event == SUBXACT_EVENT_ABORT_SUB && g_ctx.set && g_ctx.nest_level >= GetCurrentTransactionNestLevel())
    clear_context();
}

// A holdable cursor outlives its transaction: COMMIT runs its query to the end and keeps the
// rows for whoever uses the connection next (a pooled client). Declared under a verified context,
// those rows would be the tenant's, read without a context after it: refused (PV216). On a Citus
// worker, a context received from the coordinator (privacy.cluster_context) counts as well.
void check_holdable_cursor(const DeclareCursorStmt* dc) {
  if (!(dc->options & CURSOR_OPT_HOLD)) return;
  if (pgp::context_is_verified())
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '2', '1', '6')),
                    errmsg("a holdable cursor cannot be declared while a tenant context is set"),
                    errdetail("Its rows would outlive the transaction and the context they were read under."),
                    errhint("Declare the cursor WITHOUT HOLD and read it before COMMIT.")));
  MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
  g_hold_cursors = lappend(g_hold_cursors, pstrdup(dc->portalname));
  MemoryContextSwitchTo(old);
}

// Refuses a context while a holdable cursor declared in this transaction is still open: its
// query runs at COMMIT, under the context (PV216).
void check_no_holdable_cursor() {
  ListCell* lc;
  foreach (lc, g_hold_cursors) {
    const Portal p = GetPortalByName(static_cast<const char*>(lfirst(lc)));
    if (p != nullptr && (p->cursorOptions & CURSOR_OPT_HOLD))
      ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '2', '1', '6')),
                      errmsg("a tenant context cannot be set while a holdable cursor of this transaction is open"),
                      errdetail("The cursor's rows would be read under the context and outlive it."),
                      errhint("Close the cursor first, or declare it WITHOUT HOLD.")));
  }
}

bool parse_scope(const char* scope) {
  if (strcmp(scope, "transaction") == 0) return false;
  if (strcmp(scope, "session") == 0) return true;
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid context scope"),
                  errhint("The scope is 'transaction' (the default) or 'session'.")));
  return false;
}

// ---- signing keys (cached per backend, invalidated when privacy.signing_keys changes) -------

std::unordered_map<std::string, cc::SigningKey> g_keys;
bool g_keys_valid = false;
Oid g_keys_relid = InvalidOid;

void on_relcache(Oid relid) {
  if (relid == InvalidOid || relid == g_keys_relid) g_keys_valid = false;
}

std::optional<std::int64_t> epoch_or_none(const char* s) {
  if (!s) return std::nullopt;
  return static_cast<std::int64_t>(std::strtoll(s, nullptr, 10));
}

void ensure_keys_loaded() {
  if (g_keys_valid) return;
  static const char* const kQuery[] = {
      "SELECT kid, alg, key_material, extract(epoch FROM not_before)::bigint, "
      "extract(epoch FROM expires_at)::bigint, revoked_at IS NOT NULL FROM privacy.signing_keys"};
  pgp::RawRows rows;
  pgp::owner_queries(kQuery, &rows, 1);
  g_keys_relid = pgp::privacy_relid("signing_keys");
  pgp::guarded([&] {
    g_keys.clear();
    for (int r = 0; r < rows.nrows; ++r) {
      cc::SigningKey k;
      k.kid = rows.at(r, 0);
      auto alg = cc::parse_jwt_alg(rows.at(r, 1));
      if (!alg) continue;  // the table's CHECK constraint makes this unreachable
      k.alg = *alg;
      k.material = rows.at(r, 2);
      k.not_before = epoch_or_none(rows.at(r, 3));
      k.expires_at = epoch_or_none(rows.at(r, 4));
      k.revoked = rows.at(r, 5)[0] == 't';
      g_keys.emplace(k.kid, std::move(k));
    }
    g_keys_valid = true;
  });
}



}  // namespace

namespace pgp {

const char* own_tenant_or_null() noexcept { return context_valid() ? g_ctx.tenant.c_str() : nullptr; }

// The backend's own context first; on a Citus worker, else the one its coordinator sent.
const char* current_tenant_or_null() noexcept {
  if (context_valid()) return g_ctx.tenant.c_str();
  const ReceivedContext* r = received_context();
  return r ? r->tenant : nullptr;
}
const char* current_subject_or_null() noexcept {
  if (context_valid()) return g_ctx.subject.c_str();
  const ReceivedContext* r = received_context();
  return r ? r->subject : nullptr;
}

const char* current_region_or_null() noexcept {
  if (context_valid()) return g_ctx.region.c_str();
  const ReceivedContext* r = received_context();
  return r ? r->region : nullptr;
}

bool context_is_verified() noexcept { return context_valid() || received_context() != nullptr; }

bool context_has_role(std::string_view role) noexcept {
  if (context_valid()) {
    for (const std::string& r : g_ctx.roles)
      if (r == role) return true;
    return false;
  }
  const ReceivedContext* rc = received_context();
  if (!rc) return false;
  const char* p = rc->roles;
  for (int i = 0; i < rc->nroles; p += strlen(p) + 1, ++i)
    if (role == p) return true;
  return false;
}

// The registry's dispatch (registry.hpp).
void tenancy_utility_before(const UtilityCall& call) {
  Node* stmt = call.pstmt->utilityStmt;
  if (stmt && IsA(stmt, DiscardStmt) && reinterpret_cast<DiscardStmt*>(stmt)->target == DISCARD_ALL)
    clear_context();
  if (stmt && IsA(stmt, DeclareCursorStmt)) check_holdable_cursor(reinterpret_cast<DeclareCursorStmt*>(stmt));
}
void tenancy_on_xact(XactEvent event) { on_xact(event); }
void tenancy_on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId) { on_subxact(event); }
void tenancy_on_relcache(Oid relid) { on_relcache(relid); }

}  // namespace pgp

namespace {

// A session-scoped context cannot follow the session's later transactions to the workers: Citus
// replays only SET LOCAL, and only inside a transaction block.
void refuse_session_scope_on_citus(bool session_scope) {
  if (session_scope && pgp::citus_installed())
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '9', '5', '3')),
                    errmsg("a session-scoped context is not supported on a Citus cluster"),
                    errhint("Authenticate at the start of each transaction (the default scope, 'transaction').")));
}

// Sends the backend's context (or its absence) to the Citus workers of the transaction, and
// drops cached plans routed to another tenant's shard.
void send_to_workers() {
  pgp::ContextToSend c{nullptr, nullptr, nullptr, nullptr, 0};
  if (g_ctx.set) c = {g_ctx.tenant.c_str(), g_ctx.subject.c_str(), g_ctx.region.c_str(), &g_ctx.roles, g_ctx.expires};
  pgp::cluster_routing_context_changed(c.tenant);
  pgp::send_context_to_workers(c);
}

}  // namespace

// privacy.authenticate(token text, scope text DEFAULT 'transaction') RETURNS jsonb
Datum pgp_authenticate(PG_FUNCTION_ARGS) {
  pgp::mark_secret_statement();  // the token is a bearer credential: keep it out of the log
  text* token = PG_GETARG_TEXT_PP(0);
  const bool session_scope = parse_scope(text_to_cstring(PG_GETARG_TEXT_PP(1)));
  refuse_session_scope_on_citus(session_scope);
  if (session_scope && !pgp::settings::authenticate_session_scope)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("session-scoped authentication is turned off"),
                    errdetail("A session context would outlive the transaction; behind a pooler it serves the "
                              "connection's next client."),
                    errhint("Authenticate in each transaction (the default scope), or have a superuser set "
                            "privacy.authenticate_session_scope = on where sessions are not pooled.")));
  check_no_holdable_cursor();
  ensure_keys_loaded();
  const std::int64_t now = static_cast<std::int64_t>(timestamptz_to_time_t(GetCurrentTimestamp()));
  const int nest = GetCurrentTransactionNestLevel();
  // A failed attempt leaves no context behind, whatever was there before.
  clear_context();
  pgp::guarded([&] {
    cc::VerifyOptions o;
    o.now = now;
    o.leeway = pgp::settings::jwt_leeway_s;
    o.issuer = pgp::settings::jwt_issuer ? pgp::settings::jwt_issuer : "";
    o.audience = pgp::settings::jwt_audience ? pgp::settings::jwt_audience : "";
    o.max_token_bytes = static_cast<std::size_t>(pgp::settings::jwt_max_token_bytes);
    o.tenant_claim = pgp::settings::tenant_claim;
    o.subject_claim = pgp::settings::subject_claim;
    o.roles_claim = pgp::settings::roles_claim;
    o.region_claim = pgp::settings::region_claim;
    auto lookup = [](std::string_view kid) -> const cc::SigningKey* {
      auto it = g_keys.find(std::string(kid));
      return it == g_keys.end() ? nullptr : &it->second;
    };
    cc::Claims c = cc::verify_jwt(pgp::text_view(token), lookup, o);
    g_ctx.tenant = std::move(c.tenant);
    g_ctx.subject = std::move(c.subject);
    g_ctx.roles = std::move(c.roles);
    g_ctx.region = std::move(c.region);
    g_ctx.expires = c.exp;
    g_ctx.session_scope = session_scope;
    g_ctx.nest_level = nest;
    g_ctx.set = true;
  });
  send_to_workers();
  PG_RETURN_TEXT_P(cstring_to_text(g_ctx.tenant.c_str()));
}

// privacy.set_context(tenant, subject, roles, region, scope): for servers that authenticate
// users themselves; only members of privacy_middleware may call it.
Datum pgp_set_context(PG_FUNCTION_ARGS) {
  Oid middleware = get_role_oid("privacy_middleware", true);
  if (!OidIsValid(middleware) || !has_privs_of_role(GetUserId(), middleware))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied to set the tenant context"),
                    errhint("Only members of role privacy_middleware may call privacy.set_context().")));
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tenant and subject must not be null")));
  const char* tenant = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char* subject = text_to_cstring(PG_GETARG_TEXT_PP(1));
  if (!*tenant || !*subject)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("tenant and subject must not be empty")));
  Datum* roles = nullptr;
  bool* role_nulls = nullptr;
  int nroles = 0;
  if (!PG_ARGISNULL(2))
    deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT, &roles, &role_nulls, &nroles);
  const char* region = PG_ARGISNULL(3) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(3));
  const bool session_scope = parse_scope(PG_ARGISNULL(4) ? "transaction" : text_to_cstring(PG_GETARG_TEXT_PP(4)));
  refuse_session_scope_on_citus(session_scope);
  check_no_holdable_cursor();
  const int nest = GetCurrentTransactionNestLevel();
  clear_context();
  pgp::guarded([&] {
    g_ctx.tenant = tenant;
    g_ctx.subject = subject;
    for (int i = 0; i < nroles; ++i)
      if (!role_nulls[i]) g_ctx.roles.emplace_back(pgp::text_view(DatumGetTextPP(roles[i])));
    g_ctx.region = region;
    g_ctx.session_scope = session_scope;
    g_ctx.nest_level = nest;
    g_ctx.set = true;
  });
  send_to_workers();
  PG_RETURN_VOID();
}

Datum pgp_logout(PG_FUNCTION_ARGS) {
  clear_context();
  send_to_workers();
  PG_RETURN_VOID();
}

Datum pgp_current_tenant(PG_FUNCTION_ARGS) {
  if (!context_valid()) pgp::require_coordinator_config();  // a worker refuses a stale configuration
  const char* t = pgp::current_tenant_or_null();
  if (!t) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(t));
}

Datum pgp_current_subject(PG_FUNCTION_ARGS) {
  if (!context_valid()) pgp::require_coordinator_config();  // a worker refuses a stale configuration
  const char* s = pgp::current_subject_or_null();
  if (!s) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(s));
}

Datum pgp_current_region(PG_FUNCTION_ARGS) {
  if (!context_valid()) pgp::require_coordinator_config();  // a worker refuses a stale configuration
  const char* r = pgp::current_region_or_null();
  if (!r || !*r) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(r));
}

Datum pgp_current_roles(PG_FUNCTION_ARGS) {
  if (!context_valid()) pgp::require_coordinator_config();  // a worker refuses a stale configuration
  const pgp::ReceivedContext* rc = context_valid() ? nullptr : pgp::received_context();
  if (!context_valid() && !rc) PG_RETURN_NULL();
  const int n = rc ? rc->nroles : static_cast<int>(g_ctx.roles.size());
  Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (n + 1)));
  const char* p = rc ? rc->roles : nullptr;
  for (int i = 0; i < n; ++i) {
    elems[i] = PointerGetDatum(rc ? cstring_to_text(p) : cstring_to_text(g_ctx.roles[i].c_str()));
    if (rc) p += strlen(p) + 1;
  }
  PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

// privacy._validate_signing_key(alg text, key text): PV214 unless the key is usable.
Datum pgp_validate_signing_key(PG_FUNCTION_ARGS) {
  pgp::mark_secret_statement();  // add_signing_key's key: keep its statement out of the log
  const char* alg_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  text* key = PG_GETARG_TEXT_PP(1);
  pgp::guarded([&] {
    auto alg = cc::parse_jwt_alg(alg_name);
    if (!alg)
      throw pgp::core::Error(cc::jwt_sqlstate::kUnsupportedAlg, "unsupported signing algorithm", {},
                             "Use HS256, RS256 or ES256.");
    cc::validate_signing_key(*alg, pgp::text_view(key));
  });
  PG_RETURN_VOID();
}

// privacy.sign_token(payload jsonb, kid text, alg text, signing_key text) RETURNS text: for
// tests, the demo and issuers that live in the database; not granted to PUBLIC.
PGP_FUNCTION(pgp_sign_token)
Datum pgp_sign_token(PG_FUNCTION_ARGS) {
  pgp::mark_secret_statement();  // the signing key, and the token it returns
  Jsonb* jb = PG_GETARG_JSONB_P(0);
  const char* payload = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
  const char* kid = text_to_cstring(PG_GETARG_TEXT_PP(1));
  const char* alg_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
  text* key = PG_GETARG_TEXT_PP(3);
  return pgp::guarded([&] {
    auto alg = cc::parse_jwt_alg(alg_name);
    if (!alg)
      throw pgp::core::Error(cc::jwt_sqlstate::kUnsupportedAlg, "unsupported signing algorithm", {},
                             "Use HS256, RS256 or ES256.");
    return PointerGetDatum(pgp::make_text(cc::sign_jwt(*alg, kid, pgp::text_view(key), payload)));
  });
}
