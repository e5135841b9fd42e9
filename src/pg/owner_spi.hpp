// Reads the extension's configuration tables through SPI as the owner of schema privacy (through
// as_owner(), privilege.hpp), so application roles need no privilege on them; rows are copied
// out as palloc'd C strings.
#pragma once

#include "pg/pg.hpp"
#include "pg/privilege.hpp"

namespace pgp {

// One result set copied out of SPI: `nrows` x `ncols` C strings (NULL for SQL NULL), allocated
// in the caller's memory context so they outlive SPI_finish.
struct RawRows {
  int nrows = 0;
  int ncols = 0;
  char** cells = nullptr;
  const char* at(int r, int c) const { return cells[r * ncols + c]; }
};

// Runs each query (read-only) as the owner of schema privacy and returns their rows. C-style on
// purpose: it may ereport, so it is called with no C++ objects alive (before guarded()).
void owner_queries(const char* const* queries, RawRows* results, int n);

// Runs one parameterised statement as the owner of schema privacy (read-write unless
// `read_only`) and returns its rows (a SELECT or ... RETURNING); *processed gets SPI_processed
// when not null. Like owner_queries it may ereport: call it through pg_call() or with no C++
// objects alive.
void owner_execute(const char* query, int nargs, const Oid* types, const Datum* values,
                   const char* nulls, bool read_only, RawRows* result, uint64* processed = nullptr);

// Oid of a relation in schema privacy (InvalidOid if it does not exist).
Oid privacy_relid(const char* relname);

}  // namespace pgp
