// is_secret_key(): the names of the issue and their spellings (case, separators), suffixes, and
// keys that must stay visible (counters such as max_tokens, primary keys).
#include "core/redact/secret_keys.hpp"

#include <gtest/gtest.h>

namespace cr = pgp::core::redact;

TEST(SecretKeys, names_every_secret_word_of_the_issue) {
  for (const char* k : {"password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_key",
                        "private_key", "client_secret", "authorization"})
    EXPECT_TRUE(cr::is_secret_key(k)) << k;
}

TEST(SecretKeys, ignores_case_and_separators) {
  for (const char* k : {"PASSWORD", "Api-Key", "apiKey", "API.KEY", "api key", "Client_Secret", "x-api-key",
                        "AUTHORIZATION", "private-key", "PassWd", "__token__"})
    EXPECT_TRUE(cr::is_secret_key(k)) << k;
}

TEST(SecretKeys, matches_names_that_end_in_a_secret_word) {
  for (const char* k : {"db_password", "GITHUB_TOKEN", "aws_secret_access_key", "stripeApiKey", "refresh_token",
                        "proxy-authorization", "webhook_secret", "user_credentials", "jwt_signing_key"})
    EXPECT_TRUE(cr::is_secret_key(k)) << k;
}

TEST(SecretKeys, leaves_ordinary_keys_alone) {
  for (const char* k : {"max_tokens", "prompt_tokens", "token_count", "primary_key", "key", "name", "email",
                        "passenger", "author", "secretary_name", "", "___", "tokenizer"})
    EXPECT_FALSE(cr::is_secret_key(k)) << k;
}

TEST(SecretKeys, refuses_overlong_keys_without_reading_past_the_limit) {
  EXPECT_FALSE(cr::is_secret_key(std::string(10000, 'a') + "password"));
  EXPECT_TRUE(cr::is_secret_key(std::string(100, '_') + "password"));  // separators do not count
}

TEST(SecretKeys, placeholder_uses_the_template) {
  EXPECT_EQ(cr::secret_placeholder("[{type}_REDACTED]"), "[SECRET_REDACTED]");
  EXPECT_EQ(cr::secret_placeholder("<{type}|{type}>"), "<SECRET|SECRET>");
  EXPECT_EQ(cr::secret_placeholder("***"), "***");
}
