// Parses privacy.databases, the comma-separated list of databases the retention worker serves.
// Pure C++: the launcher copies the result into plain buffers before it calls Postgres again.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgp::core::retention {

// Longest database name Postgres accepts (NAMEDATALEN - 1).
inline constexpr std::size_t kMaxDatabaseName = 63;

// Splits on commas, trims blanks, drops empty items and duplicates (first one wins), and keeps
// order. A double-quoted item keeps its case and may contain commas; an unquoted one is kept as
// written (database names are not case-folded by the server either). Throws core::Error
// (22023) for an unterminated quote or a name longer than kMaxDatabaseName.
std::vector<std::string> parse_database_list(std::string_view list);

}  // namespace pgp::core::retention
