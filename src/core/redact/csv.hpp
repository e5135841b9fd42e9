// CSV previews reduced to metadata: the header row and a count of data rows, so a data preview
// can be logged or sent to a model without its values.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pgp::core::redact {

struct CsvSummary {
  std::string header;     // the first record, as written (without its line break)
  std::size_t rows = 0;   // data records after the header (RFC 4180: quoted line breaks count once)
};

CsvSummary summarize_csv(std::string_view text);

}  // namespace pgp::core::redact
