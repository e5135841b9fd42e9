// pg_privacy on a Citus cluster: the verified context sent from a coordinator to its workers.
// The coordinator seals it (core/tenancy/cluster_context) with a key derived from the master key
// every node shares and sets it as SET LOCAL privacy.cluster_context, which Citus replays on each
// worker connection of the transaction; a worker opens it in the setting's check hook, so that a
// forged, altered or expired value is refused when it is set (docs/citus.md).
#include "pg/cluster.hpp"

#include "core/common.hpp"
#include "core/tenancy/cluster_context.hpp"
#include "pg/guard.hpp"
#include "pg/keyring.hpp"
#include "pg/owner_spi.hpp"
#include "pg/registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

extern "C" {
#include "catalog/pg_namespace.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace ct = pgp::core::tenancy;

namespace pgp {

namespace {

// How long a sealed context stays valid on the workers (and the longest a captured one could be
// replayed there): a transaction that outlives it loses its context on the workers (no rows).
constexpr std::int64_t kContextTtlSeconds = 15 * 60;

// The setting's `extra`: a flat malloc'd block (guc.c frees it with free()), fields NUL-separated
// in `data`: config_digest, tenant, subject, region, then the roles.
struct ContextExtra {
  ReceivedContext view;
  char data[1];
};

ContextExtra* g_received = nullptr;

// This node's configuration version (privacy._config_digest()), computed when first needed and
// again after a change to one of the tables it covers (the relcache callback).
constexpr int kDigestTables = 4;
const char* const kDigestTableNames[kDigestTables] = {"rules", "allow_list", "dictionaries", "dictionary_terms"};
Oid g_digest_relids[kDigestTables] = {};
char g_digest[65] = "";
bool g_digest_valid = false;

std::int64_t unix_now(TimestampTz t) { return static_cast<std::int64_t>(timestamptz_to_time_t(t)); }

}  // namespace

// Citus's metadata tables exist exactly where the extension is installed; a syscache probe is
// cheap enough for every call of an encryption function.
bool citus_installed() { return OidIsValid(get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE)); }

const char* config_digest() {
  if (g_digest_valid) return g_digest;
  static const char* const kQuery[] = {"SELECT privacy._config_digest()"};
  RawRows rows;
  owner_queries(kQuery, &rows, 1);
  strlcpy(g_digest, rows.nrows == 1 && rows.at(0, 0) ? rows.at(0, 0) : "", sizeof g_digest);
  for (int i = 0; i < kDigestTables; ++i) g_digest_relids[i] = privacy_relid(kDigestTableNames[i]);
  g_digest_valid = true;
  return g_digest;
}

bool citus_worker() {
  static int cached = -1;  // the node's group does not change under a running backend
  if (cached >= 0) return cached == 1;
  if (!citus_installed()) return false;
  static const char* const kQuery[] = {"SELECT groupid <> 0 FROM pg_catalog.pg_dist_local_group"};
  RawRows rows;
  owner_queries(kQuery, &rows, 1);
  cached = rows.nrows == 1 && rows.at(0, 0) && rows.at(0, 0)[0] == 't';
  return cached == 1;
}

void refuse_on_citus_worker(const char* what) {
  if (!citus_worker()) return;
  ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '9', '5', '6')),
                  errmsg("%s runs on the Citus coordinator, not on a worker", what),
                  errdetail("Tenant and subject keys are created and kept in one place, the coordinator, so that a "
                            "shred there reaches every copy."),
                  errhint("Decrypt on the coordinator: read the column through a materialized CTE, "
                          "WITH m AS MATERIALIZED (SELECT ...) SELECT privacy.decrypt(col) FROM m.")));
}

char* citus_logical_table_name(Relation rel) {
  if (!citus_installed()) return nullptr;
  // A shard is named after its table: <table>_<shard id>.
  const char* name = RelationGetRelationName(rel);
  const char* us = strrchr(name, '_');
  if (!us || us[1] == '\0' || strspn(us + 1, "0123456789") != strlen(us + 1)) return nullptr;
  const int64 shardid = strtoll(us + 1, nullptr, 10);
  Oid types[1] = {INT8OID};
  Datum values[1] = {Int64GetDatum(shardid)};
  RawRows rows;
  owner_execute("SELECT logicalrelid::oid FROM pg_catalog.pg_dist_shard WHERE shardid = $1", 1, types, values,
                nullptr, true, &rows);
  if (rows.nrows != 1 || !rows.at(0, 0)) return nullptr;
  const Oid logical = static_cast<Oid>(strtoul(rows.at(0, 0), nullptr, 10));
  const char* relname = get_rel_name(logical);
  const Oid nsp = get_rel_namespace(logical);
  if (!relname || !OidIsValid(nsp)) return nullptr;
  return pstrdup(quote_qualified_identifier(get_namespace_name(nsp), relname));
}

void require_coordinator_config() {
  const ReceivedContext* rc = received_context();
  if (!rc || !*rc->config_digest) return;
  if (strcmp(config_digest(), rc->config_digest) != 0)
    ereport(ERROR, (errcode(MAKE_SQLSTATE('P', 'V', '9', '5', '4')),
                    errmsg("this node's pg_privacy configuration differs from the coordinator's"),
                    errdetail("Redaction rules, allow-list or dictionaries were changed on the coordinator (or "
                              "here) since the last privacy.cluster_sync(); tenant statements are refused until "
                              "they match."),
                    errhint("Run SELECT privacy.cluster_sync() on the coordinator.")));
}

void cluster_on_relcache(Oid relid) {
  if (!g_digest_valid) return;
  for (Oid o : g_digest_relids)
    if (relid == InvalidOid || relid == o) g_digest_valid = false;
}

const ReceivedContext* received_context() noexcept {
  if (!g_received) return nullptr;
  const std::int64_t now = unix_now(GetCurrentStatementStartTimestamp());
  if (now - settings::jwt_leeway_s >= g_received->view.expires) return nullptr;
  return &g_received->view;
}

// ---- the setting's hooks (registry.cpp) ----------------------------------------------------------

bool cluster_context_check(char** newval, void** extra, GucSource) {
  *extra = nullptr;
  if (*newval == nullptr || **newval == '\0') return true;
  char sqlstate[6] = "PV000";
  char message[256] = "";
  char hint[256] = "";
  ContextExtra* out = nullptr;
  try {
    const std::int64_t now = unix_now(GetCurrentTimestamp()) - settings::jwt_leeway_s;
    const ct::ClusterContext c =
        ct::open_cluster_context(ct::cluster_context_key(master_key()), *newval, now);
    std::size_t size = sizeof(ContextExtra) + c.config_digest.size() + c.tenant.size() + c.subject.size() +
                       c.region.size() + 4;
    for (const std::string& r : c.roles) size += r.size() + 1;
    out = static_cast<ContextExtra*>(std::malloc(size));
    if (!out) throw std::bad_alloc();
    char* p = out->data;
    auto put = [&p](const std::string& s) {
      std::memcpy(p, s.data(), s.size());
      p[s.size()] = '\0';
      const char* start = p;
      p += s.size() + 1;
      return start;
    };
    out->view.config_digest = put(c.config_digest);
    out->view.tenant = put(c.tenant);
    out->view.subject = put(c.subject);
    out->view.region = put(c.region);
    out->view.roles = p;
    for (const std::string& r : c.roles) put(r);
    out->view.nroles = static_cast<int>(c.roles.size());
    out->view.expires = c.expires;
    *extra = out;
    return true;
  } catch (const core::Error& e) {
    strlcpy(sqlstate, e.sqlstate().c_str(), sizeof sqlstate);
    strlcpy(message, e.what(), sizeof message);
    strlcpy(hint, e.hint().c_str(), sizeof hint);
  } catch (...) {
    strlcpy(message, "internal error in pg_privacy", sizeof message);
  }
  std::free(out);
  GUC_check_errcode(MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4]));
  GUC_check_errmsg("%s", message);
  if (hint[0]) GUC_check_errhint("%s", hint);
  return false;
}

void cluster_context_assign(const char*, void* extra) { g_received = static_cast<ContextExtra*>(extra); }

// ---- the coordinator's side -------------------------------------------------------------------------

void send_context_to_workers(const ContextToSend& c) {
  if (!IsTransactionBlock() || !citus_installed()) return;
  const char* command = "SET LOCAL privacy.cluster_context = ''";
  if (c.tenant) {
    const std::int64_t now = unix_now(GetCurrentTimestamp());
    const char* digest = config_digest();
    guarded([&] {
      ct::ClusterContext cc;
      cc.config_digest = digest;
      cc.expires = c.expires > 0 ? std::min(c.expires, now + kContextTtlSeconds) : now + kContextTtlSeconds;
      cc.tenant = c.tenant;
      cc.subject = c.subject ? c.subject : "";
      cc.region = c.region ? c.region : "";
      if (c.roles) cc.roles = *c.roles;
      // base64url and '.': nothing to quote.
      const std::string sql = "SET LOCAL privacy.cluster_context = '" +
                              ct::seal_cluster_context(ct::cluster_context_key(master_key()), cc) + "'";
      pg_call([&] { command = pstrdup(sql.c_str()); });
    });
  }
  // Citus propagates SET LOCAL statements (not set_config()) to the transaction's worker
  // connections, present and future, when citus.propagate_set_commands is 'local'.
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "pg_privacy: SPI_connect failed");
  if (SPI_execute("SET LOCAL citus.propagate_set_commands = 'local'", false, 0) != SPI_OK_UTILITY ||
      SPI_execute(command, false, 0) != SPI_OK_UTILITY)
    elog(ERROR, "pg_privacy: could not send the verified context to the Citus workers");
  SPI_finish();
}

}  // namespace pgp
