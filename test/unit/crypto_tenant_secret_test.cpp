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
  const std::string id = new_secret_id(), id2 = new_secret_id();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_NE(id, id2);
  EXPECT_FALSE(read_tenant_secret(d.path, id).has_value());
  SecretKey a = create_tenant_secret(d.path, id);
  auto again = read_tenant_secret(d.path, id);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(*again == a);
  // An existing secret is never replaced.
  EXPECT_EQ(sqlstate_of([&] { create_tenant_secret(d.path, id); }), ss::kKeyringDirRefused);
  EXPECT_TRUE(*read_tenant_secret(d.path, id) == a);
  SecretKey other = create_tenant_secret(d.path, id2);
  EXPECT_FALSE(other == a);
  struct stat st {};
  ASSERT_EQ(stat((d.path + "/" + id + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(TenantSecret, refuses_ids_that_are_not_32_hex_digits) {
  TempDir d;
  for (const char* bad : {"", "../etc/passwd", "0123456789ABCDEF0123456789abcdef",
                          "0123456789abcdef0123456789abcde"})
    EXPECT_EQ(sqlstate_of([&] { read_tenant_secret(d.path, bad); }), ss::kKeyringDirRefused) << bad;
}

TEST(TenantSecret, destroyed_secret_cannot_unwrap_even_with_the_master_key) {
  TempDir d;
  const SecretKey master = SecretKey::random();
  const SecretKey data_key = SecretKey::random();
  const auto label = WrapLabel::data_key(KeyKind::kTenant, "acme", 1);
  std::string wrapped;
  const std::string id = new_secret_id();
  {
    SecretKey secret = create_tenant_secret(d.path, id);
    wrapped = wrap_secret(derive_tenant_kek(master, "acme", &secret), data_key.view(), label);
    EXPECT_TRUE(unwrap_data_key(derive_tenant_kek(master, "acme", &secret), wrapped, label) == data_key);
  }
  EXPECT_TRUE(destroy_tenant_secret(d.path, id));
  EXPECT_FALSE(destroy_tenant_secret(d.path, id));
  EXPECT_FALSE(read_tenant_secret(d.path, id).has_value());
  // A new secret, even under the same id, does not bring the old key back.
  SecretKey fresh = create_tenant_secret(d.path, id);
  EXPECT_EQ(sqlstate_of([&] { unwrap_data_key(derive_tenant_kek(master, "acme", &fresh), wrapped, label); }),
            ss::kWrappedKeyRefused);
  EXPECT_EQ(sqlstate_of([&] { unwrap_data_key(derive_tenant_kek(master, "acme", nullptr), wrapped, label); }),
            ss::kWrappedKeyRefused);
}

TEST(TenantSecret, noexcept_destroy_deletes_and_refuses_bad_ids) {
  TempDir d;
  const std::string id = new_secret_id();
  create_tenant_secret(d.path, id);
  EXPECT_FALSE(destroy_tenant_secret_noexcept(d.path.c_str(), "../../etc/passwd"));
  EXPECT_FALSE(destroy_tenant_secret_noexcept(d.path.c_str(), (id + "0").c_str()));
  EXPECT_FALSE(destroy_tenant_secret_noexcept("relative/dir", id.c_str()));
  EXPECT_FALSE(destroy_tenant_secret_noexcept(nullptr, id.c_str()));
  EXPECT_FALSE(destroy_tenant_secret_noexcept((std::string("/") + std::string(5000, 'a')).c_str(), id.c_str()));
  EXPECT_TRUE(read_tenant_secret(d.path, id).has_value());
  EXPECT_TRUE(destroy_tenant_secret_noexcept(d.path.c_str(), id.c_str()));
  EXPECT_FALSE(read_tenant_secret(d.path, id).has_value());
  EXPECT_TRUE(destroy_tenant_secret_noexcept(d.path.c_str(), id.c_str()));  // already gone
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
  const std::string id = new_secret_id();
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret(d.path, id); }), ss::kKeyringDirRefused);
  chmod(d.path.c_str(), 0700);
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret("relative/dir", id); }), ss::kKeyringDirRefused);
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret(d.path + "/missing", id); }), ss::kKeyringDirRefused);
  (void)create_tenant_secret(d.path, id);
  const std::string f = d.path + "/" + id + ".key";
  chmod(f.c_str(), 0640);
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret(d.path, id); }), ss::kKeyringDirRefused);
  chmod(f.c_str(), 0600);
  { std::ofstream(f, std::ios::app) << "x"; }
  EXPECT_EQ(sqlstate_of([&] { read_tenant_secret(d.path, id); }), ss::kKeyringDirRefused);
}

}  // namespace
