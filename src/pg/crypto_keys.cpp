// Data keys of privacy.tenant_keys: lazy creation, unwrapping under the master key and the
// tenant's key-encryption key, and the per-backend cache invalidated through the relcache.
#include "pg/crypto_keys.hpp"

#include "core/common.hpp"
#include "core/crypto/crypto_sqlstate.hpp"
#include "core/crypto/keyring.hpp"
#include "core/crypto/tenant_secret.hpp"
#include "core/crypto/wrap.hpp"
#include "pg/guard.hpp"
#include "pg/keyring.hpp"
#include "pg/owner_spi.hpp"
#include "pg/tenancy.hpp"

#include <unordered_map>

extern "C" {
#include "utils/inval.h"
}

namespace pgp {

namespace cc = core::crypto;
namespace ss = core::crypto::crypto_sqlstate;

namespace {

char* g_keyring_dir = nullptr;
Oid g_keys_relid = InvalidOid;
bool g_cache_valid = false;
std::unordered_map<std::string, TenantKeySet> g_cache;
constexpr std::size_t kMaxCachedTenants = 4096;

void on_relcache(Datum, Oid relid) {
  if (relid == InvalidOid || g_keys_relid == InvalidOid || relid == g_keys_relid)
    g_cache_valid = false;
}

bool dir_set() { return g_keyring_dir && g_keyring_dir[0]; }

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
  text* t = pg_call([&] { return cstring_to_text_with_len(tenant.data(), static_cast<int>(tenant.size())); });
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
  std::optional<cc::SecretKey> s = cc::read_tenant_secret(g_keyring_dir, secret_id);
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
    secret = cc::create_tenant_secret(g_keyring_dir, secret_id);
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
  pg_call([&] {
    values[0] = PointerGetDatum(cstring_to_text_with_len(tenant.data(), static_cast<int>(tenant.size())));
    values[1] = CStringGetTextDatum(w1.c_str());
    values[2] = CStringGetTextDatum(w3.c_str());
    values[3] = CStringGetTextDatum(mid.c_str());
    values[4] = CStringGetTextDatum(secret_id.c_str());
  });
  pg_call([&] { owner_execute(q, 5, types, values, nulls, false, nullptr); });
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

void crypto_accept_invalidations() { AcceptInvalidationMessages(); }

const char* keyring_dir() { return dir_set() ? g_keyring_dir : ""; }

std::string_view require_tenant() {
  const char* t = current_tenant_or_null();
  if (!t)
    throw core::Error("42501", "encryption requires a verified tenant context", {},
                      "Call privacy.authenticate() (or privacy.set_context()) first.");
  return t;
}

const TenantKeySet* tenant_key_set(std::string_view tenant, bool create) {
  if (!g_cache_valid || g_cache.size() > kMaxCachedTenants) {
    g_cache.clear();
    g_cache_valid = true;
  }
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

void crypto_init() {
  DefineCustomStringVariable(
      "privacy.keyring_dir", "Directory of per-tenant secrets that wrap each tenant's data keys.",
      "Deleting a tenant's file (privacy.shred_tenant) makes its keys unrecoverable in every backup of the "
      "database. Must be owned by the server's user, mode 0700, outside the data directory and its backups.",
      &g_keyring_dir, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr,
      [](const char*, void*) { g_cache_valid = false; }, nullptr);
  CacheRegisterRelcacheCallback(on_relcache, 0);
}

}  // namespace pgp
