// RFC 4180 record counting for privacy.sanitize_csv(): a line break inside double quotes does
// not end a record; CRLF, LF and a missing final line break are all accepted.
#include "core/redact/csv.hpp"

namespace pgp::core::redact {

CsvSummary summarize_csv(std::string_view text) {
  CsvSummary out;
  bool in_quotes = false;
  bool header_done = false;
  bool record_has_content = false;
  std::size_t header_end = text.size();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      in_quotes = !in_quotes;  // an escaped quote ("") toggles twice
      record_has_content = true;
    } else if ((c == '\n' || c == '\r') && !in_quotes) {
      const std::size_t break_pos = i;
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (!header_done) {
        header_done = true;
        header_end = break_pos;
      } else if (record_has_content) {
        ++out.rows;
      }
      record_has_content = false;
    } else {
      record_has_content = true;
    }
  }
  if (header_done && record_has_content) ++out.rows;
  out.header = std::string(text.substr(0, header_end));
  return out;
}

}  // namespace pgp::core::redact
