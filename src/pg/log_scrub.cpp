// Server-log scrubbing: an emit_log_hook that redacts the message, detail, hint, context,
// internal query and the logged statement text before they are written (privacy.scrub_server_log).
#include "pg/error_hints.hpp"
#include "pg/ops_state.hpp"
#include "pg/redact_engine.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

extern "C" {
#include "tcop/tcopprot.h"
}

namespace {

bool g_scrub = true;
bool g_in_hook = false;
emit_log_hook_type g_prev_hook = nullptr;
char* g_scrubbed_statement = nullptr;  // malloc'd; debug_query_string may point at it

// Returns a redacted copy (allocated with `alloc`) or nullptr when nothing needs redacting.
// Never throws and never ereports: it runs while an error is being reported.
template <typename Alloc>
char* scrub(const char* s, Alloc alloc) noexcept {
  if (!s || !*s) return nullptr;
  const pgp::core::redact::Engine* eng = pgp::redact_engine_if_ready();
  try {
    if (!eng) throw std::runtime_error("no engine");
    const std::string_view in(s);
    const auto findings = eng->detect(in);
    if (findings.empty()) return nullptr;
    pgp::core::redact::RedactOptions opts;
    const std::string out = eng->apply(in, findings, opts);
    char* copy = alloc(out.size() + 1);
    if (copy) std::memcpy(copy, out.c_str(), out.size() + 1);
    return copy;
  } catch (...) {
    // If the text cannot be checked, it must not be written as is.
    static const char kWithheld[] = "[text withheld by pg_privacy: could not be scrubbed]";
    char* copy = alloc(sizeof kWithheld);
    if (copy) std::memcpy(copy, kWithheld, sizeof kWithheld);
    return copy;
  }
}

char* error_context_alloc(std::size_t n) {
  return static_cast<char*>(palloc_extended(n, MCXT_ALLOC_NO_OOM));
}

void scrub_field(char** field) {
  if (char* s = scrub(*field, error_context_alloc)) *field = s;
}

void emit_log_hook_fn(ErrorData* edata) {
  if (g_scrub && !g_in_hook && edata->output_to_server) {
    g_in_hook = true;
    scrub_field(&edata->message);
    scrub_field(&edata->detail);
    scrub_field(&edata->detail_log);
    scrub_field(&edata->hint);
    scrub_field(&edata->context);
    scrub_field(&edata->internalquery);
    // The STATEMENT: line comes from debug_query_string: point it at a scrubbed copy.
    if (debug_query_string && debug_query_string != g_scrubbed_statement) {
      if (char* s = scrub(debug_query_string, [](std::size_t n) { return static_cast<char*>(std::malloc(n)); })) {
        std::free(g_scrubbed_statement);
        g_scrubbed_statement = s;
        debug_query_string = s;
      }
    }
    g_in_hook = false;
  }
  // A permission or row-level security error gets pg_privacy's hint (error_hints.cpp); an error
  // ending a purge, seal, export, erasure or rotation has its (scrubbed) message kept for the
  // run's history (ops_state.cpp).
  if (!g_in_hook) pgp::add_error_hint(edata);
  pgp::ops::note_error(edata);
  if (g_prev_hook) g_prev_hook(edata);
}

}  // namespace

namespace pgp {

void log_scrub_init() {
  DefineCustomBoolVariable(
      "privacy.scrub_server_log", "Redacts PII and secrets from server log messages.",
      "Message, detail, hint, context, internal query and statement text are redacted before "
      "they are written to the server log (and sent to the client).",
      &g_scrub, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  g_prev_hook = emit_log_hook;
  emit_log_hook = emit_log_hook_fn;
}

}  // namespace pgp
