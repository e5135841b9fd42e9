// SQL entry points of the provider call: privacy.provider_call, provider_call_many and the helpers
// of privacy.register_provider. Glue only: the dialects, redaction, HTTP and parsing are core.
// nlohmann's headers first: Postgres' port.h #defines snprintf, which they call as std::snprintf.
#include <nlohmann/json.hpp>

#include "core/crypto/keyring.hpp"
#include "core/crypto/wrap.hpp"
#include "core/provider/dialect.hpp"
#include "core/provider/http.hpp"
#include "core/provider/redaction.hpp"
#include "core/provider/response.hpp"
#include "pg/convert.hpp"
#include "pg/keyring.hpp"
#include "pg/owner_spi.hpp"
#include "pg/provider_limits.hpp"
#include "pg/redact_engine.hpp"
#include "pg/registry.hpp"
#include "pg/secret_log.hpp"
#include "pg/tenancy.hpp"

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

extern "C" {
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/pg_list.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

PGP_FUNCTION(pgp_provider_call)
PGP_FUNCTION(pgp_provider_call_many)
PGP_FUNCTION(pgp_provider_wrap_key)
PGP_FUNCTION(pgp_provider_master_key_id)
PGP_FUNCTION(pgp_provider_read_key_file)
PGP_FUNCTION(pgp_provider_reset_limits)

namespace cp = pgp::core::provider;
namespace ss = pgp::core::provider::provider_sqlstate;
namespace cc = pgp::core::crypto;
using json = nlohmann::json;

namespace {

// ---- settings ------------------------------------------------------------------------------


// ---- what the catalog says (plain C data: read before any C++ object exists) ----------------

struct ProviderRow {
  const char* name;
  const char* dialect;
  const char* base_url;
  const char* model;
  const char* region;
  int connect_timeout_ms;
  int timeout_ms;
  int max_retries;
  const char* wrapped_hex;  // NULL without a key
  const char* allowed_models_json;  // a JSON array of the other models a request may name
};

struct CallSetup {
  ProviderRow provider;
  const char* tenant;
  const char* subject;
  pgp::Limits limits;
};

int int_or(const char* s, int def) { return s ? atoi(s) : def; }

[[noreturn]] void refuse(const char* sqlstate, const char* msg, const char* detail, const char* hint) {
  ereport(ERROR, (errcode(MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4])),
                  errmsg("%s", msg), detail ? errdetail("%s", detail) : 0, hint ? errhint("%s", hint) : 0));
  pg_unreachable();
}

// Steps 1 and 2, and the provider and limits: may ereport, so it runs with no C++ object alive.
void load_setup(const char* provider_name, CallSetup* out) {
  pgp::require_preload("privacy.provider_call()");
  const char* tenant = pgp::current_tenant_or_null();
  if (!tenant)
    refuse(ss::kNotOptedIn, "provider calls need a verified tenant context", nullptr,
           "Call privacy.authenticate() (or privacy.set_context()) in the transaction first.");
  out->tenant = pstrdup(tenant);
  const char* subject = pgp::current_subject_or_null();
  out->subject = pstrdup(subject ? subject : "");
  const char* ctx_region = pgp::current_region_or_null();

  const char* qname = quote_literal_cstr(provider_name);
  const char* qtenant = quote_literal_cstr(tenant);
  const char* queries[3] = {
      psprintf("SELECT dialect, base_url, model, region, connect_timeout_ms, timeout_ms, max_retries, "
               "enabled, encode(api_key_wrapped, 'hex'), array_to_json(allowed_models) "
               "FROM privacy.providers WHERE name = %s",
               qname),
      psprintf("SELECT region, ai_opt_in, allow_region_transfer FROM privacy.tenants WHERE tenant_id = %s",
               qtenant),
      psprintf("SELECT requests_per_minute_subject, requests_per_minute_tenant, burst_subject, "
               "burst_tenant FROM privacy.provider_limits WHERE tenant_id = %s",
               qtenant)};
  pgp::RawRows rows[3];
  pgp::owner_queries(queries, rows, 3);

  if (rows[0].nrows == 0)
    refuse(ss::kUnknownProvider, "unknown provider", nullptr,
           "Register it with privacy.register_provider(); privacy.provider_list shows the providers.");
  const pgp::RawRows& p = rows[0];
  if (p.at(0, 7)[0] != 't') refuse(ss::kProviderDisabled, "provider is disabled", nullptr, nullptr);
  out->provider = {pstrdup(provider_name), p.at(0, 0), p.at(0, 1), p.at(0, 2), p.at(0, 3),
                   int_or(p.at(0, 4), 5000), int_or(p.at(0, 5), 60000), int_or(p.at(0, 6), 2),
                   p.at(0, 8), p.at(0, 9) ? p.at(0, 9) : "[]"};

  // Step 1: opt-in. A tenant that is not listed has not opted in.
  if (rows[1].nrows == 0 || rows[1].at(0, 1)[0] != 't')
    refuse(ss::kNotOptedIn, "tenant has not opted in to provider calls", nullptr,
           "Set ai_opt_in in privacy.tenants for the tenant.");
  // Step 2: region. The tenant's region from privacy.tenants, else the one its token names.
  const char* tenant_region = rows[1].at(0, 0) ? rows[1].at(0, 0) : (ctx_region ? ctx_region : "");
  const bool transfer = rows[1].at(0, 2)[0] == 't';
  if (!transfer && strcmp(tenant_region, out->provider.region) != 0)
    refuse(ss::kRegionMismatch, "provider region differs from the tenant's region",
           psprintf("The provider processes data in region %s.", out->provider.region),
           "Use a provider in the tenant's region, or set allow_region_transfer for the tenant.");

  const pgp::RawRows& l = rows[2];
  auto lim = [&](int col, int def) { return l.nrows > 0 ? int_or(l.at(0, col), def) : def; };
  namespace s = pgp::settings;
  out->limits = {static_cast<double>(lim(0, s::provider_rpm_subject)), static_cast<double>(lim(1, s::provider_rpm_tenant)),
                 static_cast<double>(lim(2, s::provider_burst_subject)), static_cast<double>(lim(3, s::provider_burst_tenant))};
}

// ---- the call (C++ work, inside guarded()) --------------------------------------------------

cp::HttpClient& client() {
  static cp::HttpClient* c = nullptr;  // one per backend: keeps connections alive between calls
  if (!c) c = new cp::HttpClient();
  return *c;
}

bool interrupt_pending() { return InterruptPending && (QueryCancelPending || ProcDiePending); }

std::string hex_decode(std::string_view hex) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out[i / 2] = static_cast<char>(nib(hex[i]) * 16 + nib(hex[i + 1]));
  return out;
}

struct Prepared {
  cp::Dialect dialect;
  cp::HttpOptions options;
  std::string url;
  std::vector<std::string> headers;  // hold the API key: never logged
};

Prepared prepare(const ProviderRow& p) {
  Prepared out;
  auto d = cp::parse_dialect(p.dialect);
  if (!d) throw pgp::core::Error(ss::kInvalidProvider, "invalid provider dialect");
  out.dialect = *d;
  out.url = cp::request_url(*d, p.base_url);
  std::optional<cc::SecretBytes> key;
  if (p.wrapped_hex)
    key.emplace(cc::unwrap_secret(pgp::master_key(), hex_decode(p.wrapped_hex),
                                  cc::WrapLabel::provider_secret(p.name)));
  out.headers = cp::request_headers(*d, key ? key->view() : std::string_view());
  out.options.connect_timeout_ms = p.connect_timeout_ms;
  out.options.total_timeout_ms = p.timeout_ms;
  out.options.max_response_bytes = static_cast<std::size_t>(pgp::settings::provider_max_response_kb) * 1024;
  out.options.retry.max_attempts = p.max_retries + 1;
  const char* ca_file = pgp::settings::provider_ca_file;
  if (ca_file && *ca_file) out.options.ca_file = ca_file;
  return out;
}

// Step 3: one token from the subject's and the tenant's buckets.
void charge(const CallSetup& s) {
  pgp::LimitOutcome r;
  pgp::pg_call([&] { pgp::provider_limits_charge(s.tenant, s.subject, s.limits, 1.0, &r); });
  if (!r.ok) throw cp::rate_limited_error(r.scope ? r.scope : "subject", r.refused);
}

// One request up to the wire: parse (PV601), charge (PV606), redact (PV607 on BLOCK), translate.
struct Outgoing {
  std::string body;
  cp::RedactionReport report;
};

Outgoing outgoing(const char* request_json, const CallSetup& s, const Prepared& prep,
                  const pgp::core::redact::Engine& eng, const pgp::core::redact::RedactOptions& ro) {
  cp::ChatRequest req = cp::parse_request(std::string_view(request_json));
  charge(s);
  Outgoing out;
  out.report = cp::redact_request(req, eng, ro);
  if (!out.report.blocked_types.empty()) throw cp::blocked_error(out.report);
  cp::TranslateOptions t;
  t.model = s.provider.model;
  t.default_max_tokens = pgp::settings::provider_default_max_tokens;
  for (const json& m : json::parse(s.provider.allowed_models_json))
    if (m.is_string()) t.allowed_models.push_back(m.get<std::string>());
  out.body = cp::to_wire(prep.dialect, req, t).dump();
  return out;
}

// Step 6 (and the audit detail of step 7): the normalized answer as JSON.
json answer(const Prepared& prep, const CallSetup& s, const cp::HttpResponse& resp, const Outgoing& o,
            const pgp::core::redact::Engine& eng, const pgp::core::redact::RedactOptions& ro) {
  cp::ChatResponse r = cp::parse_response(prep.dialect, resp.status, resp.body, s.provider.name);
  r.redactions = o.report.counts;
  if (pgp::settings::provider_redact_responses) cp::redact_response(r, eng, ro);
  return cp::to_json(r);
}

json audit_detail(const CallSetup& s, const std::string& model, const char* status, long http_status,
                  std::int64_t latency_ms, std::size_t request_bytes, std::size_t response_bytes,
                  const json& redactions, int attempts) {
  return json{{"provider", s.provider.name}, {"model", model}, {"status", status},
              {"http_status", http_status}, {"latency_ms", latency_ms}, {"attempts", attempts},
              {"request_bytes", request_bytes}, {"response_bytes", response_bytes},
              {"redactions", redactions.is_null() ? json::object() : redactions}};
}

Datum jsonb_datum(const std::string& text) {
  char* c = pgp::make_cstring(text);
  return pgp::pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(c)); });
}

pgp::core::redact::RedactOptions redact_options() {
  pgp::core::redact::RedactOptions o;
  o.placeholder = pgp::redact_placeholder();
  return o;
}

// ---- step 7: the audit record ---------------------------------------------------------------

// privacy._audit_record(kind, action, table_name, detail) belongs to the audit capability; until
// it is installed, provider calls are not audited. Runs with no C++ object alive.
void audit_provider_call(const char* detail_json) {
  Oid argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID};
  List* fname = list_make2(makeString(pstrdup("privacy")), makeString(pstrdup("_audit_record")));
  Oid fn = LookupFuncName(fname, 4, argtypes, true);
  if (!OidIsValid(fn)) return;
  FmgrInfo flinfo;
  fmgr_info(fn, &flinfo);
  LOCAL_FCINFO(fcinfo, 4);
  InitFunctionCallInfoData(*fcinfo, &flinfo, 4, InvalidOid, nullptr, nullptr);
  fcinfo->args[0].value = CStringGetTextDatum("provider");
  fcinfo->args[0].isnull = false;
  fcinfo->args[1].value = CStringGetTextDatum("CALL");
  fcinfo->args[1].isnull = false;
  fcinfo->args[2].value = (Datum)0;
  fcinfo->args[2].isnull = true;
  fcinfo->args[3].value = DirectFunctionCall1(jsonb_in, CStringGetDatum(detail_json));
  fcinfo->args[3].isnull = false;
  FunctionCallInvoke(fcinfo);
}

// After the core reported a cancel: let Postgres raise the real error (57014, or FATAL on
// terminate); if the interrupt was consumed elsewhere, say it was cancelled.
[[noreturn]] void raise_cancelled() {
  CHECK_FOR_INTERRUPTS();
  refuse(ss::kCancelled, "provider call cancelled", nullptr, nullptr);
}

}  // namespace

// privacy.provider_call(provider text, request jsonb) RETURNS jsonb
Datum pgp_provider_call(PG_FUNCTION_ARGS) {
  const char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  Jsonb* jb = PG_GETARG_JSONB_P(1);
  const char* request_json = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
  CallSetup setup;
  load_setup(name, &setup);
  const pgp::core::redact::Engine& eng = pgp::redact_engine();
  bool cancelled = false;
  char* detail = nullptr;
  Datum result = pgp::guarded([&]() -> Datum {
    const Prepared prep = prepare(setup.provider);
    const auto ro = redact_options();
    const Outgoing out = outgoing(request_json, setup, prep, eng, ro);
    cp::HttpResponse resp;
    try {
      resp = client().perform({prep.url, prep.headers, out.body}, prep.options, interrupt_pending);
    } catch (const pgp::core::Error& e) {
      if (e.sqlstate() != ss::kCancelled) throw;
      cancelled = true;
      return (Datum)0;
    }
    const json a = answer(prep, setup, resp, out, eng, ro);
    const std::string text = a.dump();
    detail = pgp::make_cstring(audit_detail(setup, a.value("model", std::string(setup.provider.model)), "ok",
                                            resp.status, resp.elapsed_ms, out.body.size(), resp.body.size(),
                                            a["redactions"], resp.attempts)
                                   .dump());
    return jsonb_datum(text);
  });
  if (cancelled) raise_cancelled();
  audit_provider_call(detail);
  PG_RETURN_DATUM(result);
}

// privacy.provider_call_many(provider text, requests jsonb[]) RETURNS jsonb[]
Datum pgp_provider_call_many(PG_FUNCTION_ARGS) {
  const char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  ArrayType* arr = PG_GETARG_ARRAYTYPE_P(1);
  if (ARR_NDIM(arr) > 1)
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("requests must be a one-dimensional array")));
  Datum* elems = nullptr;
  bool* nulls = nullptr;
  int n = 0;
  deconstruct_array(arr, JSONBOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
  char** texts = static_cast<char**>(palloc0(sizeof(char*) * (n + 1)));
  for (int i = 0; i < n; ++i)
    if (!nulls[i]) {
      Jsonb* e = DatumGetJsonbP(elems[i]);
      texts[i] = JsonbToCString(nullptr, &e->root, VARSIZE(e));
    }
  CallSetup setup;
  load_setup(name, &setup);
  const pgp::core::redact::Engine& eng = pgp::redact_engine();
  bool cancelled = false;
  char** details = static_cast<char**>(palloc0(sizeof(char*) * (n + 1)));
  Datum result = pgp::guarded([&]() -> Datum {
    const Prepared prep = prepare(setup.provider);
    const auto ro = redact_options();
    std::vector<json> results(static_cast<std::size_t>(n));
    std::vector<Outgoing> outs(static_cast<std::size_t>(n));
    std::vector<cp::HttpRequest> wire;
    std::vector<int> wire_index;
    for (int i = 0; i < n; ++i) {
      try {
        if (!texts[i]) throw pgp::core::Error(ss::kInvalidRequest, "request is null");
        outs[i] = outgoing(texts[i], setup, prep, eng, ro);
        wire.push_back({prep.url, prep.headers, outs[i].body});
        wire_index.push_back(i);
      } catch (const pgp::core::Error& e) {
        results[i] = cp::error_to_json(e);
      }
    }
    std::vector<cp::HttpResult> got;
    try {
      got = client().perform_many(wire, prep.options, static_cast<std::size_t>(pgp::settings::provider_max_concurrency),
                                  interrupt_pending);
    } catch (const pgp::core::Error& e) {
      if (e.sqlstate() != ss::kCancelled) throw;
      cancelled = true;
      return (Datum)0;
    }
    for (std::size_t k = 0; k < got.size(); ++k) {
      const int i = wire_index[k];
      const Outgoing& o = outs[i];
      if (got[k].error) {
        results[i] = cp::error_to_json(*got[k].error);
        details[i] = pgp::make_cstring(audit_detail(setup, setup.provider.model, got[k].error->sqlstate().c_str(),
                                                    0, 0, o.body.size(), 0, json(o.report.counts), 0)
                                           .dump());
        continue;
      }
      const cp::HttpResponse& resp = *got[k].response;
      std::string status = "ok";
      try {
        results[i] = answer(prep, setup, resp, o, eng, ro);
      } catch (const pgp::core::Error& e) {
        results[i] = cp::error_to_json(e);
        status = e.sqlstate();
      }
      details[i] = pgp::make_cstring(
          audit_detail(setup, results[i].value("model", std::string(setup.provider.model)), status.c_str(),
                       resp.status, resp.elapsed_ms, o.body.size(), resp.body.size(),
                       json(o.report.counts), resp.attempts)
              .dump());
    }
    Datum* out = static_cast<Datum*>(pgp::pg_call([&] { return palloc(sizeof(Datum) * (n + 1)); }));
    for (int i = 0; i < n; ++i) out[i] = jsonb_datum(results[i].dump());
    return PointerGetDatum(pgp::pg_call([&] { return construct_array(out, n, JSONBOID, -1, false, TYPALIGN_INT); }));
  });
  if (cancelled) raise_cancelled();
  for (int i = 0; i < n; ++i)
    if (details[i]) audit_provider_call(details[i]);
  PG_RETURN_DATUM(result);
}

// privacy._provider_wrap_key(name, dialect, base_url, api_key) RETURNS bytea: validates the
// dialect, URL and key shape (PV608) and wraps the key under the master key.
Datum pgp_provider_wrap_key(PG_FUNCTION_ARGS) {
  pgp::mark_secret_statement();  // register_provider's API key: keep its statement out of the log
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
    refuse(ss::kInvalidProvider, "provider name, dialect and base URL must not be null", nullptr, nullptr);
  const char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char* dialect = text_to_cstring(PG_GETARG_TEXT_PP(1));
  const char* base_url = text_to_cstring(PG_GETARG_TEXT_PP(2));
  text* key = PG_ARGISNULL(3) ? nullptr : PG_GETARG_TEXT_PP(3);
  bool null_result = false;
  Datum r = pgp::guarded([&]() -> Datum {
    auto d = cp::parse_dialect(dialect);
    if (!d)
      throw pgp::core::Error(ss::kInvalidProvider, "invalid provider dialect", {},
                             "The dialect is openai, anthropic or openai-compatible.");
    cp::request_url(*d, base_url);
    const std::string_view k = key ? pgp::text_view(key) : std::string_view();
    cp::request_headers(*d, k);  // PV608: missing key (openai, anthropic), spaces, control characters
    if (k.empty()) {
      null_result = true;
      return (Datum)0;
    }
    const std::string w = cc::wrap_secret(pgp::master_key(), k, cc::WrapLabel::provider_secret(name));
    bytea* out = static_cast<bytea*>(pgp::pg_call([&] { return palloc(VARHDRSZ + w.size()); }));
    SET_VARSIZE(out, VARHDRSZ + w.size());
    memcpy(VARDATA(out), w.data(), w.size());
    return PointerGetDatum(out);
  });
  if (null_result) PG_RETURN_NULL();
  PG_RETURN_DATUM(r);
}

Datum pgp_provider_master_key_id(PG_FUNCTION_ARGS) {
  return pgp::guarded([&] { return PointerGetDatum(pgp::make_text(cc::master_key_id(pgp::master_key()))); });
}

// privacy._provider_read_key_file(path): the first line of a server-side file, superuser only.
Datum pgp_provider_read_key_file(PG_FUNCTION_ARGS) {
  pgp::mark_secret_statement();
  if (!superuser())
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("only a superuser may read an API key file")));
  const char* path = text_to_cstring(PG_GETARG_TEXT_PP(0));
  return pgp::guarded([&] {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw pgp::core::Error(ss::kInvalidProvider, "could not read the API key file");
    std::string line;
    std::getline(f, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty()) throw pgp::core::Error(ss::kInvalidProvider, "the API key file is empty");
    return PointerGetDatum(pgp::make_text(line));
  });
}

Datum pgp_provider_reset_limits(PG_FUNCTION_ARGS) {
  pgp::require_preload("privacy.provider_reset_limits()");
  pgp::provider_limits_reset();
  PG_RETURN_VOID();
}
