// Unit tests of tenant secrets (privacy.keyring_dir) and the tenant key-encryption key: the
// file's life cycle, the permission rules, and that a destroyed secret makes a wrapped key
// unrecoverable even with the master key.
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/tenant_secret.hpp"
#include "core/crypto/wrap.hpp"
#include "common/crypto_test_util.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace {

using namespace pgp::core::crypto;
namespace ss = pgp::core::crypto::crypto_sqlstate;
using pgp::test::sqlstate_of;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/pgp_keyring_test.XXXXXX";
    path = mkdtemp(tmpl);
    chmod(path.c_str(), 0700);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(TenantSecret, created_once_and_read_back) {
  TempDir d;
  EXPECT_FALSE(read_tenant_secret(d.path, "acme").has_value());
  SecretKey a = read_or_create_tenant_secret(d.path, "acme");
  SecretKey b = read_or_create_tenant_secret(d.path, "acme");
  EXPECT_TRUE(a == b);
  auto again = read_tenant_secret(d.path, "acme");
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(*again == a);
  SecretKey other = read_or_create_tenant_secret(d.path, "globex");
  EXPECT_FALSE(other == a);
  struct stat st {};
  ASSERT_EQ(stat((d.path + "/" + tenant_secret_filename("acme")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(TenantSecret, file_name_does_not_show_the_tenant) {
  const std::string name = tenant_secret_filename("acme-corporation");
  EXPECT_EQ(name.size(), 64u + 4u);
  EXPECT_EQ(name.find("acme"), std::string::npos);
  EXPECT_NE(name, tenant_secret_filename("acme-corporatioN"));
}

TEST(TenantSecret, destroyed_secret_cannot_unwrap_even_with_the_master_key) {
  TempDir d;
  const SecretKey master = SecretKey::random();
  const SecretKey data_key = SecretKey::random();
  const auto label = WrapLabel::data_key(KeyKind::kTenant, "acme", 1);
  std::string wrapped;
  {
    SecretKey secret = read_or_create_tenant_secret(d.path, "acme");
    wrapped = wrap_secret(derive_tenant_kek(master, "acme", &secret), data_key.view(), label);
    EXPECT_TRUE(unwrap_data_key(derive_tenant_kek(master, "acme", &secret), wrapped, label) == data_key);
  }
  EXPECT_TRUE(destroy_tenant_secret(d.path, "acme"));
  EXPECT_FALSE(destroy_tenant_secret(d.path, "acme"));
  EXPECT_FALSE(read_tenant_secret(d.path, "acme").has_value());
  // A new secret for the same tenant does not bring the old key back.
  SecretKey fresh = read_or_create_tenant_secret(d.path, "acme");
  EXPECT_EQ(sqlstate_of([&] { unwrap_data_key(derive_tenant_kek(master, "acme", &fresh), wrapped, label); }),
            ss::kWrappedKeyRefused);
  EXPECT_EQ(sqlstate_of([&] { unwrap_data_key(derive_tenant_kek(master, "acme", nullptr), wrapped, label); }),
            ss::kWrappedKeyRefused);
}

TEST(TenantKek, depends_on_master_tenant_and_secret) {
  const SecretKey m1 = SecretKey::random(), m2 = SecretKey::random(), s = SecretKey::random();
  EXPECT_TRUE(derive_tenant_kek(m1, "acme", &s) == derive_tenant_kek(m1, "acme", &s));
  EXPECT_FALSE(derive_tenant_kek(m1, "acme", &s) == derive_tenant_kek(m2, "acme", &s));
  EXPECT_FALSE(derive_tenant_kek(m1, "acme", &s) == derive_tenant_kek(m1, "acmf", &s));
  EXPECT_FALSE(derive_tenant_kek(m1, "acme", &s) == derive_tenant_kek(m1, "acme", nullptr));
}

TEST(TenantSecret, refuses_open_directories_and_files) {
  TempDir d;
  chmod(d.path.c_str(), 0750);
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret(d.path, "acme"); }), ss::kKeyringDirRefused);
  chmod(d.path.c_str(), 0700);
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret("relative/dir", "acme"); }), ss::kKeyringDirRefused);
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret(d.path + "/missing", "acme"); }), ss::kKeyringDirRefused);
  (void)read_or_create_tenant_secret(d.path, "acme");
  const std::string f = d.path + "/" + tenant_secret_filename("acme");
  chmod(f.c_str(), 0640);
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret(d.path, "acme"); }), ss::kKeyringDirRefused);
  chmod(f.c_str(), 0600);
  { std::ofstream(f, std::ios::app) << "x"; }
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret(d.path, "acme"); }), ss::kKeyringDirRefused);
}

}  // namespace
