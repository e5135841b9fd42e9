// _PG_init: the module's start-up, through the one registration point (registry.cpp): settings,
// hooks, callbacks, shared memory and the background worker. Works preloaded and loaded on use.
#include "pg/guard.hpp"
#include "pg/registry.hpp"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

namespace {
bool g_preloaded = false;
}

namespace pgp {
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
  pgp::registry_init(g_preloaded);
}
