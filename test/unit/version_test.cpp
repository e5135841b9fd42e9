// Unit tests of the library-version report behind privacy.version().
#include "core/version.hpp"

#include <gtest/gtest.h>

TEST(Version, names_every_library_it_runs_with) {
  const std::string v = pgp::core::version_string("9.9.9");
  EXPECT_EQ(v.rfind("pg_privacy 9.9.9 (", 0), 0u) << v;
  EXPECT_NE(v.find("RE2 "), std::string::npos) << v;
  EXPECT_NE(v.find("OpenSSL 3."), std::string::npos) << v;
  EXPECT_NE(v.find("libcurl "), std::string::npos) << v;
}

TEST(Version, core_error_carries_sqlstate_detail_and_hint) {
  pgp::core::Error e("PV101", "bad rule", "the detail", "the hint");
  EXPECT_EQ(e.sqlstate(), "PV101");
  EXPECT_STREQ(e.what(), "bad rule");
  EXPECT_EQ(e.detail(), "the detail");
  EXPECT_EQ(e.hint(), "the hint");
}
