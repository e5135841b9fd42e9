// privacy._audit_erase_subject(): replaces one subject's raw value in the audit log and queue by
// its pseudonym, the keyed HMAC that the chain hashes in its place, so every hash stays valid.
#include "core/audit/hmac.hpp"
#include "pg/audit.hpp"
#include "pg/convert.hpp"

PGP_FUNCTION(pgp_audit_erase_subject)

namespace {

// The same change on both tables: the sealed records and those still queued. Rows already erased
// are left alone, so a second call changes nothing.
const char* const kErase[] = {
    "UPDATE privacy.audit_log SET subject = $3, subject_erased = true "
    "WHERE tenant IS NOT DISTINCT FROM $1 AND subject = $2 AND NOT subject_erased",
    "UPDATE privacy.audit_queue SET subject = $3, subject_erased = true "
    "WHERE tenant IS NOT DISTINCT FROM $1 AND subject = $2 AND NOT subject_erased",
};

}  // namespace

// privacy._audit_erase_subject(tenant text, subject text) RETURNS bigint: the number of records
// changed. A NULL tenant means the records without a tenant. Runs as the extension owner, past the
// append-only guard (Pass::Erase), under the sealer's lock, so a record the sealer moves meanwhile
// cannot slip between the two updates. Writes no audit record of its own: its caller does.
Datum pgp_audit_erase_subject(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(1))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the subject to erase cannot be NULL"),
                    errhint("Pass the subject as privacy.current_subject() returned it.")));
  pgp::audit::require_read_committed("privacy._audit_erase_subject()");
  const bool tenant_null = PG_ARGISNULL(0);
  text* subject = PG_GETARG_TEXT_PP(1);
  const unsigned char* key = pgp::audit::hmac_key();
  char* pseudonym = pgp::guarded([&] {
    return pgp::make_cstring(pgp::core::audit::hmac_sha256_hex(
        pgp::audit::hmac_key_view(key),
        std::string_view(VARDATA_ANY(subject), static_cast<std::size_t>(VARSIZE_ANY_EXHDR(subject)))));
  });
  Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
  Datum args[3] = {tenant_null ? (Datum)0 : PG_GETARG_DATUM(0), PointerGetDatum(subject),
                   CStringGetTextDatum(pseudonym)};
  const char nulls[3] = {tenant_null ? 'n' : ' ', ' ', ' '};
  int64 changed = 0;
  pgp::as_owner([&] {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
    pgp::audit::lock_chain();
    pgp::audit::set_pass(pgp::audit::Pass::Erase, true);
    for (const char* q : kErase) {
      if (SPI_execute_with_args(q, 3, types, args, nulls, false, 0) != SPI_OK_UPDATE)
        elog(ERROR, "pg_privacy: could not erase a subject from the audit records");
      changed += static_cast<int64>(SPI_processed);
    }
    pgp::audit::set_pass(pgp::audit::Pass::Erase, false);
    pgp::audit::end_chain();
    SPI_finish();
  });
  PG_RETURN_INT64(changed);
}
