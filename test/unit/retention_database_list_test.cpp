// Unit tests of the privacy.databases parser behind the retention worker's launcher.
#include "core/common.hpp"
#include "core/retention/database_list.hpp"

#include <gtest/gtest.h>

using pgp::core::retention::parse_database_list;
using V = std::vector<std::string>;

TEST(DatabaseList, empty_setting_serves_no_database) {
  EXPECT_EQ(parse_database_list(""), V{});
  EXPECT_EQ(parse_database_list(" , ,"), V{});
}

TEST(DatabaseList, splits_on_commas_and_trims_blanks) {
  EXPECT_EQ(parse_database_list("app, analytics ,\tpostgres"), (V{"app", "analytics", "postgres"}));
}

TEST(DatabaseList, keeps_the_first_of_duplicates_in_order) {
  EXPECT_EQ(parse_database_list("b,a,b,a"), (V{"b", "a"}));
}

TEST(DatabaseList, quoted_names_keep_commas_blanks_and_doubled_quotes) {
  EXPECT_EQ(parse_database_list(R"("my, db" , "say ""hi""",x)"), (V{"my, db", R"(say "hi")", "x"}));
}

TEST(DatabaseList, keeps_case_as_written) {
  EXPECT_EQ(parse_database_list("App,app"), (V{"App", "app"}));
}

TEST(DatabaseList, refuses_unterminated_quote_and_trailing_text) {
  EXPECT_THROW(parse_database_list(R"("open)"), pgp::core::Error);
  EXPECT_THROW(parse_database_list(R"("a" b, c)"), pgp::core::Error);
}

TEST(DatabaseList, refuses_names_longer_than_postgres_allows) {
  EXPECT_EQ(parse_database_list(std::string(63, 'd')).size(), 1u);
  try {
    parse_database_list(std::string(64, 'd'));
    FAIL() << "no error";
  } catch (const pgp::core::Error& e) {
    EXPECT_EQ(e.sqlstate(), "22023");
    EXPECT_EQ(std::string(e.what()).find("ddd"), std::string::npos) << "the message quotes the value";
  }
}
