#!/usr/bin/env bash
# Runs every test of pg_privacy on a throwaway cluster: dependencies, build, unit tests (ctest),
# install, pg_regress, pgTAP (pg_prove), the docs' SQL examples, the upgrade harness, isolation
# specs, Perl TAP tests, the Citus cluster tests and a short fuzz run. Exits non-zero on any failure;
# the last line is "N passed, N failed".
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p build

PASSED=0
FAILED=0
SUMMARY=()

# record NAME PASSED FAILED RC: adds a runner's counts; a runner that failed without reporting a
# failed test counts as one failure, so a crash or a setup error can never look green.
record() {
  local name=$1 p=$2 f=$3 rc=$4
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "$name: ran no test"; fi
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  SUMMARY+=("$(printf '%-12s %4d passed, %d failed' "$name" "$p" "$f")")
}

finish() {
  trap - EXIT
  cluster_stop
  fixture_stop
  log "summary"
  printf '%s\n' "${SUMMARY[@]}"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}

# count_tap FILE: prints "passed failed" from top-level TAP lines (ok N / not ok N); planned
# tests that never ran (a script that died half-way) count as failed.
count_tap() {
  local ok nok missing
  ok=$(grep -cE '^ok [0-9]+' "$1" || true)
  nok=$(grep -cE '^not ok [0-9]+' "$1" || true)
  missing=$(sed -nE 's/.*You planned ([0-9]+) tests? but ran ([0-9]+).*/\1 \2/p' "$1" |
    awk '{ if ($1 > $2) m += $1 - $2 } END { print m + 0 }')
  echo "$ok $((nok + missing))"
}
# count_regress FILE: pg_regress / pg_isolation_regress lines "name ... ok" / "... FAILED".
count_regress() {
  local ok nok
  ok=$(grep -cE '\.\.\. ok( |$)' "$1" || true)
  nok=$(grep -cE '\.\.\. (FAILED|failed)' "$1" || true)
  echo "$ok $nok"
}

log "dependencies"
bash scripts/deps.sh || { record deps 0 1 1; finish; }
# Every program a runner calls, checked once here: a missing one fails the run loudly instead of
# making a test skip or carry on silently (scripts/deps.sh installs each of them).
missing_tools=()
for tool in cmake ctest make g++ nm runuser od curl openssl python3 pg_prove prove clang++-14 \
            /usr/sbin/pgbouncer "$PGBIN/psql" "$PGBIN/pgbench" "$PGBIN/pg_dump" "$PGBIN/pg_restore" \
            "$PGBIN/initdb" "$PGBIN/pg_ctl"; do
  command -v "$tool" >/dev/null 2>&1 || missing_tools+=("$tool")
done
if [ ${#missing_tools[@]} -gt 0 ]; then
  echo "missing programs the tests call: ${missing_tools[*]} (scripts/deps.sh installs them)"
  record tools 0 1 1
  finish
fi

log "unit tests (GoogleTest via ctest)"
{
  cmake -S . -B build/core -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/cmake.log 2>&1 &&
    cmake --build build/core -j"$JOBS" >>build/cmake.log 2>&1
} || { tail -40 build/cmake.log; record unit 0 1 1; finish; }
(cd build/core && ctest --output-on-failure -j"$JOBS") >build/ctest.log 2>&1
rc=$?
tail -5 build/ctest.log
line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' build/ctest.log | tail -1)
total=$(sed -nE 's/.* out of ([0-9]+).*/\1/p' <<<"$line"); total=${total:-0}
nfail=$(sed -nE 's/.*, ([0-9]+) tests? failed.*/\1/p' <<<"$line"); nfail=${nfail:-0}
[ "$rc" -ne 0 ] && grep -E '\(Failed\)|\*\*\*' build/ctest.log | head -20
record unit $((total - nfail)) "$nfail" "$rc"

build_and_install || { record build 0 1 1; finish; }
log "throwaway cluster"
cluster_start || { record cluster 0 1 1; finish; }
trap finish EXIT
log "provider fixture"
fixture_start || { record fixture 0 1 1; finish; }

log "pg_regress (sql/, expected/)"
make installcheck PG_CONFIG="$PG_CONFIG" >build/regress.log 2>&1
rc=$?
grep -E '\.\.\. ' build/regress.log
[ "$rc" -ne 0 ] && [ -f regression.diffs ] && head -80 regression.diffs
read -r p f < <(count_regress build/regress.log)
record regress "$p" "$f" "$rc"

log "pgTAP (pg_prove)"
psql_q -d postgres -c "CREATE DATABASE pgp_tap" &&
  psql_q -d pgp_tap -c "CREATE EXTENSION pgtap; CREATE EXTENSION pg_privacy;"
pg_prove -v -d pgp_tap -U postgres -h "$PGHOST" -p "$PGPORT" test/pgtap/*.sql >build/pgtap.log 2>&1
rc=$?
grep -E '^(not ok|test/pgtap|Result|Files=)' build/pgtap.log
read -r p f < <(count_tap build/pgtap.log)
record pgtap "$p" "$f" "$rc"

log "docs: every SQL example of README.md and docs/*.md (test/docs/run_docs.py)"
PGBIN="$PGBIN" python3 test/docs/run_docs.py >build/docs.log 2>&1
rc=$?
grep -E '^(not ok|#)' build/docs.log | head -80
grep -cE '^ok' build/docs.log | sed 's/$/ blocks ok/'
read -r p f < <(count_tap build/docs.log)
record docs "$p" "$f" "$rc"

log "upgrade harness"
bash test/upgrade/run.sh >build/upgrade.log 2>&1
rc=$?
cat build/upgrade.log
read -r p f < <(count_tap build/upgrade.log)
record upgrade "$p" "$f" "$rc"

log "isolation specs (pg_isolation_regress)"
rm -rf build/isolation && mkdir -p build/isolation
specs=$(cd test/isolation/specs && ls *.spec | sed 's/\.spec$//')
# shellcheck disable=SC2086
"$PGXS_DIR/src/test/isolation/pg_isolation_regress" --host="$PGHOST" --port="$PGPORT" \
  --user=postgres --inputdir=test/isolation --outputdir=build/isolation \
  --dbname=pgp_isolation --load-extension=pg_privacy $specs >build/isolation.log 2>&1
rc=$?
grep -E '\.\.\. ' build/isolation.log
[ "$rc" -ne 0 ] && [ -f build/isolation/regression.diffs ] && head -80 build/isolation/regression.diffs
read -r p f < <(count_regress build/isolation.log)
record isolation "$p" "$f" "$rc"

log "Perl TAP (PostgreSQL::Test::Cluster)"
TAPDIR=$(mktemp -d /tmp/pg_privacy_tap.XXXXXX)
cp -r test/tap "$TAPDIR/t"
cp build/core/provider_fixture "$TAPDIR/"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$TAPDIR"
(cd "$TAPDIR" && as_server_user env PATH="$PGBIN:$PATH" \
  PERL5LIB="$PGXS_DIR/src/test/perl:$TAPDIR/t" \
  PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress" TESTDIR="$TAPDIR" \
  PGP_PROVIDER_FIXTURE="$TAPDIR/provider_fixture" \
  prove -v t/*.pl) >build/tap.log 2>&1
rc=$?
grep -E '^(not ok|t/|Result|Files=)' build/tap.log
if [ "$rc" -ne 0 ]; then
  grep -E '^#' build/tap.log | head -40
  cp -r "$TAPDIR/tmp_check/log" build/tap_logs 2>/dev/null
fi
read -r p f < <(count_tap build/tap.log)
record tap "$p" "$f" "$rc"
rm -rf "$TAPDIR"

log "Citus cluster (test/citus: a coordinator and two workers)"
bash test/citus/run.sh >build/citus.log 2>&1
rc=$?
if [ "$rc" -eq 3 ]; then
  grep -m1 '^citus: skipped' build/citus.log  # no Citus and no vendored tarball: docs/citus.md
  SUMMARY+=("$(printf '%-12s skipped (no Citus; see docs/citus.md)' citus)")
else
  grep -E '^(not ok|t/|Result|Files=|citus:)' build/citus.log
  [ "$rc" -ne 0 ] && grep -E '^# ' build/citus.log | tail -40
  read -r p f < <(count_tap build/citus.log)
  record citus "$p" "$f" "$rc"
fi

if ls test/fuzz/*.cpp >/dev/null 2>&1; then
  log "fuzzing (libFuzzer, short run)"
  bash test/fuzz/run.sh >build/fuzz.log 2>&1
  rc=$?
  tail -5 build/fuzz.log
  read -r p f < <(count_tap build/fuzz.log)
  record fuzz "$p" "$f" "$rc"
fi

finish
