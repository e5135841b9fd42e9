// Unit tests of summarize_csv(): header extraction and RFC 4180 record counting.
#include "core/redact/csv.hpp"

#include <gtest/gtest.h>

using pgp::core::redact::summarize_csv;

TEST(Csv, counts_data_rows_after_header) {
  auto s = summarize_csv("name,email\nAna,ana@example.com\nBen,ben@example.com\n");
  EXPECT_EQ(s.header, "name,email");
  EXPECT_EQ(s.rows, 2u);
}

TEST(Csv, accepts_crlf_and_missing_final_newline) {
  auto s = summarize_csv("a,b\r\n1,2\r\n3,4");
  EXPECT_EQ(s.header, "a,b");
  EXPECT_EQ(s.rows, 2u);
}

TEST(Csv, quoted_line_breaks_do_not_end_a_record) {
  auto s = summarize_csv("id,note\n1,\"line one\nline two\"\n2,\"say \"\"hi\"\"\"\n");
  EXPECT_EQ(s.rows, 2u);
}

TEST(Csv, blank_lines_are_not_records) {
  auto s = summarize_csv("h\n\n1\n\n");
  EXPECT_EQ(s.rows, 1u);
}

TEST(Csv, header_only_and_empty_input) {
  EXPECT_EQ(summarize_csv("h1,h2").header, "h1,h2");
  EXPECT_EQ(summarize_csv("h1,h2").rows, 0u);
  EXPECT_EQ(summarize_csv("").rows, 0u);
  EXPECT_EQ(summarize_csv("").header, "");
}
