// pg_privacy's hints on PostgreSQL's own errors (permission denied, row-level security).
#pragma once

#include "pg/pg.hpp"

namespace pgp {

// Adds a hint to an error being reported, when it has none and pg_privacy knows why it happened.
// From the emit_log_hook: never ereports, allocates in the current (error) context.
void add_error_hint(ErrorData* edata) noexcept;

// The role(s) holding the privilege on a pg_privacy object, by its unqualified name, or nullptr.
const char* permission_hint_role(const char* object) noexcept;

}  // namespace pgp
