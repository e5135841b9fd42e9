// What the rest of pg_privacy asks of column classification (classify.cpp): the levels of a
// table's columns, masking a value for a reader who may not see it, and the log hook's check.
#pragma once

#include "pg/pg.hpp"

namespace pgp {

// The level of each attribute of `relid` ('I', 'C' or 'R'; '\0' when not classified or PUBLIC),
// levels[0 .. natts-1]. False (levels untouched) when no column of the table is classified. Loads
// the classification when it is stale: may ereport, call it with no C++ objects alive.
bool classified_levels(Oid relid, int natts, char* levels);

// The text a reader who may not see a classified text value of `level` reads instead: "****" for
// RESTRICTED, else the value with everything but what mask() keeps replaced. palloc'd; may
// ereport (the redaction engine): call it with no C++ objects alive.
char* classified_mask_cstring(const char* value, char level);

// From the emit_log_hook: an error about a classified table (a constraint's "Failing row contains
// (...)" or "Key (...)=(...)") loses its detail when the reader may not see one of the table's
// classified columns. Reads only what is cached; never ereports or throws.
void withhold_classified_detail(ErrorData* edata) noexcept;

}  // namespace pgp
