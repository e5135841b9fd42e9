#!/usr/bin/env bash
# Regenerates docs/privileges.md (who may call what) from the catalog of a fresh install, on a
# throwaway cluster; test/pgtap/01_privileges.sql fails until the page matches the catalog.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p build
build_and_install >/dev/null
cluster_start >/dev/null
psql_q -d postgres -c "CREATE EXTENSION pg_privacy"
psql_q -d postgres -At -f test/tools/privileges.sql -c "SELECT pg_temp.privileges_markdown()" >docs/privileges.md
echo "wrote docs/privileges.md"
