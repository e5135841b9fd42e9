// pg_privacy on a Citus cluster (docs/citus.md): whether Citus is here and which role this node
// plays, and the verified context a coordinator sends to its workers (privacy.cluster_context).
#pragma once

#include "pg/pg.hpp"

extern "C" {
#include "utils/rel.h"
}

#include <string>
#include <vector>

namespace pgp {

// True when the citus extension is installed in this database (a syscache probe).
bool citus_installed();

// This node's configuration version: privacy._config_digest(), cached until the tables it
// covers change. May ereport.
const char* config_digest();

// True on a Citus worker (a node whose group is not the coordinator's). May ereport.
bool citus_worker();

// PV956 on a Citus worker: `what` (encryption) is done on the coordinator only. May ereport.
void refuse_on_citus_worker(const char* what);

// When `rel` is a Citus shard, the schema-qualified, quoted name of its distributed table
// (palloc'd); nullptr otherwise. Audit records name the logical table. May ereport.
char* citus_logical_table_name(Relation rel);

// On a worker running under a context received from the coordinator: PV954 unless this node's
// configuration version is the one the coordinator sealed into it. May ereport.
void require_coordinator_config();

// The verified context this backend received from a coordinator through privacy.cluster_context
// (checked when it was set): nullptr when none, or when it has expired. Never ereports.
struct ReceivedContext {
  const char* tenant;
  const char* subject;
  const char* region;     // "" when none
  const char* config_digest;
  int nroles;
  const char* roles;      // nroles NUL-terminated strings, one after the other
  std::int64_t expires;
};
const ReceivedContext* received_context() noexcept;

// On a coordinator inside a transaction block: sends the verified context (or, with
// `tenant == nullptr`, its absence) to every worker the transaction uses, as
// SET LOCAL privacy.cluster_context, which Citus propagates. A no-op without Citus. May ereport.
struct ContextToSend {
  const char* tenant;  // nullptr: no context
  const char* subject;
  const char* region;
  const std::vector<std::string>* roles;
  std::int64_t expires;  // 0: none
};
void send_context_to_workers(const ContextToSend& context);

}  // namespace pgp
