// What privacy.status and privacy.metrics read from the provider's rate-limit buckets in shared
// memory: one row per bucket with its tenant (never the subject id), how full of requests it is
// and how many calls it refused.
#include "pg/error_hints.hpp"
#include "pg/guard.hpp"
#include "pg/provider_limits.hpp"

extern "C" {
#include "funcapi.h"
}

PGP_FUNCTION(pgp_ops_rate_limits)

namespace {

struct Collect {
  pgp::LimitsRow* rows;
  int n;
  int cap;
};

// Under the buckets' lock: copies only (no allocation, no ereport).
void collect(void* arg, const pgp::LimitsRow& r) {
  Collect* c = static_cast<Collect*>(arg);
  if (c->n < c->cap) c->rows[c->n++] = r;
}

}  // namespace

// privacy._rate_limits(): (tenant, scope 'tenant' or 'subject', pressure 0..1, empty, refused).
Datum pgp_ops_rate_limits(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Collect c{static_cast<pgp::LimitsRow*>(palloc(sizeof(pgp::LimitsRow) * 8192)), 0, 8192};
  pgp::provider_limits_snapshot(collect, &c);
  for (int i = 0; i < c.n; ++i) {
    const pgp::LimitsRow& r = c.rows[i];
    Datum v[5] = {CStringGetTextDatum(r.tenant), CStringGetTextDatum(r.subject ? "subject" : "tenant"),
                  Float8GetDatum(r.pressure), BoolGetDatum(r.empty), Int64GetDatum(static_cast<int64>(r.refused))};
    bool n[5] = {};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
  }
  return (Datum)0;
}

PGP_FUNCTION(pgp_permission_hint)

// privacy._permission_hint(object): the role a "permission denied" hint names for that object
// (NULL: no hint), so that a test can hold error_hints.cpp's table against privacy.role_grants.
Datum pgp_permission_hint(PG_FUNCTION_ARGS) {
  const char* role = pgp::permission_hint_role(text_to_cstring(PG_GETARG_TEXT_PP(0)));
  if (!role) PG_RETURN_NULL();
  PG_RETURN_TEXT_P(cstring_to_text(role));
}
