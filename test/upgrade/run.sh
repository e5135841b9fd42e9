#!/usr/bin/env bash
# Upgrade harness: for every released version older than default_version, installs it, runs
# ALTER EXTENSION pg_privacy UPDATE, and checks the result equals a fresh install (TAP output).
# Needs PGHOST/PGPORT/PGUSER of a running server where pg_privacy is installed.
set -uo pipefail
cd "$(dirname "$0")/../.."
PSQL=(/usr/lib/postgresql/15/bin/psql -X -q -v ON_ERROR_STOP=1)
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" control/pg_privacy.control)
versions=$(ls control/ | sed -n 's/^pg_privacy--\([0-9.]*\)\.sql$/\1/p' | sort -V)
older=$(echo "$versions" | grep -vx "$current" || true)
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

fresh_db() {
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
}

fresh_db pgp_upgrade_fresh
if "${PSQL[@]}" -d pgp_upgrade_fresh -c "CREATE EXTENSION pg_privacy" >"$out/fresh.log" 2>&1; then
  ok "fresh install of $current"
else
  not_ok "fresh install of $current"; sed 's/^/# /' "$out/fresh.log"
fi
"${PSQL[@]}" -d pgp_upgrade_fresh -f test/upgrade/describe.sql >"$out/fresh.txt"
if [ -s "$out/fresh.txt" ]; then ok "description of $current is not empty"; else not_ok "description of $current is empty"; fi

for v in $older; do
  fresh_db pgp_upgrade_path
  if "${PSQL[@]}" -d pgp_upgrade_path -c "CREATE EXTENSION pg_privacy VERSION '$v'" \
       -c "ALTER EXTENSION pg_privacy UPDATE" >"$out/update.log" 2>&1; then
    ok "install $v then ALTER EXTENSION UPDATE to $current"
  else
    not_ok "install $v then ALTER EXTENSION UPDATE to $current"; sed 's/^/# /' "$out/update.log"
    continue
  fi
  got=$("${PSQL[@]}" -d pgp_upgrade_path -At -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy'")
  if [ "$got" = "$current" ]; then ok "$v updates to $current"; else not_ok "$v updated to '$got', not $current"; fi
  "${PSQL[@]}" -d pgp_upgrade_path -f test/upgrade/describe.sql >"$out/updated.txt"
  if diff -u "$out/fresh.txt" "$out/updated.txt" >"$out/diff.txt"; then
    ok "$v updated to $current equals a fresh install (objects, grants, config tables)"
  else
    not_ok "$v updated to $current differs from a fresh install"; sed 's/^/# /' "$out/diff.txt" | head -60
  fi
done
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS pgp_upgrade_fresh" -c "DROP DATABASE IF EXISTS pgp_upgrade_path" >/dev/null
echo "1..$n"
exit $failed
