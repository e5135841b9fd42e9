// Unit tests of wrapping under the master key: data keys and provider secrets round-trip, and a
// wrong master key, a moved row, a flipped byte or a truncation is refused; rotation re-wraps.
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/wrap.hpp"
#include "common/crypto_test_util.hpp"

#include <gtest/gtest.h>

namespace {

using namespace pgp::core::crypto;
namespace ss = pgp::core::crypto::crypto_sqlstate;
using pgp::test::sqlstate_of;

class Wrap : public ::testing::Test {
 protected:
  SecretKey master = SecretKey::random();
  SecretKey data_key = SecretKey::random();
  WrapLabel label = WrapLabel::data_key(KeyKind::kTenant, "tenant-acme", 2);
  std::string refusal(const std::string& wrapped, const WrapLabel& l, const SecretKey& m) {
    return sqlstate_of([&] { unwrap_data_key(m, wrapped, l); });
  }
};

TEST_F(Wrap, data_key_round_trips) {
  const std::string wrapped = wrap_secret(master, data_key.view(), label);
  EXPECT_EQ(wrapped.size(), 3u + 12 + 32 + 16);
  EXPECT_EQ(wrapped.substr(0, 3), std::string("pw\x01"));
  EXPECT_EQ(wrapped.find(data_key.view()), std::string::npos);
  EXPECT_EQ(unwrap_data_key(master, wrapped, label), data_key);
}

TEST_F(Wrap, wrong_master_key_or_moved_row_is_refused) {
  const std::string wrapped = wrap_secret(master, data_key.view(), label);
  EXPECT_EQ(refusal(wrapped, label, SecretKey::random()), ss::kWrappedKeyRefused);
  for (const WrapLabel& other :
       {WrapLabel::data_key(KeyKind::kTenant, "tenant-acmf", 2),
        WrapLabel::data_key(KeyKind::kTenant, "tenant-acme", 3),
        WrapLabel::data_key(KeyKind::kPseudonym, "tenant-acme", 2),
        WrapLabel::data_key(KeyKind::kSubject, "tenant-acme", 2, "ref"),
        WrapLabel::provider_secret("tenant-acme")})
    EXPECT_EQ(refusal(wrapped, other, master), ss::kWrappedKeyRefused);
}

TEST_F(Wrap, every_flipped_byte_and_every_truncation_is_refused) {
  const std::string wrapped = wrap_secret(master, data_key.view(), label);
  for (std::size_t i = 0; i < wrapped.size(); ++i) {
    std::string bad = wrapped;
    bad[i] ^= 0x20;
    EXPECT_EQ(refusal(bad, label, master), ss::kWrappedKeyRefused) << i;
    EXPECT_EQ(refusal(wrapped.substr(0, i), label, master), ss::kWrappedKeyRefused) << i;
  }
}

TEST_F(Wrap, a_secret_of_another_size_is_not_a_data_key) {
  const std::string wrapped = wrap_secret(master, std::string(31, 'k'), label);
  EXPECT_EQ(unwrap_secret(master, wrapped, label).size(), 31u);
  EXPECT_EQ(refusal(wrapped, label, master), ss::kWrappedKeyRefused);
}

TEST_F(Wrap, rewrap_moves_a_key_to_the_new_master) {
  const SecretKey next = SecretKey::random();
  const std::string wrapped = wrap_secret(master, data_key.view(), label);
  const std::string rewrapped = rewrap_secret(master, next, wrapped, label);
  EXPECT_EQ(unwrap_data_key(next, rewrapped, label), data_key);
  EXPECT_EQ(refusal(rewrapped, label, master), ss::kWrappedKeyRefused);
  // Rotating with the wrong old key changes nothing and says so.
  EXPECT_EQ(sqlstate_of([&] { rewrap_secret(next, master, wrapped, label); }),
            ss::kWrappedKeyRefused);
}

TEST_F(Wrap, provider_secret_round_trips_and_rotates) {
  const std::string api_key = "sk-live-0123456789abcdefghijklmnopqrstuvwxyz";
  const WrapLabel openai = WrapLabel::provider_secret("openai");
  const std::string sealed = wrap_secret(master, api_key, openai);
  EXPECT_EQ(sealed.find("sk-live"), std::string::npos);
  EXPECT_EQ(unwrap_secret(master, sealed, openai).view(), api_key);
  EXPECT_EQ(sqlstate_of([&] { unwrap_secret(master, sealed, WrapLabel::provider_secret("anthropic")); }),
            ss::kWrappedKeyRefused);
  const SecretKey next = SecretKey::random();
  EXPECT_EQ(unwrap_secret(next, rewrap_secret(master, next, sealed, openai), openai).view(),
            api_key);
}

TEST(WrapLabel, refuses_incomplete_labels) {
  EXPECT_EQ(sqlstate_of([] { WrapLabel::data_key(KeyKind::kTenant, "", 1); }), "22023");
  EXPECT_EQ(sqlstate_of([] { WrapLabel::data_key(KeyKind::kTenant, "t", 0); }), "22023");
  EXPECT_EQ(sqlstate_of([] { WrapLabel::data_key(KeyKind::kSubject, "t", 1); }), "22023");
  EXPECT_EQ(sqlstate_of([] { WrapLabel::data_key(KeyKind::kTenant, "t", 1, "ref"); }), "22023");
  EXPECT_EQ(sqlstate_of([] { WrapLabel::data_key(static_cast<KeyKind>(9), "t", 1); }), "22023");
  EXPECT_EQ(sqlstate_of([] { WrapLabel::provider_secret(""); }), "22023");
}

}  // namespace
