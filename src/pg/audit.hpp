// Shared pieces of the audit glue: the queue writer every record goes through, the backend flags
// that let the sealer, the purge and the maintenance switch past the append-only guard, the
// canonical projection both sealer and verifier hash. SPI as the extension owner goes through
// as_owner() (privilege.hpp).
#pragma once

#include "core/audit/chain.hpp"
#include "core/audit/hmac.hpp"
#include "pg/pg.hpp"
#include "pg/privilege.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgp::audit {

// One record as a writer hands it to privacy.audit_queue. Null pointers and (Datum)0 with the
// matching *_null flag are SQL NULLs.
struct QueueRecord {
  const char* action = nullptr;      // INSERT, UPDATE, DELETE, TRUNCATE, a DDL command tag, ...
  const char* kind = nullptr;        // dml, ddl, config, maintenance, retention
  const char* table_name = nullptr;  // schema-qualified, quoted as needed; nullptr for none
  Datum pk = 0;                      // jsonb
  bool pk_null = true;
  Datum changed_columns = 0;         // text[]
  bool changed_columns_null = true;
  Datum row_values = 0;              // jsonb
  bool row_values_null = true;
  Datum detail = 0;                  // jsonb
  bool detail_null = true;
};

// Appends one record to privacy.audit_queue: buffered, then written a page at a time by a
// multi-row heap insert at the end of the statement (audit_queue.cpp); no SPI, no privilege check,
// so application roles need no grant. May ereport: call it with no C++ objects alive.
void queue_append(const QueueRecord& r);

// Backend flags, cleared at every transaction end: the guard triggers on the log's tables let a
// write through only while one of them is set.
enum class Pass { Seal, Purge, Erase };
void set_pass(Pass p, bool on);
bool pass_on(Pass p);
bool maintenance_on();
void set_maintenance(bool on);

// Refuses to run under REPEATABLE READ or SERIALIZABLE: the sealer and the purge need to see the
// latest committed head after taking their lock (PV302).
void require_read_committed(const char* fn);

// Takes the lock that serializes sealers and purges (SHARE ROW EXCLUSIVE on
// privacy.audit_checkpoints: self-conflicting, readers never wait), then makes a snapshot taken
// after it active, so that read-only SPI queries (the head, the checkpoint, the verifier) see
// what the previous holder committed. Inside SPI; end_chain() pops the snapshot.
void lock_chain();
void end_chain();

// The columns of a record that its hash covers after the id, as stored (the queue and the log
// share them), in hashing order. subject_erased (kErasedColumn) is read but not hashed: it says
// how the subject is hashed. The sealer reads them from the rows it moves, the verifier from the
// log, and both turn them into the canonical fields with a RecordEncoder, so both hash the same
// bytes.
inline constexpr const char* kRecordColumns[] = {"qid",  "at",     "xid",        "tenant", "subject",
                                                 "subject_erased", "role", "action", "kind", "table_name",
                                                 "pk",   "changed_columns", "row_values", "detail"};
inline constexpr Oid kRecordTypes[] = {INT8OID, TIMESTAMPTZOID, XID8OID,  TEXTOID,  TEXTOID,
                                       BOOLOID, TEXTOID,        TEXTOID,  TEXTOID,  TEXTOID,
                                       JSONBOID, TEXTARRAYOID,  JSONBOID, JSONBOID};
inline constexpr int kRecordCount = 14;
inline constexpr int kCanonicalCount = 14;  // the hashed fields: id, then the columns but subject_erased

// Turns a record's stored columns into its canonical encoding. Every field is the text of its SQL
// cast (int8, xid8, jsonb and text[] output), independent of session settings; `at` is UTC text
// from core::audit::utc_timestamp(), the text of to_char(at AT TIME ZONE 'UTC',
// 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'); `subject` is its pseudonym (core::audit::SubjectPseudonym):
// the keyed HMAC of the raw subject, or the stored value once erased.
class RecordEncoder {
 public:
  // Inside guarded().
  explicit RecordEncoder(std::string_view hmac_key);
  // values/nulls: the kRecordCount columns in kRecordColumns order. Allocates (detoasted values,
  // jsonb and array text) in CurrentMemoryContext: reset it once `out` is used. Inside guarded().
  void encode(std::int64_t id, const Datum* values, const bool* nulls, std::string& out);

 private:
  core::audit::SubjectPseudonym pseudonym_;
  std::vector<core::audit::Field> fields_;
  std::string at_;  // the text of at_value_, when at_valid_
  TimestampTz at_value_ = 0;
  bool at_valid_ = false;
  char id_[24], qid_[24], xid_[24];
  FmgrInfo array_out_;
};

// The bytes of a text or bytea Datum. Detoasts (through pg_call) only when the value is
// compressed or external: values computed by a query never are, and the verifier reads 14 per
// record. Inside guarded().
std::string_view varlena_view(Datum d);

// The HMAC key of privacy.audit_settings (32 bytes), cached per backend and reloaded after the
// settings change. May ereport (SPI): call before guarded().
const unsigned char* hmac_key();
inline constexpr int kHmacKeyBytes = 32;

inline std::string_view hmac_key_view(const unsigned char* key) {
  return {reinterpret_cast<const char*>(key), static_cast<std::size_t>(kHmacKeyBytes)};
}

// The chain's start: the latest checkpoint (id, hash), or (0, zero hash) when nothing was purged.
// Inside SPI, inside guarded().
struct ChainStart {
  std::int64_t id = 0;
  core::audit::Hash hash{};
};
ChainStart chain_start();

// Verifies the sealed records up to `to_id` (all when nullopt), from the chain's start or from
// `from_id` (then from that record's stored prev_hash: a sub-range proves only its internal
// consistency). With an exported head, the chain must pass through it. Inside SPI (read-only
// queries, so one snapshot), inside guarded().
core::audit::VerifyResult verify_chain(std::optional<std::int64_t> from_id, std::optional<std::int64_t> to_id,
                                       std::optional<std::int64_t> head_id,
                                       const std::optional<core::audit::Hash>& head_hash);


// Records read or written per SPI batch by the sealer.
inline constexpr long kBatch = 10000;

}  // namespace pgp::audit
