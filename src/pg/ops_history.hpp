// privacy.history's rows, written as the extension owner (so that the roles running an operation
// need no privilege on privacy.operation_runs), and the NOTICE each operation ends with.
#pragma once

#include "pg/ops_state.hpp"

namespace pgp::ops {

// A run recorded whole, at the end of an operation that runs in the caller's transaction (its
// start is ops::started()). `counts_json` is a JSON object. May ereport: no C++ objects alive.
int64 run_record(Op op, const char* counts_json);

// A run that commits as it goes: started 'running', ended with its status, counts and error.
int64 run_start(Op op, const char* counts_json);
void run_end(int64 run, const char* status, const char* counts_json, const char* error);

}  // namespace pgp::ops
