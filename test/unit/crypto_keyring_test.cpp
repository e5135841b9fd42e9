// Unit tests of the keyring: master key text, the file-permission rule, reading a file or a
// command, and wrapping data keys and provider secrets (wrong master key, moved rows, rotation).
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
