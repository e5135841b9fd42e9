// Unit tests of the cluster context (core/tenancy/cluster_context): what a coordinator seals, a
// worker opens unchanged; anything altered, sealed with another key, malformed or expired is
// refused with its SQLSTATE and a message that never echoes the text.
#include "core/common.hpp"
#include "core/crypto/base64url.hpp"
#include "core/crypto/hmac.hpp"
#include "core/tenancy/cluster_context.hpp"

#include <gtest/gtest.h>

namespace {

using namespace pgp::core;
using namespace pgp::core::tenancy;

crypto::SecretKey key_from(char fill) { return crypto::SecretKey::from_bytes(std::string(32, fill)); }

ClusterContext sample() {
  ClusterContext c;
  c.expires = 2000;
  c.config_digest = "d1g357";
  c.tenant = "acme";
  c.subject = "user-1";
  c.region = "eu";
  c.roles = {"support", "billing"};
  return c;
}

std::string sqlstate_of(const crypto::SecretKey& key, std::string_view text, std::int64_t now = 1000) {
  try {
    open_cluster_context(key, text, now);
  } catch (const Error& e) {
    if (text.size() >= 8) {
      EXPECT_EQ(std::string(e.what()).find(std::string(text.substr(0, 8))), std::string::npos)
          << "the message echoes the text";
    }
    return e.sqlstate();
  }
  return "none";
}

// A payload sealed with the right key but not in the format.
std::string sealed_raw(const crypto::SecretKey& key, std::string_view payload) {
  const crypto::Sha256Digest mac = crypto::hmac_sha256(key.view(), payload);
  return crypto::base64url_encode(payload) + "." +
         crypto::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

TEST(ClusterContext, round_trips_every_field) {
  const crypto::SecretKey key = cluster_context_key(key_from('m'));
  const ClusterContext c = open_cluster_context(key, seal_cluster_context(key, sample()), 1000);
  EXPECT_EQ(c.expires, 2000);
  EXPECT_EQ(c.config_digest, "d1g357");
  EXPECT_EQ(c.tenant, "acme");
  EXPECT_EQ(c.subject, "user-1");
  EXPECT_EQ(c.region, "eu");
  EXPECT_EQ(c.roles, (std::vector<std::string>{"support", "billing"}));
}

TEST(ClusterContext, key_is_derived_from_the_master_key_and_differs_from_it) {
  const crypto::SecretKey master = key_from('m');
  EXPECT_TRUE(cluster_context_key(master) == cluster_context_key(master));
  EXPECT_FALSE(cluster_context_key(master) == master);
  EXPECT_FALSE(cluster_context_key(master) == cluster_context_key(key_from('n')));
}

TEST(ClusterContext, refuses_a_context_sealed_with_another_master_key) {
  const std::string text = seal_cluster_context(cluster_context_key(key_from('m')), sample());
  EXPECT_EQ(sqlstate_of(cluster_context_key(key_from('n')), text), "PV951");
}

TEST(ClusterContext, refuses_every_changed_character) {
  const crypto::SecretKey key = cluster_context_key(key_from('m'));
  const std::string text = seal_cluster_context(key, sample());
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string t = text;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(sqlstate_of(key, t), "PV951") << "position " << i;
  }
}

TEST(ClusterContext, refuses_a_context_whose_tenant_was_swapped_for_another) {
  const crypto::SecretKey key = cluster_context_key(key_from('m'));
  ClusterContext other = sample();
  other.tenant = "globex";
  const std::string a = seal_cluster_context(key, sample());
  const std::string b = seal_cluster_context(key, other);
  // b's payload with a's seal
  const std::string spliced = b.substr(0, b.find('.')) + a.substr(a.find('.'));
  EXPECT_EQ(sqlstate_of(key, spliced), "PV951");
}

TEST(ClusterContext, refuses_malformed_text) {
  const crypto::SecretKey key = cluster_context_key(key_from('m'));
  const std::vector<std::string_view> texts = {"", ".", "abc", "abc.def", "a=b.c", std::string_view("\0.\0", 3)};
  for (std::string_view t : texts)
    EXPECT_EQ(sqlstate_of(key, t), "PV951") << t;
  EXPECT_EQ(sqlstate_of(key, std::string(200000, 'A')), "PV951");
}

TEST(ClusterContext, refuses_a_sealed_payload_that_is_not_in_the_format) {
  const crypto::SecretKey key = cluster_context_key(key_from('m'));
  const std::string good = *crypto::base64url_decode(
      seal_cluster_context(key, sample()).substr(0, seal_cluster_context(key, sample()).find('.')));
  EXPECT_EQ(sqlstate_of(key, sealed_raw(key, good)), "none");
  EXPECT_EQ(sqlstate_of(key, sealed_raw(key, good + "x")), "PV951") << "trailing bytes";
  EXPECT_EQ(sqlstate_of(key, sealed_raw(key, good.substr(0, good.size() - 1))), "PV951") << "truncated";
  EXPECT_EQ(sqlstate_of(key, sealed_raw(key, "PGPC")), "PV951");
  std::string v2 = good;
  v2[4] = 2;
  EXPECT_EQ(sqlstate_of(key, sealed_raw(key, v2)), "PV951") << "unknown version";
  ClusterContext no_tenant = sample();
  no_tenant.tenant.clear();
  EXPECT_EQ(sqlstate_of(key, seal_cluster_context(key, no_tenant)), "PV951");
}

TEST(ClusterContext, refuses_an_expired_context) {
  const crypto::SecretKey key = cluster_context_key(key_from('m'));
  const std::string text = seal_cluster_context(key, sample());
  EXPECT_EQ(sqlstate_of(key, text, 1999), "none");
  EXPECT_EQ(sqlstate_of(key, text, 2000), "PV952");
  EXPECT_EQ(sqlstate_of(key, text, 5000), "PV952");
}

}  // namespace
