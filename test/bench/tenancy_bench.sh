#!/usr/bin/env bash
# Tenancy overhead, measured with pgbench in one run: a table protected by privacy.protect(),
# queried by an application role, against the same table unprotected and queried with a
# hand-written "WHERE tenant_id = $1" (the application-side baseline). Both variants verify the
# caller's token in every transaction (an application has to know its caller either way), so the
# difference is the cost of the policies themselves; authenticate() is timed on its own below.
# Also the cost of one privacy.authenticate() call for HS256, RS256 and ES256.
# Usage: bash test/bench/tenancy_bench.sh [seconds per run, default 15]   (ROUNDS=5 interleaved rounds)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
SECS=${1:-15}
mkdir -p build
bash scripts/deps.sh >/dev/null
build_and_install >/dev/null
cluster_start >/dev/null
DB=postgres
W=$(mktemp -d /tmp/pg_privacy_bench.XXXXXX)
chmod 755 "$W"
psql_q -d $DB -v rs_pub="$(cat test/fixtures/keys/rs256_test_public.pem)" \
  -v es_pub="$(cat test/fixtures/keys/es256_test_public.pem)" <<'SQL'
CREATE EXTENSION pg_privacy;
-- 100 tenants x 2,000 messages; both tables identical, one protected.
CREATE TABLE msgs_protected (id bigserial PRIMARY KEY, tenant_id text NOT NULL, body text, created_at timestamptz NOT NULL);
CREATE TABLE msgs_plain (LIKE msgs_protected INCLUDING ALL);
INSERT INTO msgs_protected (tenant_id, body, created_at)
  SELECT 't' || (i % 100), 'message ' || i, now() - (i || ' seconds')::interval FROM generate_series(1, 200000) i;
INSERT INTO msgs_plain SELECT * FROM msgs_protected;
CREATE INDEX ON msgs_protected (tenant_id, created_at DESC);
CREATE INDEX ON msgs_plain (tenant_id, created_at DESC);
ANALYZE;
SELECT privacy.protect('msgs_protected');
CREATE ROLE bench_app LOGIN;
GRANT SELECT, INSERT ON msgs_protected, msgs_plain TO bench_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO bench_app;
SELECT privacy.add_signing_key('bench-hs', 'HS256', 'benchmark-shared-secret-0123456789abcdef');
SELECT privacy.add_signing_key('bench-rs', 'RS256', :'rs_pub');
SELECT privacy.add_signing_key('bench-es', 'ES256', :'es_pub');
SQL
# One token per tenant, valid for the run, and a plain tenant list for the baseline.
psql_q -At -d $DB -c "SELECT privacy.sign_token(jsonb_build_object('tenant_id', 't' || i, 'sub', 'u' || i,
  'exp', extract(epoch FROM now())::bigint + 3600), 'bench-hs', 'HS256', 'benchmark-shared-secret-0123456789abcdef')
  FROM generate_series(0, 99) i" >"$W/tokens"
for alg in RS256 ES256; do
  key=$( [ $alg = RS256 ] && cat test/fixtures/keys/rs256_test_private.pem || cat test/fixtures/keys/es256_test_private.pem )
  kid=$( [ $alg = RS256 ] && echo bench-rs || echo bench-es )
  psql_q -At -d $DB -v key="$key" >"$W/token_$alg" <<SQL
SELECT privacy.sign_token(jsonb_build_object('tenant_id', 't1', 'sub', 'u1',
  'exp', extract(epoch FROM now())::bigint + 3600), '$kid', '$alg', :'key');
SQL
done
i=0
while read -r tok; do
  cat >"$W/rp_$i.sql" <<PGB
BEGIN;
SELECT privacy.authenticate('$tok');
SELECT id, body FROM msgs_protected ORDER BY created_at DESC LIMIT 20;
COMMIT;
PGB
  cat >"$W/rb_$i.sql" <<PGB
BEGIN;
SELECT privacy.authenticate('$tok');
SELECT id, body FROM msgs_plain WHERE tenant_id = 't$i' ORDER BY created_at DESC LIMIT 20;
COMMIT;
PGB
  cat >"$W/wp_$i.sql" <<PGB
BEGIN;
SELECT privacy.authenticate('$tok');
INSERT INTO msgs_protected (body, created_at) VALUES ('new message', now());
COMMIT;
PGB
  cat >"$W/wb_$i.sql" <<PGB
BEGIN;
SELECT privacy.authenticate('$tok');
INSERT INTO msgs_plain (tenant_id, body, created_at) VALUES ('t$i', 'new message', now());
COMMIT;
PGB
  i=$((i + 1))
  [ $i -ge 20 ] && break
done <"$W/tokens"
files() { for f in "$W"/$1_*.sql; do printf -- '-f %s ' "$f"; done; }
tps() { # script-prefix
  # shellcheck disable=SC2046
  "$PGBIN/pgbench" -n -U bench_app -c 2 -j 2 -T "$SECS" $(files "$1") $DB 2>/dev/null |
    sed -nE 's/^tps = ([0-9.]+) .*/\1/p'
}
# The machine is shared: interleave the variants over ROUNDS rounds and keep each one's median.
ROUNDS=${ROUNDS:-5}
for ((r = 0; r < ROUNDS; r++)); do
  for v in rb rp wb wp; do echo "$(tps $v)" >>"$W/tps_$v"; done
done
median() { sort -n "$W/tps_$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
tps_rb=$(median rb); tps_rp=$(median rp); tps_wb=$(median wb); tps_wp=$(median wp)
echo "read  (latest 20 of one tenant, by index): hand-written WHERE $tps_rb tps, protected $tps_rp tps"
echo "write (single-row insert):                 hand-written tenant $tps_wb tps, protected $tps_wp tps"
awk -v b="$tps_rb" -v p="$tps_rp" 'BEGIN { printf "read overhead: %.1f%%\n", (b / p - 1) * 100 }'
awk -v b="$tps_wb" -v p="$tps_wp" 'BEGIN { printf "write overhead: %.1f%%\n", (b / p - 1) * 100 }'
# authenticate() cost: N calls in one statement, per algorithm, minus an empty loop.
for alg in HS256 RS256 ES256; do
  tok=$( [ $alg = HS256 ] && head -1 "$W/tokens" || cat "$W/token_$alg" )
  psql_q -At -d $DB -v tok="$tok" -v alg=$alg <<'SQL'
SELECT :'alg' || ' authenticate(): ' || round((extract(epoch FROM clock_timestamp() - t0) * 1e6 / 20000)::numeric, 1) || ' us/call'
  FROM (SELECT clock_timestamp() AS t0) s,
       LATERAL (SELECT count(privacy.authenticate(:'tok')) FROM generate_series(1, 20000)) a;
SQL
done
rm -rf "$W"
