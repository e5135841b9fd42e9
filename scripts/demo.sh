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
log "provider fixture (a loopback stand-in for a model API)"
{ cmake -S . -B build/core -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/cmake.log 2>&1 &&
    cmake --build build/core -j"$JOBS" --target provider_fixture >>build/cmake.log 2>&1; } ||
  { tail -20 build/cmake.log; exit 1; }
fixture_start
trap 'cluster_stop; fixture_stop' EXIT

psql_q -d postgres -c "CREATE DATABASE pgp_demo"
psql_q -d pgp_demo -c "CREATE EXTENSION pg_privacy" -f demo/schema.sql -f demo/load.sql
for part in foundation redaction tenancy audit retention provider crypto subject operations; do
  [ -f "demo/$part.sql" ] || continue
  log "capability: $part"
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -v fixture_url="$PGP_FIXTURE_URL" \
    -v fixture_record="$PGP_FIXTURE_RECORD" -d pgp_demo -P pager=off -f "demo/$part.sql"
done
log "demo finished; the cluster is stopped and removed"
