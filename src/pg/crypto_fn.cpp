// SQL functions of encryption: privacy.encrypt/decrypt/decrypt_bytea, pseudonymize, the
// encrypting trigger, and key administration (rotate_tenant_key, shredding; rotate_master_key is in
// crypto_rotate.cpp).
#include "core/common.hpp"
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/envelope.hpp"
#include "core/crypto/hmac.hpp"
#include "core/crypto/keyring.hpp"
#include "core/crypto/tenant_secret.hpp"
#include "core/crypto/wrap.hpp"
#include "pg/convert.hpp"
#include "pg/crypto_keys.hpp"
#include "pg/keyring.hpp"
#include "pg/owner_spi.hpp"

#include <openssl/crypto.h>

#include <span>

extern "C" {
#include "access/htup_details.h"
#include "commands/trigger.h"
#include "mb/pg_wchar.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

// Not pgp_encrypt/pgp_decrypt: pgcrypto defines functions of those names, and a preloaded
// library's global symbol would be called by pgcrypto instead of its own (a crash).
PGP_FUNCTION(pgp_encrypt_text)
PGP_FUNCTION(pgp_decrypt_text)
PGP_FUNCTION(pgp_decrypt_bytea)
PGP_FUNCTION(pgp_pseudonymize)
PGP_FUNCTION(pgp_encrypt_trigger)
PGP_FUNCTION(pgp_master_key_id)
PGP_FUNCTION(pgp_rotate_tenant_key)
PGP_FUNCTION(pgp_shred_tenant_keys)
PGP_FUNCTION(pgp_encrypt_subject)
PGP_FUNCTION(pgp_shred_subject_key)
PGP_FUNCTION(pgp_export_bytea)

namespace cc = pgp::core::crypto;
namespace ss = pgp::core::crypto::crypto_sqlstate;

namespace pgp {
namespace {

[[noreturn]] void destroyed() {
  throw core::Error(ss::kKeyDestroyed, "key destroyed",
                    "The key of this value was shredded; the value cannot be recovered.");
}

// Every "this value is not yours" of decryption: the tag failed, or the envelope names a key
// version or subject key this tenant does not have (as another tenant's value does). One
// SQLSTATE and one text, exactly those of a failed tag (core/crypto/envelope.cpp), so that
// neither tells whether the reader's tenant has keys or which check failed.
[[noreturn]] void not_yours() {
  throw core::Error(ss::kAuthFailed, "encrypted value failed authentication",
                    "The value was changed, belongs to another tenant or subject, or was sealed "
                    "with another key.");
}

// For administration (rotate_tenant_key): the tenant has no keys yet.
[[noreturn]] void not_found() {
  throw core::Error(ss::kKeyNotFound, "key not found",
                    "The value names a key that the current tenant does not have.");
}

bytea* alloc_bytea(std::size_t n) {
  return pg_call([&] {
    bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + n));
    SET_VARSIZE(b, VARHDRSZ + n);
    return b;
  });
}

std::string_view bytea_view(const bytea* b) {
  return {VARDATA_ANY(b), static_cast<std::size_t>(VARSIZE_ANY_EXHDR(b))};
}

// Seals `plaintext` for the verified tenant under its newest data key.
bytea* seal_for(std::string_view tenant, std::string_view plaintext) {
  const TenantKeySet* ks = tenant_key_set(tenant, true);
  if (ks->destroyed || ks->newest == 0) destroyed();
  const auto& key = ks->data.at(ks->newest);
  if (!key) destroyed();
  cc::EnvelopeHeader h;
  h.kind = cc::KeyKind::kTenant;
  h.key_version = ks->newest;
  const std::size_t n = cc::envelope_size(h, plaintext.size());
  bytea* out = alloc_bytea(n);
  cc::seal_envelope_into(*key, h, cc::EnvelopeOwner{tenant, {}}, plaintext,
                         std::span<char>(VARDATA(out), n));
  return out;
}

// Seals `plaintext` for the subject of the verified tenant under the subject's key.
bytea* seal_for_subject(std::string_view tenant, std::string_view subject, std::string_view plaintext) {
  const SubjectKey* sk = subject_key_for(tenant, subject, true);
  if (!sk->key)
    throw core::Error(ss::kKeyDestroyed, "key destroyed",
                      "This subject's key was shredded (privacy.erase_subject or privacy.shred_subject).",
                      "An erased subject stays erased: new data about the person needs a new subject id.");
  cc::EnvelopeHeader h;
  h.kind = cc::KeyKind::kSubject;
  h.key_version = 1;
  h.subject_ref = sk->ref;
  const std::size_t n = cc::envelope_size(h, plaintext.size());
  bytea* out = alloc_bytea(n);
  cc::seal_envelope_into(*sk->key, h, cc::EnvelopeOwner{tenant, sk->digest}, plaintext,
                         std::span<char>(VARDATA(out), n));
  return out;
}

// The key that opens `envelope` for the tenant, and the owner it is bound to (PV701/702
// malformed, PV704 shredded, PV703 when the tenant has no such key: not_yours()).
struct Opener {
  const cc::SecretKey* key;
  cc::EnvelopeOwner owner;
};

Opener key_for(std::string_view tenant, std::string_view envelope) {
  const cc::EnvelopeHeader h = cc::parse_envelope_header(envelope);
  if (h.kind == cc::KeyKind::kSubject) {
    const TenantKeySet* ks = tenant_key_set(tenant, false);
    if (!ks) not_yours();
    if (ks->destroyed) destroyed();
    const SubjectKey* sk = subject_key_by_ref(tenant, h.subject_ref);
    if (!sk || h.key_version != 1) not_yours();
    if (!sk->key) destroyed();
    return {&*sk->key, cc::EnvelopeOwner{tenant, sk->digest}};
  }
  if (h.kind != cc::KeyKind::kTenant) not_yours();
  const TenantKeySet* ks = tenant_key_set(tenant, false);
  if (!ks) not_yours();
  auto it = ks->data.find(h.key_version);
  if (it == ks->data.end()) {
    if (ks->destroyed) destroyed();
    not_yours();
  }
  if (!it->second) destroyed();
  return {&*it->second, cc::EnvelopeOwner{tenant, {}}};
}

// Opens into a palloc'd varlena (text or bytea have the same layout).
struct varlena* open_for(std::string_view tenant, std::string_view envelope) {
  const Opener o = key_for(tenant, envelope);
  const std::size_t n = cc::envelope_plaintext_size(envelope);
  bytea* out = alloc_bytea(n);
  cc::open_envelope_into(*o.key, o.owner, envelope, std::span<char>(VARDATA(out), n));
  return out;
}

}  // namespace
}  // namespace pgp

Datum pgp_encrypt_text(PG_FUNCTION_ARGS) {
  text* plaintext = PG_GETARG_TEXT_PP(0);
  pgp::crypto_accept_invalidations();
  bytea* out = pgp::guarded([&] {
    return pgp::seal_for(pgp::require_tenant(), pgp::text_view(plaintext));
  });
  PG_RETURN_BYTEA_P(out);
}

static struct varlena* decrypt_common(FunctionCallInfo fcinfo) {
  bytea* envelope = PG_GETARG_BYTEA_PP(0);
  pgp::crypto_accept_invalidations();
  return pgp::guarded([&] { return pgp::open_for(pgp::require_tenant(), pgp::bytea_view(envelope)); });
}

Datum pgp_decrypt_text(PG_FUNCTION_ARGS) {
  struct varlena* out = decrypt_common(fcinfo);
  const int n = static_cast<int>(VARSIZE(out) - VARHDRSZ);
  if (!pg_verifymbstr(VARDATA(out), n, true)) {
    OPENSSL_cleanse(VARDATA(out), n);
    ereport(ERROR, (errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
                    errmsg("decrypted value is not valid text in the database encoding"),
                    errhint("Use privacy.decrypt_bytea() for binary values.")));
  }
  PG_RETURN_TEXT_P(reinterpret_cast<text*>(out));
}

Datum pgp_decrypt_bytea(PG_FUNCTION_ARGS) { PG_RETURN_BYTEA_P(decrypt_common(fcinfo)); }

Datum pgp_pseudonymize(PG_FUNCTION_ARGS) {
  text* value = PG_GETARG_TEXT_PP(0);
  text* domain = PG_GETARG_TEXT_PP(1);
  pgp::crypto_accept_invalidations();
  text* out = pgp::guarded([&] {
    const std::string_view tenant = pgp::require_tenant();
    const pgp::TenantKeySet* ks = pgp::tenant_key_set(tenant, true);
    if (!ks->pseudonym) pgp::destroyed();
    return pgp::make_text(cc::pseudonymize(*ks->pseudonym, pgp::text_view(domain), pgp::text_view(value)));
  });
  PG_RETURN_TEXT_P(out);
}

// BEFORE INSERT OR UPDATE FOR EACH ROW, arguments: bytea column names. A value that parses as
// an envelope header must open for the verified tenant (then it is kept as it is); any other
// value is encrypted. A value unchanged by an UPDATE is not examined again.
Datum pgp_encrypt_trigger(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("privacy.encrypt_trigger() must be called as a trigger")));
  TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
  if (!TRIGGER_FIRED_BEFORE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
      !(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("privacy.encrypt_trigger() must be a BEFORE INSERT OR UPDATE FOR EACH ROW trigger")));
  const Trigger* trig = td->tg_trigger;
  if (trig->tgnargs == 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("privacy.encrypt_trigger() needs the names of the columns to encrypt"),
                    errhint("CREATE TRIGGER ... EXECUTE FUNCTION privacy.encrypt_trigger('secret_notes').")));
  Relation rel = td->tg_relation;
  TupleDesc desc = RelationGetDescr(rel);
  const bool is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
  HeapTuple tuple = is_update ? td->tg_newtuple : td->tg_trigtuple;
  const int n = trig->tgnargs;
  int* cols = static_cast<int*>(palloc(sizeof(int) * n));
  Datum* values = static_cast<Datum*>(palloc(sizeof(Datum) * n));
  bool* nulls = static_cast<bool*>(palloc(sizeof(bool) * n));
  bool* skip = static_cast<bool*>(palloc0(sizeof(bool) * n));
  for (int i = 0; i < n; ++i) {
    const char* name = trig->tgargs[i];
    int attnum = SPI_fnumber(desc, name);
    if (attnum <= 0)
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                      errmsg("column \"%s\" of relation \"%s\" does not exist", name, RelationGetRelationName(rel))));
    if (getBaseType(TupleDescAttr(desc, attnum - 1)->atttypid) != BYTEAOID)
      ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                      errmsg("privacy.encrypt_trigger() cannot encrypt column \"%s\": it is not bytea", name),
                      errhint("Encrypted columns are bytea; write plaintext as convert_to(value, 'UTF8').")));
    cols[i] = attnum;
    values[i] = heap_getattr(tuple, attnum, desc, &nulls[i]);
    if (nulls[i]) continue;
    values[i] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(values[i]));
    if (is_update) {
      bool old_null;
      Datum old = heap_getattr(td->tg_trigtuple, attnum, desc, &old_null);
      if (!old_null) {
        bytea* o = reinterpret_cast<bytea*>(PG_DETOAST_DATUM_PACKED(old));
        bytea* v = reinterpret_cast<bytea*>(DatumGetPointer(values[i]));
        skip[i] = VARSIZE_ANY_EXHDR(o) == VARSIZE_ANY_EXHDR(v) &&
                  memcmp(VARDATA_ANY(o), VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)) == 0;
      }
    }
  }
  bool work = false;
  for (int i = 0; i < n; ++i) work = work || !(nulls[i] || skip[i]);
  // Nothing to examine (an UPDATE that keeps the encrypted columns, such as an anonymization
  // by privacy.erase_subject()): no tenant context is needed.
  if (!work) return PointerGetDatum(tuple);
  pgp::crypto_accept_invalidations();
  pgp::guarded([&] {
    const std::string_view tenant = pgp::require_tenant();
    for (int i = 0; i < n; ++i) {
      if (nulls[i] || skip[i]) continue;
      const std::string_view v = pgp::bytea_view(reinterpret_cast<bytea*>(DatumGetPointer(values[i])));
      bool envelope = true;
      try {
        (void)cc::parse_envelope_header(v);
      } catch (const pgp::core::Error&) {
        envelope = false;
      }
      if (envelope) {
        // Must be this tenant's: opening it proves it (PV703/PV704/PV708 otherwise).
        struct varlena* plain = pgp::open_for(tenant, v);
        OPENSSL_cleanse(VARDATA(plain), VARSIZE(plain) - VARHDRSZ);
        pgp::pg_call([&] { pfree(plain); });
      } else {
        values[i] = PointerGetDatum(pgp::seal_for(tenant, v));
      }
    }
  });
  HeapTuple out = heap_modify_tuple_by_cols(tuple, desc, n, cols, values, nulls);
  return PointerGetDatum(out);
}

Datum pgp_master_key_id(PG_FUNCTION_ARGS) {
  text* out = pgp::guarded([&] { return pgp::make_text(cc::master_key_id(pgp::master_key())); });
  PG_RETURN_TEXT_P(out);
}

// New version of the tenant's data key, wrapped like its others (same keyring-dir choice).
Datum pgp_rotate_tenant_key(PG_FUNCTION_ARGS) {
  text* tenant_t = PG_GETARG_TEXT_PP(0);
  pgp::crypto_accept_invalidations();
  const int version = pgp::guarded([&] {
    const std::string tenant(pgp::text_view(tenant_t));
    const pgp::TenantKeySet* ks = pgp::tenant_key_set(tenant, false);
    if (!ks) pgp::not_found();
    if (ks->destroyed) pgp::destroyed();
    const std::uint32_t next = ks->newest + 1;
    pgp::RawRows ext;
    {
      const char* q = "SELECT max(secret_id) FROM privacy.tenant_keys WHERE tenant_id = $1";
      Oid types[1] = {TEXTOID};
      Datum values[1] = {PointerGetDatum(tenant_t)};
      pgp::pg_call([&] { pgp::owner_execute(q, 1, types, values, nullptr, true, &ext); });
    }
    const char* secret_id = ext.nrows == 1 ? ext.at(0, 0) : nullptr;
    const cc::SecretKey& master = pgp::master_key();
    std::optional<cc::SecretKey> kek_opt = pgp::tenant_kek(master, tenant, secret_id);
    if (!kek_opt) pgp::destroyed();
    const cc::SecretKey& kek = *kek_opt;
    const cc::SecretKey fresh = cc::SecretKey::random();
    const std::string wrapped =
        cc::wrap_secret(kek, fresh.view(), cc::WrapLabel::data_key(cc::KeyKind::kTenant, tenant, next));
    const std::string mid = cc::master_key_id(master);
    const char* q =
        "INSERT INTO privacy.tenant_keys (tenant_id, kind, version, wrapped, master_key_id, secret_id) "
        "VALUES ($1, 1, $2, $3, $4, $5)";
    Oid types[5] = {TEXTOID, INT4OID, BYTEAOID, TEXTOID, TEXTOID};
    const char nulls[6] = {' ', ' ', ' ', ' ', secret_id ? ' ' : 'n', '\0'};
    Datum values[5];
    bytea* w = pgp::alloc_bytea(wrapped.size());
    memcpy(VARDATA(w), wrapped.data(), wrapped.size());
    pgp::pg_call([&] {
      values[0] = PointerGetDatum(tenant_t);
      values[1] = Int32GetDatum(static_cast<int32>(next));
      values[2] = PointerGetDatum(w);
      values[3] = CStringGetTextDatum(mid.c_str());
      values[4] = secret_id ? CStringGetTextDatum(secret_id) : PointerGetDatum(nullptr);
    });
    pgp::pg_call([&] { pgp::owner_execute(q, 5, types, values, nulls, false, nullptr); });
    return static_cast<int>(next);
  });
  PG_RETURN_INT32(version);
}

// A shred destroyed keys that had no secret file in privacy.keyring_dir: old copies still read them.
static void warn_unprotected() {
  ereport(WARNING, (errmsg("some shredded keys were not protected by privacy.keyring_dir"),
                    errdetail("Copies of the database taken before now (backups, replicas, dumps) can still read "
                              "the values those keys encrypted."),
                    errhint("Set privacy.keyring_dir before the first encryption; see docs/crypto.md.")));
}

// Destroys every key of the tenant: the rows lose their wrapped bytes, then the tenant's secret
// file is deleted (the step that reaches backups). Called by privacy.shred_tenant().
Datum pgp_shred_tenant_keys(PG_FUNCTION_ARGS) {
  text* tenant_t = PG_GETARG_TEXT_PP(0);
  Oid types[1] = {TEXTOID};
  Datum values[1] = {PointerGetDatum(tenant_t)};
  pgp::RawRows ids;
  pgp::owner_execute("SELECT DISTINCT secret_id FROM privacy.tenant_keys WHERE tenant_id = $1", 1, types,
                     values, nullptr, true, &ids);
  uint64 n = 0;
  pgp::owner_execute("UPDATE privacy.tenant_keys SET wrapped = NULL, shredded_at = now() "
                     "WHERE tenant_id = $1 AND wrapped IS NOT NULL",
                     1, types, values, nullptr, false, nullptr, &n);
  bool unprotected = false;
  for (int r = 0; r < ids.nrows; ++r)
    if (!ids.at(r, 0)) unprotected = true;
  if (!pgp::keyring_dir()[0] && ids.nrows > 0 && !(ids.nrows == 1 && unprotected))
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '7', '0', '9')),
                    errmsg("privacy.keyring_dir is not set"),
                    errdetail("The tenant's secret files live there; shredding must delete them."),
                    errhint("Set privacy.keyring_dir in postgresql.conf and reload.")));
  // The step that reaches every copy of the database: without these files no backup can unwrap
  // the tenant's keys. It cannot be rolled back; the rows above are only the visible record.
  pgp::guarded([&] {
    for (int r = 0; r < ids.nrows; ++r)
      if (ids.at(r, 0)) cc::destroy_tenant_secret(pgp::keyring_dir(), ids.at(r, 0));
  });
  if (unprotected && n > 0) warn_unprotected();
  PG_RETURN_INT64(static_cast<int64>(n));
}

// privacy.encrypt(plaintext, subject): under the subject's own key (created on first use).
Datum pgp_encrypt_subject(PG_FUNCTION_ARGS) {
  text* plaintext = PG_GETARG_TEXT_PP(0);
  text* subject = PG_GETARG_TEXT_PP(1);
  pgp::crypto_accept_invalidations();
  bytea* out = pgp::guarded([&] {
    return pgp::seal_for_subject(pgp::require_tenant(), pgp::text_view(subject), pgp::text_view(plaintext));
  });
  PG_RETURN_BYTEA_P(out);
}

// privacy._shred_subject_key(tenant, subject): see shred_subject_key(). Owner only.
Datum pgp_shred_subject_key(PG_FUNCTION_ARGS) {
  text* tenant = PG_GETARG_TEXT_PP(0);
  text* subject = PG_GETARG_TEXT_PP(1);
  pgp::crypto_accept_invalidations();
  bool unprotected = false;
  const auto n = pgp::guarded([&] {
    return pgp::shred_subject_key(pgp::text_view(tenant), pgp::text_view(subject), &unprotected);
  });
  if (unprotected) warn_unprotected();
  PG_RETURN_INT64(static_cast<int64>(n));
}

// privacy._export_bytea(value, tenant, subject): how an export shows a bytea value. An envelope
// of the tenant (under the tenant's key, or the subject's own) that opens to valid text gives its
// plaintext; one whose key is destroyed, that does not open, or that is another subject's, gives
// NULL; any other value gives bytea's own text form (\x and hex). Owner only:
// it opens envelopes of any tenant, for privacy.export_subject().
Datum pgp_export_bytea(PG_FUNCTION_ARGS) {
  bytea* value = PG_GETARG_BYTEA_PP(0);
  text* tenant = PG_GETARG_TEXT_PP(1);
  text* subject = PG_GETARG_TEXT_PP(2);
  pgp::crypto_accept_invalidations();
  struct varlena* plain = pgp::guarded([&]() -> struct varlena* {
    const std::string_view v = pgp::bytea_view(value);
    cc::EnvelopeHeader h;
    try {
      h = cc::parse_envelope_header(v);
    } catch (const pgp::core::Error&) {
      return nullptr;
    }
    try {
      if (h.kind == cc::KeyKind::kSubject) {
        // Only the exported subject's own values: a value sealed for another person (a shared
        // thread) stays closed.
        const pgp::SubjectKey* sk = pgp::subject_key_by_ref(pgp::text_view(tenant), h.subject_ref);
        const auto digest = pgp::subject_digest(pgp::text_view(tenant), pgp::text_view(subject), false);
        if (!sk || !digest || sk->digest != *digest) return reinterpret_cast<struct varlena*>(1);
      }
      return pgp::open_for(pgp::text_view(tenant), v);
    } catch (const pgp::core::Error& e) {
      // Shredded, not this tenant's, or damaged: the value is not readable. Configuration
      // errors (the keyring) still stop the export.
      const std::string& st = e.sqlstate();
      if (st == ss::kKeyDestroyed || st == ss::kAuthFailed || st == ss::kKeyNotFound ||
          st == ss::kMalformedEnvelope || st == ss::kUnknownFormat)
        return reinterpret_cast<struct varlena*>(1);
      throw;
    }
  });
  if (plain == reinterpret_cast<struct varlena*>(1)) PG_RETURN_NULL();
  if (!plain) PG_RETURN_TEXT_P(cstring_to_text(DatumGetCString(DirectFunctionCall1(byteaout, PointerGetDatum(value)))));
  const int n = static_cast<int>(VARSIZE(plain) - VARHDRSZ);
  if (!pg_verifymbstr(VARDATA(plain), n, true)) {
    OPENSSL_cleanse(VARDATA(plain), n);
    PG_RETURN_NULL();
  }
  PG_RETURN_TEXT_P(reinterpret_cast<text*>(plain));
}
