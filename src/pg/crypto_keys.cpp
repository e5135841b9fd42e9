// Data keys of privacy.tenant_keys: lazy creation, unwrapping under the master key and the
// tenant's key-encryption key, and the per-backend cache invalidated through the relcache.
#include "pg/crypto_keys.hpp"

#include "core/common.hpp"
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/hmac.hpp"
#include "core/crypto/keyring.hpp"
#include "core/crypto/tenant_secret.hpp"
#include "core/crypto/wrap.hpp"
#include "pg/cluster.hpp"
#include "pg/convert.hpp"
#include "pg/guard.hpp"
#include "pg/keyring.hpp"
#include "pg/owner_spi.hpp"
#include "pg/registry.hpp"
#include "pg/tenancy.hpp"

#include <unordered_map>
#include <vector>

extern "C" {
#include "access/xact.h"
#include "storage/ipc.h"
#include "utils/inval.h"
}

namespace pgp {

namespace cc = core::crypto;
namespace ss = core::crypto::crypto_sqlstate;

namespace {

Oid g_keys_relid = InvalidOid;
bool g_cache_valid = false;
std::unordered_map<std::string, TenantKeySet> g_cache;
constexpr std::size_t kMaxCachedTenants = 4096;
// Subject keys, by tenant NUL ref; and the ref of each tenant NUL digest looked up so far.
std::unordered_map<std::string, SubjectKey> g_subjects;
std::unordered_map<std::string, std::string> g_subject_refs;
constexpr std::size_t kMaxCachedSubjects = 65536;

// Drops every cached key after an invalidation (or when the caches grow too large).
void check_cache() {
  if (!g_cache_valid || g_cache.size() > kMaxCachedTenants || g_subjects.size() > kMaxCachedSubjects) {
    g_cache.clear();
    g_subjects.clear();
    g_subject_refs.clear();
    g_cache_valid = true;
  }
}

// Secret files of shredded subject keys, deleted when the transaction commits: the rows that
// record the shredding and the file go together (an abort, or the abort of the subtransaction
// that shredded, keeps the file). `level` is the transaction nesting level of the shredding.
struct PendingDestroy {
  char secret_id[33];  // 32 hex digits: plain storage, so the commit callback allocates nothing
  int level;
};
std::vector<PendingDestroy> g_pending;

// The files go after the commit record is written: before it, the commit could still fail
// (a serialization failure, a NOTIFY queue error, a crash) and leave wrapped rows whose file is
// gone. A failure to delete is a WARNING (the transaction has committed); the rows say the key
// is shredded, so this database no longer reads it either way.
void on_xact(XactEvent event) noexcept {
  if (g_pending.empty()) return;  // every commit of every backend passes here
  switch (event) {
    case XACT_EVENT_PRE_PREPARE:
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                      errmsg("cannot prepare a transaction that shreds a subject key"),
                      errhint("Commit privacy.shred_subject() or privacy.erase_subject() directly.")));
      break;
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PARALLEL_COMMIT: {
      // No allocation and no exception here: a std::bad_alloc in a commit callback could only
      // end the process. The paths are built in fixed buffers; failures are counted.
      int failed = 0;
      const char* dir = keyring_dir();
      for (const auto& p : g_pending)
        if (!cc::destroy_tenant_secret_noexcept(dir, p.secret_id)) ++failed;
      g_pending.clear();
      if (failed > 0)
        ereport(WARNING, (errmsg("%d shredded subject key file(s) could not be deleted from privacy.keyring_dir", failed),
                          errdetail("The keys are shredded in the database; copies of it taken before now can still "
                                    "read them while the files exist."),
                          errhint("Check privacy.keyring_dir; files of keys whose rows have wrapped IS NULL may be deleted.")));
      break;
    }
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
    case XACT_EVENT_PREPARE:
      g_pending.clear();
      break;
    default:
      break;
  }
}

void on_subxact(SubXactEvent event) noexcept {
  if (g_pending.empty()) return;
  const int level = GetCurrentTransactionNestLevel();
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    std::erase_if(g_pending, [&](const PendingDestroy& p) { return p.level >= level; });
  } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
    for (auto& p : g_pending)
      if (p.level >= level) p.level = level - 1;
  }
}

void on_relcache(Oid relid) {
  if (relid == InvalidOid || g_keys_relid == InvalidOid || relid == g_keys_relid)
    g_cache_valid = false;
}

bool dir_set() { return settings::keyring_dir && settings::keyring_dir[0]; }

std::string hex_decode(const char* hex) {
  std::string out;
  const std::size_t n = strlen(hex) / 2;
  out.resize(n);
  auto v = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>(v(hex[2 * i]) << 4 | v(hex[2 * i + 1]));
  return out;
}

// `fresh`: read-write SPI, whose new snapshot and command id see keys created earlier in this
// statement (a cache miss after the invalidation that the creation itself caused).
RawRows select_rows(std::string_view tenant, bool fresh) {
  const char* q =
      "SELECT kind, version, encode(wrapped, 'hex'), secret_id, master_key_id "
      "FROM privacy.tenant_keys WHERE tenant_id = $1 AND kind IN (1, 3)";
  text* t = make_text(tenant);
  Oid types[1] = {TEXTOID};
  Datum values[1] = {PointerGetDatum(t)};
  RawRows rows;
  pg_call([&] { owner_execute(q, 1, types, values, nullptr, !fresh, &rows); });
  g_keys_relid = pg_call([] { return privacy_relid("tenant_keys"); });
  return rows;
}

}  // namespace

// The key-encryption key of a tenant's rows; nullopt when its secret file is gone (destroyed).
std::optional<cc::SecretKey> tenant_kek(const cc::SecretKey& master, std::string_view tenant,
                                        const char* secret_id) {
  if (!secret_id) return cc::derive_tenant_kek(master, tenant, nullptr);
  if (!dir_set())
    throw core::Error(ss::kKeyringDirRefused, "privacy.keyring_dir is not set",
                      "This tenant's keys were created with a keyring directory; they need it to be read.",
                      "Set privacy.keyring_dir in postgresql.conf to that directory and reload.");
  std::optional<cc::SecretKey> s = cc::read_tenant_secret(settings::keyring_dir, secret_id);
  if (!s) return std::nullopt;
  return cc::derive_tenant_kek(master, tenant, &*s);
}

namespace {

std::string to_hex_string(const std::string& b) {
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned char c : b) {
    h.push_back(d[c >> 4]);
    h.push_back(d[c & 15]);
  }
  return h;
}

void create_keys(std::string_view tenant) {
  const cc::SecretKey& master = master_key();
  std::string secret_id;
  std::optional<cc::SecretKey> secret;
  if (dir_set()) {
    secret_id = cc::new_secret_id();
    secret = cc::create_tenant_secret(settings::keyring_dir, secret_id);
  }
  const cc::SecretKey kek = cc::derive_tenant_kek(master, tenant, secret ? &*secret : nullptr);
  const cc::SecretKey data = cc::SecretKey::random(), pseud = cc::SecretKey::random();
  const std::string w1 = to_hex_string(cc::wrap_secret(kek, data.view(), cc::WrapLabel::data_key(cc::KeyKind::kTenant, tenant, 1)));
  const std::string w3 = to_hex_string(cc::wrap_secret(kek, pseud.view(), cc::WrapLabel::data_key(cc::KeyKind::kPseudonym, tenant, 1)));
  const std::string mid = cc::master_key_id(master);
  // A concurrent creator may win: its rows stay, ours are dropped (and our secret file, if
  // any, is left unused: it protects nothing).
  const char* q =
      "INSERT INTO privacy.tenant_keys (tenant_id, kind, version, wrapped, master_key_id, secret_id) "
      "VALUES ($1, 1, 1, decode($2, 'hex'), $4, $5), ($1, 3, 1, decode($3, 'hex'), $4, $5) "
      "ON CONFLICT DO NOTHING";
  Oid types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
  Datum values[5];
  const char nulls[6] = {' ', ' ', ' ', ' ', secret ? ' ' : 'n', '\0'};
  values[0] = PointerGetDatum(make_text(tenant));
  pg_call([&] {
    values[1] = CStringGetTextDatum(w1.c_str());
    values[2] = CStringGetTextDatum(w3.c_str());
    values[3] = CStringGetTextDatum(mid.c_str());
    values[4] = CStringGetTextDatum(secret_id.c_str());
  });
  pg_call([&] { owner_execute(q, 5, types, values, nulls, false, nullptr); });
  // Said when it can still be fixed (before any value is sealed under these keys), not at the
  // shred, when it is too late.
  if (!secret)
    pg_call([] {
      ereport(WARNING,
              (errmsg("privacy.keyring_dir is not set: a tenant's keys were created without a secret file"),
               errdetail("Shredding this tenant later cannot reach backups and dumps taken before the shred."),
               errhint("Set privacy.keyring_dir in postgresql.conf and reload before tenants' first encryption "
                       "(docs/crypto.md).")));
    });
}

TenantKeySet build_set(std::string_view tenant, const RawRows& rows) {
  TenantKeySet set;
  bool all_shredded = true;
  const std::string mid = cc::master_key_id(master_key());
  std::optional<cc::SecretKey> kek;
  bool kek_known = false, secret_gone = false;
  for (int r = 0; r < rows.nrows; ++r) {
    const int kind = atoi(rows.at(r, 0));
    const auto version = static_cast<std::uint32_t>(strtoul(rows.at(r, 1), nullptr, 10));
    const char* wrapped = rows.at(r, 2);
    const char* secret_id = rows.at(r, 3);
    std::optional<cc::SecretKey> key;
    if (wrapped) {
      if (!kek_known) {
        kek = tenant_kek(master_key(), tenant, secret_id);
        secret_gone = !kek;
        kek_known = true;
      }
      if (!secret_gone) {
        const char* row_mid = rows.at(r, 4);
        if (!row_mid || mid != row_mid)
          throw core::Error(ss::kWrappedKeyRefused, "wrapped key refused",
                            "The key was wrapped under another master key.",
                            "Run privacy.rotate_master_key() with the previous keyring file.");
        const auto k = kind == 3 ? cc::KeyKind::kPseudonym : cc::KeyKind::kTenant;
        key = cc::unwrap_data_key(*kek, hex_decode(wrapped), cc::WrapLabel::data_key(k, tenant, version));
        all_shredded = false;
      }
    }
    if (kind == 3) {
      set.pseudonym = std::move(key);
    } else {
      set.data[version] = std::move(key);
      if (version > set.newest) set.newest = version;
    }
  }
  set.destroyed = all_shredded;
  return set;
}

}  // namespace

void crypto_accept_invalidations() {
  // Keys live on the Citus coordinator only: a worker creating its own would split a tenant's
  // keys, and a shred on the coordinator would not reach them.
  refuse_on_citus_worker("encryption");
  AcceptInvalidationMessages();
}

const char* keyring_dir() { return dir_set() ? settings::keyring_dir : ""; }

std::string_view require_tenant() {
  const char* t = current_tenant_or_null();
  if (!t)
    throw core::Error("42501", "encryption requires a verified tenant context", {},
                      "Call privacy.authenticate() (or privacy.set_context()) first.");
  return t;
}

const TenantKeySet* tenant_key_set(std::string_view tenant, bool create) {
  check_cache();
  const std::string key(tenant);
  if (auto it = g_cache.find(key); it != g_cache.end()) return &it->second;
  RawRows rows = select_rows(tenant, true);
  if (rows.nrows == 0) {
    if (!create) return nullptr;
    create_keys(tenant);
    rows = select_rows(tenant, true);
    if (rows.nrows == 0) throw core::Error("PV000", "the new tenant keys could not be read back");
  }
  TenantKeySet set = build_set(tenant, rows);
  return &g_cache.insert_or_assign(key, std::move(set)).first->second;
}

namespace {

constexpr const char* kSubjectDomain = "pg_privacy subject key";

// By ref or by digest: (ref, digest, wrapped hex, secret_id, master_key_id).
RawRows select_subject_rows(std::string_view tenant, std::string_view value, bool by_ref) {
  const char* q = by_ref
      ? "SELECT subject_ref, subject_digest, encode(wrapped, 'hex'), secret_id, master_key_id "
        "FROM privacy.tenant_keys WHERE tenant_id = $1 AND kind = 2 AND subject_ref = $2"
      : "SELECT subject_ref, subject_digest, encode(wrapped, 'hex'), secret_id, master_key_id "
        "FROM privacy.tenant_keys WHERE tenant_id = $1 AND kind = 2 AND subject_digest = $2";
  Oid types[2] = {TEXTOID, TEXTOID};
  Datum values[2];
  values[0] = PointerGetDatum(make_text(tenant));
  values[1] = PointerGetDatum(make_text(value));
  RawRows rows;
  pg_call([&] { owner_execute(q, 2, types, values, nullptr, false, &rows); });
  g_keys_relid = pg_call([] { return privacy_relid("tenant_keys"); });
  return rows;
}

const SubjectKey* cache_subject(std::string_view tenant, const RawRows& rows) {
  SubjectKey k;
  k.ref = rows.at(0, 0);
  k.digest = rows.at(0, 1);
  if (const char* wrapped = rows.at(0, 2)) {
    const char* row_mid = rows.at(0, 4);
    const cc::SecretKey& master = master_key();
    if (!row_mid || cc::master_key_id(master) != row_mid)
      throw core::Error(ss::kWrappedKeyRefused, "wrapped key refused",
                        "The key was wrapped under another master key.",
                        "Run privacy.rotate_master_key() with the previous keyring file.");
    std::optional<cc::SecretKey> kek = tenant_kek(master, tenant, rows.at(0, 3));
    if (kek)
      k.key = cc::unwrap_data_key(*kek, hex_decode(wrapped),
                                  cc::WrapLabel::data_key(cc::KeyKind::kSubject, tenant, 1, k.ref));
  }
  std::string base(tenant);
  base.push_back('\0');
  g_subject_refs[base + k.digest] = k.ref;
  std::string key = base + k.ref;
  return &g_subjects.insert_or_assign(std::move(key), std::move(k)).first->second;
}

// Counts a new subject key against privacy.max_subject_keys, in the creating transaction. The
// counter row stays locked until the transaction ends, so concurrent creators in one tenant
// queue behind it and the bound holds exactly. PV710 past the bound.
void charge_subject_key(std::string_view tenant) {
  const char* q =
      "INSERT INTO privacy.subject_key_counts AS c (tenant_id, created) VALUES ($1, 1) "
      "ON CONFLICT (tenant_id) DO UPDATE SET created = c.created + 1 WHERE c.created < $2 RETURNING created";
  Oid types[2] = {TEXTOID, INT8OID};
  Datum values[2];
  values[0] = PointerGetDatum(make_text(tenant));
  values[1] = Int64GetDatum(static_cast<int64>(settings::max_subject_keys));
  uint64 n = 0;
  pg_call([&] { owner_execute(q, 2, types, values, nullptr, false, nullptr, &n); });
  if (n == 0)
    throw core::Error("PV710", "subject key limit reached",
                      "The tenant has created as many subject keys as privacy.max_subject_keys allows.",
                      "A superuser can raise privacy.max_subject_keys; a subject's key is created by its first "
                      "privacy.encrypt(value, subject).");
}

// Inserts the subject's key row: a live key, or (shredded) a row that only records the
// shredding. A concurrent creator may win; our secret file is then deleted.
// True when our row was inserted.
bool insert_subject_row(std::string_view tenant, const std::string& digest, bool shredded) {
  if (!shredded) charge_subject_key(tenant);
  const std::string ref = cc::new_secret_id();
  std::string secret_id, wrapped;
  std::optional<cc::SecretKey> secret;
  const cc::SecretKey& master = master_key();
  const std::string mid = cc::master_key_id(master);
  if (!shredded) {
    if (dir_set()) {
      secret_id = cc::new_secret_id();
      secret = cc::create_tenant_secret(settings::keyring_dir, secret_id);
    }
    const cc::SecretKey kek = cc::derive_tenant_kek(master, tenant, secret ? &*secret : nullptr);
    const cc::SecretKey data = cc::SecretKey::random();
    wrapped = to_hex_string(
        cc::wrap_secret(kek, data.view(), cc::WrapLabel::data_key(cc::KeyKind::kSubject, tenant, 1, ref)));
  }
  const char* q =
      "INSERT INTO privacy.tenant_keys (tenant_id, kind, subject_ref, subject_digest, version, wrapped, "
      "master_key_id, secret_id, shredded_at) "
      "VALUES ($1, 2, $2, $3, 1, decode($4, 'hex'), $5, $6, CASE WHEN $4 IS NULL THEN now() END) "
      "ON CONFLICT DO NOTHING";
  Oid types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
  Datum values[6];
  const char nulls[7] = {' ', ' ', ' ', shredded ? 'n' : ' ', shredded ? 'n' : ' ', secret ? ' ' : 'n', '\0'};
  values[0] = PointerGetDatum(make_text(tenant));
  pg_call([&] {
    values[1] = CStringGetTextDatum(ref.c_str());
    values[2] = CStringGetTextDatum(digest.c_str());
    values[3] = CStringGetTextDatum(wrapped.c_str());
    values[4] = CStringGetTextDatum(mid.c_str());
    values[5] = CStringGetTextDatum(secret_id.c_str());
  });
  uint64 n = 0;
  pg_call([&] { owner_execute(q, 6, types, values, nulls, false, nullptr, &n); });
  if (n == 0 && secret) cc::destroy_tenant_secret(settings::keyring_dir, secret_id);
  return n > 0;
}

}  // namespace

std::optional<std::string> subject_digest(std::string_view tenant, std::string_view subject, bool create) {
  if (subject.empty())
    throw core::Error("22023", "the subject id is empty", {}, "Pass the id of the person the value is about.");
  const TenantKeySet* ks = tenant_key_set(tenant, create);
  if (!ks) return std::nullopt;
  if (!ks->pseudonym)
    throw core::Error(ss::kKeyDestroyed, "key destroyed", "The tenant's keys were shredded.");
  return cc::pseudonymize(*ks->pseudonym, kSubjectDomain, subject);
}

const SubjectKey* subject_key_by_ref(std::string_view tenant, std::string_view ref) {
  check_cache();
  std::string key(tenant);
  key.push_back('\0');
  key.append(ref);
  if (auto it = g_subjects.find(key); it != g_subjects.end()) return &it->second;
  RawRows rows = select_subject_rows(tenant, ref, true);
  if (rows.nrows == 0) return nullptr;
  return cache_subject(tenant, rows);
}

const SubjectKey* subject_key_for(std::string_view tenant, std::string_view subject, bool create) {
  const std::optional<std::string> digest = subject_digest(tenant, subject, create);
  if (!digest) return nullptr;
  check_cache();
  std::string base(tenant);
  base.push_back('\0');
  if (auto it = g_subject_refs.find(base + *digest); it != g_subject_refs.end())
    if (auto s = g_subjects.find(base + it->second); s != g_subjects.end()) return &s->second;
  RawRows rows = select_subject_rows(tenant, *digest, false);
  if (rows.nrows == 0) {
    if (!create) return nullptr;
    insert_subject_row(tenant, *digest, false);
    rows = select_subject_rows(tenant, *digest, false);
    if (rows.nrows == 0) throw core::Error("PV000", "the new subject key could not be read back");
  }
  return cache_subject(tenant, rows);
}

std::uint64_t shred_subject_key(std::string_view tenant, std::string_view subject, bool* unprotected) {
  *unprotected = false;
  const TenantKeySet* ks = tenant_key_set(tenant, false);
  if (ks && ks->destroyed) return 0;  // shred_tenant destroyed every key, the subjects' too
  const std::string digest = *subject_digest(tenant, subject, true);
  const char* q =
      "UPDATE privacy.tenant_keys SET wrapped = NULL, shredded_at = now() "
      "WHERE tenant_id = $1 AND kind = 2 AND subject_digest = $2 AND wrapped IS NOT NULL RETURNING secret_id";
  Oid types[2] = {TEXTOID, TEXTOID};
  Datum values[2];
  values[0] = PointerGetDatum(make_text(tenant));
  pg_call([&] {
    values[1] = CStringGetTextDatum(digest.c_str());
  });
  RawRows rows;
  pg_call([&] { owner_execute(q, 2, types, values, nullptr, false, &rows); });
  // No live key: record the shredding, so that the subject stays shredded. If a concurrent
  // first encrypt() won the insert, its key row is committed now: shred it (a new snapshot).
  if (rows.nrows == 0 && !insert_subject_row(tenant, digest, true))
    pg_call([&] { owner_execute(q, 2, types, values, nullptr, false, &rows); });
  if (rows.nrows == 0) return 0;
  for (int r = 0; r < rows.nrows; ++r) {
    const char* id = rows.at(r, 0);
    if (!id) {
      *unprotected = true;
      continue;
    }
    if (!dir_set())
      throw core::Error(ss::kKeyringDirRefused, "privacy.keyring_dir is not set",
                        "The subject's secret file lives there; shredding must delete it.",
                        "Set privacy.keyring_dir in postgresql.conf and reload.");
    const int level = pg_call([] { return GetCurrentTransactionNestLevel(); });
    PendingDestroy p{};
    strlcpy(p.secret_id, id, sizeof p.secret_id);
    p.level = level;
    g_pending.push_back(p);
  }
  return static_cast<std::uint64_t>(rows.nrows);
}

// The registry's dispatch (registry.hpp).
void crypto_keys_on_setting_change() { g_cache_valid = false; }
void crypto_on_xact(XactEvent event) { on_xact(event); }
void crypto_on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId) { on_subxact(event); }
void crypto_on_relcache(Oid relid) { on_relcache(relid); }

// The cached keys own OpenSSL contexts: free them before exit(), whose atexit handlers run
// OpenSSL's cleanup before this library's static destructors.
void crypto_on_proc_exit() {
  g_cache.clear();
  g_subjects.clear();
  g_subject_refs.clear();
}

}  // namespace pgp
