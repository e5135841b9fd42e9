// Conversions between Postgres values and C++ views/strings, safe to use inside guarded():
// every allocation goes through pg_call.
#pragma once

#include "pg/guard.hpp"

#include <string>
#include <string_view>

namespace pgp {

inline std::string_view text_view(const text* t) {
  return {VARDATA_ANY(t), static_cast<std::size_t>(VARSIZE_ANY_EXHDR(t))};
}

inline text* make_text(std::string_view s) {
  return pg_call([&] { return cstring_to_text_with_len(s.data(), static_cast<int>(s.size())); });
}

inline char* make_cstring(std::string_view s) {
  return pg_call([&] { return pnstrdup(s.data(), s.size()); });
}

}  // namespace pgp
