// privacy.databases parser (see database_list.hpp).
#include "core/retention/database_list.hpp"

#include "core/common.hpp"

#include <algorithm>

namespace pgp::core::retention {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> parse_database_list(std::string_view list) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= list.size()) {
    std::string name;
    std::size_t end = i;
    std::string_view rest = list.substr(i);
    std::string_view lead = trim(rest);
    if (!lead.empty() && lead.front() == '"') {
      // Quoted: "" is a literal quote; ends at the closing quote, then only blanks to the comma.
      std::size_t j = static_cast<std::size_t>(lead.data() - list.data()) + 1;
      bool closed = false;
      for (; j < list.size(); ++j) {
        if (list[j] == '"') {
          if (j + 1 < list.size() && list[j + 1] == '"') {
            name.push_back('"');
            ++j;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        name.push_back(list[j]);
      }
      if (!closed) throw Error("22023", "privacy.databases has an unterminated quoted name");
      end = list.find(',', j);
      if (!trim(list.substr(j, end == std::string_view::npos ? std::string_view::npos : end - j)).empty())
        throw Error("22023", "privacy.databases has text after a quoted name");
    } else {
      end = list.find(',', i);
      name = std::string(trim(list.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
    }
    if (name.size() > kMaxDatabaseName)
      throw Error("22023", "privacy.databases names a database longer than 63 bytes");
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return out;
}

}  // namespace pgp::core::retention
