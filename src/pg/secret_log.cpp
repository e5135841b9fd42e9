// withhold_secrets(): the log side of secret-taking functions. A statement is secret-bearing when
// one of them ran in it (mark_secret_statement) or when its text names one: the simple protocol
// logs "statement: ..." (log_statement) before the statement is even analysed, and the extended
// protocol logs its parameters before it runs, so the text is the only thing known then.
#include "pg/secret_log.hpp"

#include "pg/registry.hpp"

#include <cctype>
#include <cstring>

extern "C" {
#include "tcop/tcopprot.h"
#include "utils/timestamp.h"
}

namespace pgp {

namespace {

// Names whose presence in a statement makes it secret-bearing, compared without case: the
// functions that take a signing key, a token or an API key, the tables and settings that hold
// key material. "signing_key" covers add_signing_key, _validate_signing_key and signing_keys;
// "cluster_context" the sealed context a Citus coordinator sends its workers (SET LOCAL
// privacy.cluster_context = '...', logged on a worker), which a worker accepts until it expires.
constexpr const char* kSecretNames[] = {"signing_key",       "sign_token",      "authenticate", "register_provider",
                                        "provider_wrap_key", "provider_read_key_file", "audit_settings",
                                        "hmac_key",          "keyring",         "cluster_context"};

constexpr const char kStatement[] = "[statement withheld by pg_privacy: it passes a secret]";
constexpr const char kMessage[] = "[message withheld by pg_privacy: the statement passes a secret]";
constexpr const char kField[] = "[withheld by pg_privacy: the statement passes a secret]";

// The statement start of the statement a secret-taking function ran in (0: none).
TimestampTz g_secret_statement = 0;

bool contains_ci(const char* hay, const char* needle) noexcept {
  const std::size_t n = std::strlen(needle);
  for (const char* p = hay; *p; ++p) {
    std::size_t i = 0;
    while (i < n && p[i] && std::tolower(static_cast<unsigned char>(p[i])) == needle[i]) ++i;
    if (i == n) return true;
  }
  return false;
}

bool names_a_secret(const char* s) noexcept {
  if (!s) return false;
  for (const char* name : kSecretNames)
    if (contains_ci(s, name)) return true;
  return false;
}

// pg_privacy's own errors: ereport in src/pg (message domain "pg_privacy", pg.hpp), core errors
// raised by guard.cpp, RAISE with a PV SQLSTATE in its SQL functions. Their message, detail and
// hint are fixed text that never carries a value (a rule of the project, checked by its tests).
bool ours(const ErrorData* e) noexcept {
  if (e->domain && std::strcmp(e->domain, "pg_privacy") == 0) return true;
  return PGUNSIXBIT(e->sqlerrcode) == 'P' && PGUNSIXBIT(e->sqlerrcode >> 6) == 'V';
}

// Messages of PostgreSQL's that carry no value, so they stay: integrity violations (class 23:
// names of constraints and columns, the values are in the detail), serialization failures (40),
// resource errors (53), operator intervention (57), and a duration line without the statement.
// Others (a data exception quoting the literal it could not read, a syntax error quoting a
// token) may carry the secret.
bool value_free(const ErrorData* e) noexcept {
  if (ours(e)) return true;
  const char c1 = PGUNSIXBIT(e->sqlerrcode), c2 = PGUNSIXBIT(e->sqlerrcode >> 6);
  if ((c1 == '2' && c2 == '3') || (c1 == '4' && c2 == '0') || (c1 == '5' && c2 == '3') || (c1 == '5' && c2 == '7'))
    return true;
  // "duration: 1.234 ms": digits, a dot and " ms" only (log_statement already logged the text).
  if (e->message && std::strncmp(e->message, "duration: ", 10) == 0) {
    const char* p = e->message + 10;
    while ((*p >= '0' && *p <= '9') || *p == '.') ++p;
    return std::strcmp(p, " ms") == 0;
  }
  return false;
}

char* copy(const char* s) noexcept {
  const std::size_t n = std::strlen(s) + 1;
  char* c = static_cast<char*>(palloc_extended(n, MCXT_ALLOC_NO_OOM));
  if (c) std::memcpy(c, s, n);
  return c;
}

}  // namespace

void mark_secret_statement() noexcept {
  g_secret_statement = GetCurrentStatementStartTimestamp();
  if (g_secret_statement == 0) g_secret_statement = 1;
}

void withhold_secrets(ErrorData* edata) noexcept {
  const bool marked = g_secret_statement != 0 && g_secret_statement == GetCurrentStatementStartTimestamp();
  const bool message_names = names_a_secret(edata->message);
  // debug_query_string == kStatement: an earlier line of this statement withheld it already.
  if (!marked && !message_names && debug_query_string != kStatement && !names_a_secret(debug_query_string) &&
      !names_a_secret(edata->internalquery))
    return;
  // The message: kept when it cannot carry a value (value_free); otherwise withheld, as the
  // statement when it names a secret-taking function (a "statement: ...", "execute ...: ..." or
  // "duration: ... statement: ..." line), else as a message (a cast error would quote the
  // literal it could not read, which may be the secret).
  if (edata->message && !value_free(edata)) edata->message = copy(message_names ? kStatement : kMessage);
  // The detail of PostgreSQL's errors quotes values ("Failing row contains (...)", "Key
  // (kid)=(...)", the parameters of the extended protocol); pg_privacy's own details do not.
  if (!ours(edata)) {
    if (edata->detail) edata->detail = copy(kField);
    if (edata->detail_log) edata->detail_log = copy(kField);
  }
  if (edata->context) edata->context = copy(kField);
  edata->internalquery = nullptr;
  edata->internalpos = 0;
  edata->cursorpos = 0;
  // The STATEMENT: line (log_min_error_statement) prints debug_query_string.
  if (debug_query_string && debug_query_string != kStatement) debug_query_string = kStatement;
}

// The registry's emit_log step (registry.hpp): lines bound for the server log only.
void secret_log_emit(ErrorData* edata) noexcept {
  if (edata->output_to_server) withhold_secrets(edata);
}

}  // namespace pgp
