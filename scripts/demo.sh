#!/usr/bin/env bash
# The pg_privacy demo: installs what is missing, builds and installs the extension, starts a
# throwaway cluster, loads sample conversations and walks through every capability.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p build

log "dependencies"
bash scripts/deps.sh
build_and_install
log "throwaway cluster"
cluster_start

psql_q -d postgres -c "CREATE DATABASE pgp_demo"
psql_q -d pgp_demo -c "CREATE EXTENSION pg_privacy" -f demo/schema.sql -f demo/load.sql
for part in foundation redaction tenancy audit retention provider crypto; do
  [ -f "demo/$part.sql" ] || continue
  log "capability: $part"
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d pgp_demo -P pager=off -f "demo/$part.sql"
done
log "demo finished; the cluster is stopped and removed"
