// Unit tests of AES-256-GCM and the envelope format: round trips, the documented layout, and a
// clean error (never plaintext) for tampering, truncation, a wrong key, owner or version.
#include "core/crypto/aead.hpp"
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/envelope.hpp"
#include "common/crypto_test_util.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace {

using namespace pgp::core::crypto;
namespace ss = pgp::core::crypto::crypto_sqlstate;
using pgp::test::contains_fragment;
using pgp::test::sqlstate_of;
using pgp::test::unhex;

const std::string kPlain = "SECRET-PLAINTEXT: card 4111 1111 1111 1111, phone +33 6 12 34 56 78";
const std::string kTenant = "Acme-77-zq";
const EnvelopeOwner kOwner{kTenant, {}};

const SecretKey& key() {
  static const SecretKey k = SecretKey::random();
  return k;
}

EnvelopeHeader subject_header() { return {KeyKind::kSubject, 3, "ref-0001"}; }
const EnvelopeOwner kSubjectOwner{kTenant, "Bob-19-xw"};

// NIST GCM specification, test case 16 (256-bit key, 96-bit IV, associated data).
TEST(Gcm, matches_nist_test_vector) {
  const SecretKey k = SecretKey::from_bytes(
      unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"));
  const std::string nonce = unhex("cafebabefacedbaddecaf888");
  const std::string aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string plain = unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
      "49a6b525b16aedf5aa0de657ba637b39");
  const std::string expect = unhex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
      "56828838c5f61e6393ba7a0abcc9f662");
  const auto* n = reinterpret_cast<const unsigned char*>(nonce.data());
  std::string ct(plain.size(), '\0'), tag(kGcmTagBytes, '\0');
  gcm_seal(k, n, aad, plain, reinterpret_cast<unsigned char*>(ct.data()),
           reinterpret_cast<unsigned char*>(tag.data()));
  EXPECT_EQ(ct, expect);
  EXPECT_EQ(tag, unhex("76fc6ece0f4e1768cddf8853bb2d551b"));
  std::string back(ct.size(), '\0');
  EXPECT_TRUE(gcm_open(k, n, aad, ct, reinterpret_cast<const unsigned char*>(tag.data()),
                       reinterpret_cast<unsigned char*>(back.data())));
  EXPECT_EQ(back, plain);
}

// A key keeps its keyed context across calls: the NIST vector must come out the same on every
// call, in both directions, after a failed open, and after the key was moved.
TEST(Gcm, keyed_context_is_reused_correctly) {
  SecretKey k = SecretKey::from_bytes(
      unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"));
  const std::string nonce = unhex("cafebabefacedbaddecaf888");
  const auto* n = reinterpret_cast<const unsigned char*>(nonce.data());
  const std::string aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string plain = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72");
  std::string first_ct(plain.size(), '\0'), first_tag(kGcmTagBytes, '\0');
  gcm_seal(k, n, aad, plain, reinterpret_cast<unsigned char*>(first_ct.data()),
           reinterpret_cast<unsigned char*>(first_tag.data()));
  for (int round = 0; round < 4; ++round) {
    std::string ct(plain.size(), '\0'), tag(kGcmTagBytes, '\0'), back(plain.size(), '\0');
    gcm_seal(k, n, aad, plain, reinterpret_cast<unsigned char*>(ct.data()),
             reinterpret_cast<unsigned char*>(tag.data()));
    EXPECT_EQ(ct, first_ct);
    EXPECT_EQ(tag, first_tag);
    std::string bad_tag = tag;
    bad_tag[0] ^= 1;
    EXPECT_FALSE(gcm_open(k, n, aad, ct, reinterpret_cast<const unsigned char*>(bad_tag.data()),
                          reinterpret_cast<unsigned char*>(back.data())));
    EXPECT_TRUE(gcm_open(k, n, aad, ct, reinterpret_cast<const unsigned char*>(tag.data()),
                         reinterpret_cast<unsigned char*>(back.data())));
    EXPECT_EQ(back, plain);
    SecretKey moved = std::move(k);  // the context moves with the key
    k = std::move(moved);
  }
  // Another key never uses this key's context.
  const SecretKey other = SecretKey::random();
  std::string ct(plain.size(), '\0'), tag(kGcmTagBytes, '\0'), back(plain.size(), '\0');
  gcm_seal(other, n, aad, plain, reinterpret_cast<unsigned char*>(ct.data()),
           reinterpret_cast<unsigned char*>(tag.data()));
  EXPECT_NE(ct, first_ct);
  EXPECT_FALSE(gcm_open(k, n, aad, ct, reinterpret_cast<const unsigned char*>(tag.data()),
                        reinterpret_cast<unsigned char*>(back.data())));
}

// Threads sharing one key: one holds its keyed context, the others take the per-thread path.
TEST(Gcm, one_key_used_by_several_threads_at_once) {
  const SecretKey k = SecretKey::random();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string plain = "thread " + std::to_string(t) + " value " + std::to_string(i);
        const std::string env = seal_envelope(k, EnvelopeHeader{}, EnvelopeOwner{"acme", {}}, plain);
        if (open_envelope(k, EnvelopeOwner{"acme", {}}, env) != plain) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Gcm, nonces_do_not_repeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string n(kGcmNonceBytes, '\0');
    gcm_random_nonce(reinterpret_cast<unsigned char*>(n.data()));
    EXPECT_TRUE(seen.insert(n).second);
  }
}

// The nonce pool is per process: a forked child must not hand out the nonces its parent will.
TEST(Gcm, forked_child_never_reuses_parent_nonces) {
  unsigned char first[kGcmNonceBytes];
  gcm_random_nonce(first);  // fills this thread's pool
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    unsigned char child[kGcmNonceBytes];
    gcm_random_nonce(child);
    const bool ok = write(fds[1], child, sizeof child) == static_cast<ssize_t>(sizeof child);
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  unsigned char child[kGcmNonceBytes], parent[kGcmNonceBytes];
  ASSERT_EQ(read(fds[0], child, sizeof child), static_cast<ssize_t>(sizeof child));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  gcm_random_nonce(parent);
  EXPECT_NE(std::memcmp(child, parent, kGcmNonceBytes), 0);
}

TEST(Envelope, round_trips_under_a_tenant_key) {
  const std::string env = seal_envelope(key(), {}, kOwner, kPlain);
  EXPECT_EQ(env.size(), 36 + kPlain.size());
  EXPECT_EQ(open_envelope(key(), kOwner, env), kPlain);
  EXPECT_EQ(env.find("SECRET"), std::string::npos);
}

TEST(Envelope, round_trips_under_a_subject_key) {
  const std::string env = seal_envelope(key(), subject_header(), kSubjectOwner, kPlain);
  EXPECT_EQ(env.size(), 37 + 8 + kPlain.size());
  EXPECT_EQ(open_envelope(key(), kSubjectOwner, env), kPlain);
}

TEST(Envelope, header_is_readable_without_the_key) {
  EXPECT_EQ(parse_envelope_header(seal_envelope(key(), subject_header(), kSubjectOwner, kPlain)),
            subject_header());
  const EnvelopeHeader h = parse_envelope_header(seal_envelope(key(), {KeyKind::kTenant, 70000, ""},
                                                               kOwner, kPlain));
  EXPECT_EQ(h.kind, KeyKind::kTenant);
  EXPECT_EQ(h.key_version, 70000u);
  EXPECT_TRUE(h.subject_ref.empty());
}

TEST(Envelope, same_plaintext_seals_differently) {
  EXPECT_NE(seal_envelope(key(), {}, kOwner, kPlain), seal_envelope(key(), {}, kOwner, kPlain));
}

TEST(Envelope, empty_plaintext_round_trips) {
  const std::string env = seal_envelope(key(), {}, kOwner, "");
  EXPECT_EQ(env.size(), 36u);
  EXPECT_EQ(envelope_plaintext_size(env), 0u);
  EXPECT_EQ(open_envelope(key(), kOwner, env), "");
}

TEST(Envelope, one_megabyte_round_trips) {
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 9));
  const std::string env = seal_envelope(key(), {}, kOwner, big);
  EXPECT_EQ(open_envelope(key(), kOwner, env), big);
}

// Decrypts by hand from docs/crypto-format.md, so the layout and associated data are pinned.
TEST(Envelope, matches_the_documented_layout) {
  const std::string env = seal_envelope(key(), subject_header(), kSubjectOwner, kPlain);
  const std::string header = std::string("pv\x01\x02\x00\x00\x00\x03\x08", 9) + "ref-0001";
  ASSERT_EQ(env.substr(0, header.size()), header);
  auto be32 = [](std::size_t n) {
    return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  };
  const std::string aad = header + be32(kTenant.size()) + kTenant +
                          be32(kSubjectOwner.subject.size()) + std::string(kSubjectOwner.subject);
  const auto* nonce = reinterpret_cast<const unsigned char*>(env.data()) + header.size();
  std::string out(kPlain.size(), '\0');
  ASSERT_TRUE(gcm_open(key(), nonce, aad, std::string_view(env).substr(header.size() + 12, kPlain.size()),
                       nonce + 12 + kPlain.size(), reinterpret_cast<unsigned char*>(out.data())));
  EXPECT_EQ(out, kPlain);
}

// Every error of this suite, checked at the end for plaintext, tenant or subject text.
class EnvelopeErrors : public ::testing::Test {
 protected:
  void TearDown() override {
    ASSERT_FALSE(texts.empty());
    for (const std::string& t : texts) {
      EXPECT_FALSE(contains_fragment(t, kPlain)) << t;
      EXPECT_FALSE(contains_fragment(t, kTenant)) << t;
      EXPECT_FALSE(contains_fragment(t, kSubjectOwner.subject)) << t;
    }
  }
  std::string open_state(const std::string& env, const EnvelopeOwner& owner = kOwner,
                         const SecretKey& k = key()) {
    return sqlstate_of([&] { open_envelope(k, owner, env); }, &texts);
  }
  std::vector<std::string> texts;
};

TEST_F(EnvelopeErrors, tampered_tag_fails_authentication) {
  std::string env = seal_envelope(key(), {}, kOwner, kPlain);
  env.back() ^= 0x01;
  EXPECT_EQ(open_state(env), ss::kAuthFailed);
}

TEST_F(EnvelopeErrors, every_flipped_bit_is_refused) {
  const std::string env = seal_envelope(key(), subject_header(), kSubjectOwner, kPlain);
  for (std::size_t i = 0; i < env.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = env;
      bad[i] ^= static_cast<char>(1 << bit);
      const std::string state = open_state(bad, kSubjectOwner);
      if (i == 2)
        EXPECT_EQ(state, ss::kUnknownFormat) << "byte " << i;
      else if (i < 2 || i == 3)
        EXPECT_EQ(state, ss::kMalformedEnvelope) << "byte " << i;
      else if (i == 8)  // the reference length: out of range, or another split of the bytes
        EXPECT_TRUE(state == ss::kMalformedEnvelope || state == ss::kAuthFailed) << state;
      else
        EXPECT_EQ(state, ss::kAuthFailed) << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(EnvelopeErrors, tampered_ciphertext_leaves_no_plaintext_in_the_output) {
  std::string env = seal_envelope(key(), {}, kOwner, kPlain);
  env[8 + 12 + 5] ^= 0x40;
  std::string out(envelope_plaintext_size(env), 'x');
  EXPECT_EQ(sqlstate_of([&] { open_envelope_into(key(), kOwner, env, out); }, &texts),
            ss::kAuthFailed);
  EXPECT_EQ(out, std::string(out.size(), '\0'));
}

TEST_F(EnvelopeErrors, truncation_at_every_length_is_refused) {
  for (const bool subject : {false, true}) {
    const std::string env = subject ? seal_envelope(key(), subject_header(), kSubjectOwner, kPlain)
                                    : seal_envelope(key(), {}, kOwner, kPlain);
    const std::size_t header = subject ? 17 : 8;
    for (std::size_t len = 0; len < env.size(); ++len) {
      const std::string state = open_state(env.substr(0, len), subject ? kSubjectOwner : kOwner);
      EXPECT_EQ(state, len < header + 28 ? ss::kMalformedEnvelope : ss::kAuthFailed) << len;
    }
  }
}

TEST_F(EnvelopeErrors, wrong_key_fails_authentication) {
  const std::string env = seal_envelope(key(), {}, kOwner, kPlain);
  EXPECT_EQ(open_state(env, kOwner, SecretKey::random()), ss::kAuthFailed);
}

TEST_F(EnvelopeErrors, another_tenant_fails_authentication) {
  const std::string env = seal_envelope(key(), {}, kOwner, kPlain);
  EXPECT_EQ(open_state(env, {"Acme-77-z", {}}), ss::kAuthFailed);
  EXPECT_EQ(open_state(env, {"Acme-77-zqq", {}}), ss::kAuthFailed);
}

TEST_F(EnvelopeErrors, another_subject_fails_authentication) {
  const std::string env = seal_envelope(key(), subject_header(), kSubjectOwner, kPlain);
  EXPECT_EQ(open_state(env, {kTenant, "Bob-19-x"}), ss::kAuthFailed);
  EXPECT_EQ(open_state(env, {"Acme-77-z", kSubjectOwner.subject}), ss::kAuthFailed);
}

TEST_F(EnvelopeErrors, another_header_fails_authentication) {
  std::string env = seal_envelope(key(), subject_header(), kSubjectOwner, kPlain);
  env[9] = 'R';  // another subject key reference of the same length
  EXPECT_EQ(open_state(env, kSubjectOwner), ss::kAuthFailed);
  std::string tenant_env = seal_envelope(key(), {KeyKind::kTenant, 1, ""}, kOwner, kPlain);
  tenant_env[7] = 2;  // key version 1 -> 2
  EXPECT_EQ(parse_envelope_header(tenant_env).key_version, 2u);
  EXPECT_EQ(open_state(tenant_env), ss::kAuthFailed);
}

TEST_F(EnvelopeErrors, unknown_format_version_is_its_own_error) {
  std::string env = seal_envelope(key(), {}, kOwner, kPlain);
  env[2] = 2;
  EXPECT_EQ(open_state(env), ss::kUnknownFormat);
  EXPECT_EQ(sqlstate_of([&] { parse_envelope_header(std::string("pv\x07", 3)); }, &texts),
            ss::kUnknownFormat);
}

TEST_F(EnvelopeErrors, foreign_bytes_are_malformed) {
  EXPECT_EQ(open_state(std::string(64, 'A')), ss::kMalformedEnvelope);
  EXPECT_EQ(open_state(""), ss::kMalformedEnvelope);
  std::string env = seal_envelope(key(), {}, kOwner, kPlain);
  env[3] = 3;  // a pseudonym key never seals a value
  EXPECT_EQ(open_state(env), ss::kMalformedEnvelope);
  env[3] = 1;
  std::memset(env.data() + 4, 0, 4);  // key version 0
  EXPECT_EQ(open_state(env), ss::kMalformedEnvelope);
  std::string sub = seal_envelope(key(), subject_header(), kSubjectOwner, kPlain);
  sub[8] = 65;  // reference longer than 64 bytes
  EXPECT_EQ(open_state(sub, kSubjectOwner), ss::kMalformedEnvelope);
  sub[8] = 0;
  EXPECT_EQ(open_state(sub, kSubjectOwner), ss::kMalformedEnvelope);
}

TEST_F(EnvelopeErrors, invalid_header_or_owner_is_refused_when_sealing) {
  auto seal_state = [&](const EnvelopeHeader& h, const EnvelopeOwner& o) {
    return sqlstate_of([&] { seal_envelope(key(), h, o, kPlain); }, &texts);
  };
  EXPECT_EQ(seal_state({KeyKind::kTenant, 0, ""}, kOwner), "22023");
  EXPECT_EQ(seal_state({KeyKind::kPseudonym, 1, ""}, kOwner), "22023");
  EXPECT_EQ(seal_state({KeyKind::kTenant, 1, "ref"}, kOwner), "22023");
  EXPECT_EQ(seal_state({KeyKind::kSubject, 1, ""}, kSubjectOwner), "22023");
  EXPECT_EQ(seal_state({KeyKind::kSubject, 1, std::string(65, 'r')}, kSubjectOwner), "22023");
  EXPECT_EQ(seal_state({KeyKind::kSubject, 1, std::string(64, 'r')}, kSubjectOwner), "ok");
  EXPECT_EQ(seal_state({}, {"", {}}), "22023");
  EXPECT_EQ(seal_state({}, kSubjectOwner), "22023");
  EXPECT_EQ(seal_state(subject_header(), kOwner), "22023");
  // Opening needs the owner the header's kind asks for.
  const std::string env = seal_envelope(key(), {}, kOwner, kPlain);
  EXPECT_EQ(open_state(env, kSubjectOwner), "22023");
}

}  // namespace
