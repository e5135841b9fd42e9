// Secrets kept out of the server log: the statements and errors of calls that take a signing
// key, a token, a provider API key or keyring material are withheld from every log line.
#pragma once

#include "pg/pg.hpp"

namespace pgp {

// Called by each C function that receives a secret (signing keys, tokens, API keys): the rest of
// the current statement's log lines are withheld, whatever their text.
void mark_secret_statement() noexcept;

// From the emit_log_hook, for a line bound for the server log. When the statement passes a
// secret (marked above, or its text names a secret-taking function or table), withholds the
// statement text, the detail (parameters, "Failing row contains"), the context and the internal
// query, and the message unless pg_privacy wrote it (its messages never carry values). Never
// ereports or throws; allocates only in the current (error) context, and leaves a field NULL
// when that fails.
void withhold_secrets(ErrorData* edata) noexcept;

}  // namespace pgp
