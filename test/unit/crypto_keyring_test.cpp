// Unit tests of the keyring: master key text, the file-permission rule, reading a file or a
// command, the master key id, and the self-wiping key types.
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/keyring.hpp"
#include "common/crypto_test_util.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace {

using namespace pgp::core::crypto;
namespace ss = pgp::core::crypto::crypto_sqlstate;
using pgp::test::contains_fragment;
using pgp::test::sqlstate_of;
using pgp::test::unhex;

const std::string kHex = "8f3a1c0d9e2b47a6c5d4e3f201a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4";
// The same 32 bytes in standard base64.
const std::string kBase64 = "jzocDZ4rR6bF1OPyAaKzxNXm9wgZKjtMXW5/gJGis8Q=";

std::string state_of_parse(std::string_view text, std::vector<std::string>* texts = nullptr) {
  return sqlstate_of([&] { parse_master_key(text); }, texts);
}

TEST(MasterKey, parses_hex_and_base64) {
  const SecretKey expected = SecretKey::from_bytes(unhex(kHex));
  EXPECT_EQ(parse_master_key(kHex), expected);
  EXPECT_EQ(parse_master_key(kHex + "\n"), expected);
  EXPECT_EQ(parse_master_key(kHex + "\r\n"), expected);
  std::string upper = kHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(parse_master_key(upper), expected);
  EXPECT_EQ(parse_master_key(kBase64), expected);
  EXPECT_EQ(parse_master_key(kBase64 + "\n"), expected);
}

TEST(MasterKey, refuses_bad_text_without_quoting_it) {
  std::vector<std::string> texts;
  for (const std::string& bad :
       {kHex.substr(1), kHex + "0", kHex.substr(1) + "g", kHex + "\n\n", " " + kHex,
        kHex + " ", std::string("\n"), std::string(), kBase64.substr(0, 43),
        kBase64.substr(0, 43) + "A",                                  // no padding
        kBase64.substr(0, 42) + "R=",                                 // non-zero unused bits
        std::string("jzocDZ4rR6bF1OPyAaKzxNXm9wgZKjtMXW5_gJGis8Q="),  // base64url alphabet
        std::string("jzocDZ4rR6bF1OPyAaKzxNXm9wgZKjtMXW5/gJGis8==")})
    EXPECT_EQ(state_of_parse(bad, &texts), ss::kMasterKeyUnavailable) << bad;
  for (const std::string& t : texts) {
    EXPECT_FALSE(contains_fragment(t, kHex)) << t;
    EXPECT_FALSE(contains_fragment(t, kBase64)) << t;
  }
}

TEST(KeyringFile, permission_rule_is_owner_only) {
  const std::uint32_t me = 1000;
  auto state = [&](std::uint32_t mode, std::uint32_t owner) {
    return sqlstate_of([&] { check_keyring_file_mode(mode, owner, me); });
  };
  EXPECT_EQ(state(S_IFREG | 0600, me), "ok");
  EXPECT_EQ(state(S_IFREG | 0400, me), "ok");
  EXPECT_EQ(state(S_IFREG | 0640, me), ss::kKeyringPermissions);
  EXPECT_EQ(state(S_IFREG | 0604, me), ss::kKeyringPermissions);
  EXPECT_EQ(state(S_IFREG | 0610, me), ss::kKeyringPermissions);
  EXPECT_EQ(state(S_IFREG | 0601, me), ss::kKeyringPermissions);
  EXPECT_EQ(state(S_IFREG | 0600, 0), ss::kKeyringPermissions);  // root's file, not ours
  EXPECT_EQ(state(S_IFDIR | 0700, me), ss::kKeyringPermissions);
  EXPECT_EQ(state(S_IFIFO | 0600, me), ss::kKeyringPermissions);
}

class KeyringIo : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgp_keyring_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf " + dir).c_str()), 0); }
  std::string write_file(const std::string& name, const std::string& text, mode_t mode) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    return path;
  }
  std::string dir;
};

TEST_F(KeyringIo, reads_an_owner_only_file) {
  const std::string path = write_file("key", kHex + "\n", 0600);
  EXPECT_EQ(read_keyring_file(path), SecretKey::from_bytes(unhex(kHex)));
}

TEST_F(KeyringIo, refuses_an_open_file_missing_file_fifo_and_huge_file) {
  EXPECT_EQ(sqlstate_of([&] { read_keyring_file(write_file("open", kHex, 0644)); }),
            ss::kKeyringPermissions);
  EXPECT_EQ(sqlstate_of([&] { read_keyring_file(dir + "/missing"); }),
            ss::kMasterKeyUnavailable);
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(sqlstate_of([&] { read_keyring_file(fifo); }), ss::kKeyringPermissions);
  EXPECT_EQ(sqlstate_of([&] { read_keyring_file(write_file("huge", std::string(5000, 'a'), 0600)); }),
            ss::kMasterKeyUnavailable);
}

TEST_F(KeyringIo, runs_a_command) {
  EXPECT_EQ(run_keyring_command("printf '%s\\n' " + kBase64), SecretKey::from_bytes(unhex(kHex)));
}

TEST_F(KeyringIo, refuses_a_failing_or_chatty_command_without_quoting_its_output) {
  std::vector<std::string> texts;
  EXPECT_EQ(sqlstate_of([&] { run_keyring_command("echo " + kHex + "; exit 3"); }, &texts),
            ss::kMasterKeyUnavailable);
  EXPECT_NE(texts.back().find("status 3"), std::string::npos);
  EXPECT_EQ(sqlstate_of([&] { run_keyring_command("kill -KILL $$"); }, &texts),
            ss::kMasterKeyUnavailable);
  EXPECT_NE(texts.back().find("signal 9"), std::string::npos);
  EXPECT_EQ(sqlstate_of([&] { run_keyring_command("echo not-a-key-" + kHex); }, &texts),
            ss::kMasterKeyUnavailable);
  // Endless output: refused, and the command does not hang the caller.
  EXPECT_EQ(sqlstate_of([&] { run_keyring_command("yes " + kHex); }, &texts),
            ss::kMasterKeyUnavailable);
  for (const std::string& t : texts) EXPECT_FALSE(contains_fragment(t, kHex)) << t;
}

TEST(MasterKeyId, names_a_key_without_revealing_it) {
  const SecretKey a = SecretKey::from_bytes(unhex(kHex)), b = SecretKey::random();
  const std::string id = master_key_id(a);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id, master_key_id(a.clone()));
  EXPECT_NE(id, master_key_id(b));
  EXPECT_FALSE(contains_fragment(kHex, id, 4));
}

TEST(SecretKey, is_random_cloned_on_request_and_wiped_when_moved) {
  const SecretKey zero = SecretKey::from_bytes(std::string(32, '\0'));
  SecretKey a = SecretKey::random();
  EXPECT_FALSE(a == SecretKey::random());
  const SecretKey copy = a.clone();
  EXPECT_EQ(copy, a);
  const SecretKey moved = std::move(a);
  EXPECT_EQ(moved, copy);
  EXPECT_EQ(a, zero);  // NOLINT(bugprone-use-after-move): the move must have wiped it
  EXPECT_EQ(sqlstate_of([] { SecretKey::from_bytes("short"); }), "22023");
}

TEST(SecretBytes, shrink_keeps_the_prefix) {
  SecretBytes b(8);
  for (std::size_t i = 0; i < 8; ++i) b.data()[i] = static_cast<unsigned char>('a' + i);
  b.shrink(3);
  EXPECT_EQ(b.view(), "abc");
}

}  // namespace
