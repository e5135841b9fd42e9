// What a DBA reads about pg_privacy's long-running work, held in shared memory: the progress of
// each backend's purge, seal, export, erasure or rotation (privacy.progress), the outcome of a
// run whose transaction failed (until privacy.history records it), and the retention workers'
// rounds (privacy.status). Needs shared_preload_libraries; without it these report nothing.
#pragma once

#include "pg/pg.hpp"

#include <cstdint>

namespace pgp::ops {

enum class Op : int { None = 0, Purge, Seal, AuditPurge, Export, Erase, Rotate };
const char* op_name(Op op);  // the operation's name in privacy.history: "purge", "audit_seal", ...

// Starts reporting an operation of this backend. `committing` operations (the purge, the
// rotation) commit as they go and record their own end, even a failed one; the others run in the
// caller's transaction, so a failure aborts their history row: the transaction's abort then
// keeps their outcome in shared memory, and privacy.history shows it. Only the outermost
// operation is reported: a nested begin() returns false and its end() must not be called.
// Never ereports.
bool begin(Op op, bool committing, const char* unit) noexcept;
void set_run_id(std::int64_t run_id) noexcept;
// phase or target nullptr: unchanged; total -1: unknown, kKeepTotal: unchanged.
inline constexpr std::int64_t kKeepTotal = -2;
void progress(const char* phase, const char* target, std::int64_t done, std::int64_t total) noexcept;
void add_done(std::int64_t n) noexcept;
TimestampTz started() noexcept;  // when the current operation began (0 without one)
const char* source() noexcept;
const char* role() noexcept;     // who runs the operation (current_user when it began)   // "worker", or the session's application_name ("sql" without one)
std::int64_t done() noexcept;
// Named counts of the current operation (at most 8; a name is copied, up to 31 bytes), for its
// history row and NOTICE.
void add_count(const char* name, std::int64_t n) noexcept;
std::int64_t count(const char* name) noexcept;
// The counts as a JSON object ("{}" without any), palloc'd.
char* counts_json();
void end() noexcept;

// The retention worker's rounds, per database (privacy.status).
enum class WorkerState : int { Starting = 1, Idle, Purging, Sealing, Stopped };
void worker_state(const char* db, WorkerState state) noexcept;
void worker_round_end(const char* db, bool ok, std::int64_t rows_deleted, std::int64_t sealed,
                      const char* error) noexcept;
void launcher_started() noexcept;

// From the emit_log_hook: the (already scrubbed) error that is ending the current operation.
void note_error(const ErrorData* edata) noexcept;

}  // namespace pgp::ops
