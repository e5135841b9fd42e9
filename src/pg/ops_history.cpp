// Writes privacy.operation_runs through the SQL functions of 80_operations.sql, as the owner.
#include "pg/ops_history.hpp"
#include "pg/owner_spi.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace pgp::ops {

namespace {

// privacy._run_record() or privacy._run_start() (the same arguments): the run's id, which the
// progress slot shows too.
int64 new_run(const char* query, Op op, const char* counts_json) {
  Oid types[6] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, JSONBOID, TEXTOID};
  Datum values[6] = {CStringGetTextDatum(op_name(op)), TimestampTzGetDatum(started()),
                     TimestampTzGetDatum(MyStartTimestamp), CStringGetTextDatum(source()),
                     DirectFunctionCall1(jsonb_in, CStringGetDatum(counts_json)), CStringGetTextDatum(role())};
  RawRows rows;
  owner_execute(query, 6, types, values, nullptr, false, &rows);
  const int64 id = rows.nrows == 1 && rows.at(0, 0) ? strtoll(rows.at(0, 0), nullptr, 10) : 0;
  set_run_id(id);
  return id;
}

}  // namespace

int64 run_record(Op op, const char* counts_json) {
  return new_run("SELECT privacy._run_record($1, $2, $3, $4, $5, $6)", op, counts_json);
}

int64 run_start(Op op, const char* counts_json) {
  return new_run("SELECT privacy._run_start($1, $2, $3, $4, $5, $6)", op, counts_json);
}

void run_end(int64 run, const char* status, const char* counts_json, const char* error) {
  Oid types[4] = {INT8OID, TEXTOID, JSONBOID, TEXTOID};
  Datum values[4] = {Int64GetDatum(run), CStringGetTextDatum(status),
                     DirectFunctionCall1(jsonb_in, CStringGetDatum(counts_json ? counts_json : "{}")),
                     error ? CStringGetTextDatum(error) : (Datum)0};
  const char nulls[4] = {' ', ' ', ' ', error ? ' ' : 'n'};
  owner_execute("SELECT privacy._run_end($1, $2, $3, $4)", 4, types, values, nulls, false, nullptr);
}

}  // namespace pgp::ops
