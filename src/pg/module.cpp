// _PG_init: the module's start-up: settings (GUCs), and later shared memory, hooks and the
// background worker. Works both preloaded and loaded on first use.
#include "pg/guard.hpp"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace {
bool g_preloaded = false;
}

namespace pgp {
void redact_engine_init();
void stats_init();
void log_scrub_init();
void tenancy_init();
void classify_init();
void keyring_init();
void retention_init();
void audit_init();
void provider_init();
void crypto_init();
void drop_guard_init();
namespace ops {
void ops_init();
}

bool is_preloaded() { return g_preloaded; }

void require_preload(const char* feature) {
  if (g_preloaded) return;
  ereport(ERROR,
          (errcode(MAKE_SQLSTATE('P', 'V', '0', '0', '1')),
           errmsg("%s requires pg_privacy in shared_preload_libraries", feature),
           errhint("Add pg_privacy to shared_preload_libraries in postgresql.conf and restart the "
                   "server.")));
}

}  // namespace pgp

void _PG_init(void) {
  g_preloaded = process_shared_preload_libraries_in_progress;
  pgp::redact_engine_init();
  pgp::log_scrub_init();
  pgp::stats_init();
  pgp::tenancy_init();
  pgp::classify_init();
  pgp::keyring_init();
  pgp::retention_init();
  pgp::audit_init();
  pgp::provider_init();
  pgp::crypto_init();
  pgp::drop_guard_init();
  pgp::ops::ops_init();

  // Every privacy.* setting is defined above this line; the prefix is then reserved so that
  // "SET privacy.typo = ..." is an error instead of a silent placeholder.
  MarkGUCPrefixReserved("privacy");
}
