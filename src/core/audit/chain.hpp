// The audit log's tamper evidence: a canonical, unambiguous encoding of a record's fields and
// the hash chain over it, hash = SHA-256(previous hash || canonical(record)).
#pragma once

#include "core/common.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgp::core::audit {

using Hash = std::array<std::uint8_t, 32>;

// A record field: SQL NULL or its text. NULL and "" encode differently.
using Field = std::optional<std::string_view>;

// Version tag, then per field 0xFF for NULL or 0x00 + 8-byte big-endian length + bytes: no two
// different field lists share an encoding (no separator can be forged inside a value).
std::string canonical(const std::vector<Field>& fields);
// The same into `out` (cleared first), reusing its capacity: the verifier and the sealer encode
// one record after another.
void canonical_into(const std::vector<Field>& fields, std::string& out);

// SHA-256(prev || canonical). The first record of a chain uses the all-zero hash as prev.
Hash chain_hash(const Hash& prev, std::string_view canonical_record);

// A PostgreSQL timestamptz (microseconds since 2000-01-01 00:00:00 UTC) as canonical text:
// "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC, the same text as SQL's
// to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') for years 1 to 9999.
std::string utc_timestamp(std::int64_t micros_since_2000);

std::string to_hex(const Hash& h);
// Parses 64 hex digits; nullopt on anything else.
std::optional<Hash> from_hex(std::string_view hex);

// One stored record as the verifier sees it.
struct StoredRecord {
  std::int64_t id;
  std::vector<Field> fields;  // the fields that were hashed (id included, as the sealer wrote it)
  Hash prev_hash;
  Hash hash;
};

struct VerifyResult {
  bool ok = true;
  std::int64_t checked = 0;
  std::optional<std::int64_t> first_bad_id;
  std::string reason;  // empty when ok
};

// Walks records in id order, one batch at a time, keeping the state between batches.
class Verifier {
 public:
  // `start_prev`: the hash the first record must chain from (zero hash, or a checkpoint's);
  // `start_id`: the id the first record must have (ids are dense in chain order).
  Verifier(const Hash& start_prev, std::int64_t start_id) : prev_(start_prev), next_id_(start_id) {}

  // Before feeding: a head exported earlier. The record with that id, when it is fed, must carry
  // exactly that hash, so a rewritten chain that has grown past the head is caught there too.
  void expect_head(std::int64_t id, const Hash& hash) { head_ = ExpectedHead{id, hash}; }

  // Returns false once a record fails; the result then names it and the reason.
  bool feed(const StoredRecord& r);
  // The same for a record whose canonical encoding the caller made (r.fields is not read).
  bool feed_encoded(const StoredRecord& r, std::string_view canonical_record);
  // The same for a record whose own hash the caller checked already: `content_ok` is
  // chain_hash(r.prev_hash, canonical) == r.hash, which is the check feed_encoded() makes once
  // r.prev_hash is known to be the previous record's hash. For records read ahead of their turn,
  // so that only their hashes wait, not their encodings.
  bool feed_checked(const StoredRecord& r, bool content_ok);

  // After the last record: when an exported head (id, hash) is given, the chain must reach it
  // exactly (a cut-off tail or a rewritten chain is detected).
  VerifyResult finish(std::optional<std::int64_t> head_id = std::nullopt,
                      const std::optional<Hash>& head_hash = std::nullopt);

  const Hash& last_hash() const { return prev_; }

 private:
  struct ExpectedHead {
    std::int64_t id;
    Hash hash;
  };
  void fail(std::int64_t id, std::string reason);
  // feed_encoded() and feed_checked(): `content_ok` is evaluated once the link is checked.
  template <class ContentOk>
  bool feed_with(const StoredRecord& r, ContentOk content_ok);
  std::optional<ExpectedHead> head_;
  std::string scratch_;  // the canonical encoding of the record being checked
  Hash prev_;
  std::int64_t next_id_;
  std::int64_t last_id_ = 0;
  VerifyResult result_;
};

}  // namespace pgp::core::audit
