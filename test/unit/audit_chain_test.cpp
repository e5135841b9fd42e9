// Unit tests of the audit chain: canonical encoding is unambiguous, and the verifier detects a
// changed, deleted, inserted or reordered record and a cut-off or rewritten tail.
#include "core/audit/chain.hpp"

#include <gtest/gtest.h>

namespace pgp::core::audit {
namespace {

std::vector<StoredRecord> make_chain(int n) {
  std::vector<StoredRecord> out;
  Hash prev{};
  for (int i = 1; i <= n; ++i) {
    StoredRecord r;
    r.id = i;
    static std::vector<std::string> storage;  // keeps field text alive for the string_views
    storage.push_back("INSERT on messages #" + std::to_string(i));
    r.fields = {storage.back(), std::nullopt, std::string_view("acme")};
    r.prev_hash = prev;
    r.hash = chain_hash(prev, canonical(r.fields));
    prev = r.hash;
    out.push_back(r);
  }
  return out;
}

VerifyResult verify(const std::vector<StoredRecord>& recs, std::optional<std::int64_t> head_id = std::nullopt,
                    std::optional<Hash> head_hash = std::nullopt) {
  Verifier v(Hash{}, 1);
  for (const auto& r : recs)
    if (!v.feed(r)) break;
  return v.finish(head_id, head_hash);
}

TEST(AuditChain, canonical_distinguishes_null_empty_and_boundaries) {
  EXPECT_NE(canonical({std::nullopt}), canonical({std::string_view("")}));
  EXPECT_NE(canonical({std::string_view("ab"), std::string_view("c")}),
            canonical({std::string_view("a"), std::string_view("bc")}));
  EXPECT_NE(canonical({}), canonical({std::string_view("")}));
  EXPECT_EQ(canonical({std::string_view("x")}), canonical({std::string_view("x")}));
}

TEST(AuditChain, canonical_is_exactly_the_documented_bytes) {
  // Tag and NUL, then 0xFF for NULL, or 0x00, the length as 8 bytes big-endian, the bytes.
  const std::string tag("pgp-audit-v2\0", 13);
  EXPECT_EQ(canonical({std::nullopt}), tag + "\xff");
  EXPECT_EQ(canonical({std::string_view("ab"), std::nullopt, std::string_view("")}),
            tag + std::string("\0\0\0\0\0\0\0\0\x02" "ab" "\xff" "\0\0\0\0\0\0\0\0\0", 1 + 8 + 2 + 1 + 1 + 8));
}

TEST(AuditChain, utc_timestamp_pads_every_part) {
  EXPECT_EQ(utc_timestamp(-63'082'281'600'000'000LL + 86'400'000'000LL * 31 + 3'723'000'007LL),
            "0001-02-01T01:02:03.000007Z");
}

TEST(AuditChain, canonical_into_reuses_the_buffer_and_matches_canonical) {
  std::string buf = "left over from an earlier, longer record";
  const std::vector<Field> f = {std::string_view("a"), std::nullopt};
  canonical_into(f, buf);
  EXPECT_EQ(buf, canonical(f));
}

TEST(AuditChain, hex_round_trip_and_refusals) {
  const Hash h = chain_hash(Hash{}, "abc");
  EXPECT_EQ(from_hex(to_hex(h)), h);
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE(from_hex(std::string(64, 'g')));
}

TEST(AuditChain, chain_hash_is_sha256_of_prev_and_record) {
  // SHA-256 of 32 zero bytes followed by "abc", computed independently with sha256sum.
  EXPECT_EQ(to_hex(chain_hash(Hash{}, "abc")), "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370");
  EXPECT_NE(chain_hash(Hash{}, "abc"), chain_hash(Hash{}, "abd"));
  Hash other{};
  other[0] = 1;
  EXPECT_NE(chain_hash(Hash{}, "abc"), chain_hash(other, "abc"));
}

TEST(AuditChain, utc_timestamp_matches_postgres_to_char) {
  // Values checked against SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"').
  EXPECT_EQ(utc_timestamp(0), "2000-01-01T00:00:00.000000Z");
  EXPECT_EQ(utc_timestamp(-1), "1999-12-31T23:59:59.999999Z");
  EXPECT_EQ(utc_timestamp(817'334'432'123'456LL), "2025-11-24T21:20:32.123456Z");
  EXPECT_EQ(utc_timestamp(63'072'000'000'000LL), "2001-12-31T00:00:00.000000Z");
  EXPECT_EQ(utc_timestamp(5'097'600'000'000LL), "2000-02-29T00:00:00.000000Z");  // leap day
  EXPECT_EQ(utc_timestamp(-946'684'800'000'000LL), "1970-01-01T00:00:00.000000Z");
}

TEST(AuditChain, intact_chain_verifies) {
  auto recs = make_chain(5);
  auto r = verify(recs, 5, recs.back().hash);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.checked, 5);
}

TEST(AuditChain, detects_a_changed_record) {
  auto recs = make_chain(5);
  recs[2].fields[2] = std::string_view("globex");
  auto r = verify(recs);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_id, 3);
  EXPECT_NE(r.reason.find("changed"), std::string::npos);
}

// feed_checked() (a record whose own hash was checked when it was read, ahead of its turn) gives
// the same results as feed(): the link and the id are still checked in turn.
TEST(AuditChain, feed_checked_agrees_with_feed) {
  auto recs = make_chain(4);
  auto own_hash_ok = [](const StoredRecord& r) { return chain_hash(r.prev_hash, canonical(r.fields)) == r.hash; };
  {
    Verifier v(Hash{}, 1);
    for (const auto& r : recs) ASSERT_TRUE(v.feed_checked(r, own_hash_ok(r)));
    auto res = v.finish(4, recs.back().hash);
    EXPECT_TRUE(res.ok) << res.reason;
    EXPECT_EQ(res.checked, 4);
  }
  recs[2].fields[2] = std::string_view("globex");
  {
    Verifier v(Hash{}, 1);
    bool ok = true;
    for (const auto& r : recs)
      if (!(ok = v.feed_checked(r, own_hash_ok(r)))) break;
    EXPECT_FALSE(ok);
    auto res = v.finish();
    EXPECT_EQ(res.first_bad_id, 3);
    EXPECT_NE(res.reason.find("changed"), std::string::npos);
    EXPECT_EQ(res.reason, verify(recs).reason);
  }
  {
    // A record whose own hash is right but which does not link to the one before it.
    auto other = make_chain(4);
    other[1].prev_hash[0] ^= 1;
    other[1].hash = chain_hash(other[1].prev_hash, canonical(other[1].fields));
    Verifier v(Hash{}, 1);
    EXPECT_TRUE(v.feed_checked(other[0], own_hash_ok(other[0])));
    EXPECT_FALSE(v.feed_checked(other[1], own_hash_ok(other[1])));
    EXPECT_NE(v.finish().reason.find("link broken"), std::string::npos);
  }
}

TEST(AuditChain, detects_a_deleted_record) {
  auto recs = make_chain(5);
  recs.erase(recs.begin() + 1);
  auto r = verify(recs);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_id, 3);
  EXPECT_NE(r.reason.find("missing"), std::string::npos);
}

TEST(AuditChain, detects_an_inserted_record_even_with_renumbered_ids) {
  auto recs = make_chain(5);
  StoredRecord fake = recs[1];
  fake.fields[0] = std::string_view("forged");
  fake.hash = chain_hash(fake.prev_hash, canonical(fake.fields));
  recs.insert(recs.begin() + 2, fake);
  for (std::size_t i = 0; i < recs.size(); ++i) recs[i].id = static_cast<std::int64_t>(i + 1);
  auto r = verify(recs);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_id, 3);
}

TEST(AuditChain, detects_reordered_records) {
  auto recs = make_chain(5);
  std::swap(recs[1], recs[2]);
  std::swap(recs[1].id, recs[2].id);
  auto r = verify(recs);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_id, 2);
}

TEST(AuditChain, detects_a_cut_off_tail_against_the_exported_head) {
  auto recs = make_chain(5);
  const Hash head = recs.back().hash;
  recs.pop_back();
  EXPECT_TRUE(verify(recs).ok);  // without the head, a shorter chain is internally consistent
  auto r = verify(recs, 5, head);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("tail"), std::string::npos);
}

TEST(AuditChain, detects_a_fully_rewritten_chain_against_the_exported_head) {
  auto recs = make_chain(5);
  const Hash head = recs.back().hash;
  // An attacker with write access recomputes every hash after changing record 2.
  Hash prev{};
  recs[1].fields[0] = std::string_view("rewritten");
  for (auto& rec : recs) {
    rec.prev_hash = prev;
    rec.hash = chain_hash(prev, canonical(rec.fields));
    prev = rec.hash;
  }
  EXPECT_TRUE(verify(recs).ok);
  EXPECT_FALSE(verify(recs, 5, head).ok);
}

TEST(AuditChain, detects_a_rewritten_chain_that_grew_past_the_exported_head) {
  auto recs = make_chain(5);
  const Hash head3 = recs[2].hash;
  Hash prev{};
  recs[0].fields[0] = std::string_view("rewritten");
  for (auto& rec : recs) {
    rec.prev_hash = prev;
    rec.hash = chain_hash(prev, canonical(rec.fields));
    prev = rec.hash;
  }
  Verifier v(Hash{}, 1);
  v.expect_head(3, head3);
  for (const auto& r : recs)
    if (!v.feed(r)) break;
  auto r = v.finish(3, head3);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_id, 3);
  EXPECT_NE(r.reason.find("rewritten"), std::string::npos);
}

TEST(AuditChain, an_intact_chain_that_grew_past_the_head_verifies) {
  auto recs = make_chain(5);
  Verifier v(Hash{}, 1);
  v.expect_head(3, recs[2].hash);
  for (const auto& r : recs) ASSERT_TRUE(v.feed(r));
  auto r = v.finish(3, recs[2].hash);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.checked, 5);
}

}  // namespace
}  // namespace pgp::core::audit
