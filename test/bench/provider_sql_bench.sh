#!/usr/bin/env bash
# The SQL provider call against the loopback fixture, in one run:
# 1. Added latency of privacy.provider_call (context, opt-in and region look-ups, rate-limit
#    charge, redaction, translation, libcurl, parsing, jsonb) over a direct curl request posting
#    the same (already redacted) body with the same headers to the same fixture, both on a
#    reused keep-alive connection, fixture answering at once; p50 and p90 of N calls each.
# 2. privacy.provider_call_many of 100 requests against a fixture answering in 50 ms, at
#    privacy.provider_max_concurrency 16, 32 and 100 (median of 5 runs).
# Usage: bash test/bench/provider_sql_bench.sh [calls, default 2000]
# Not part of CI. Wrap it in `flock /tmp/pgp-install.lock` on a shared machine (it installs).
# PGP_BENCH_SKIP_INSTALL=1 PGP_PGBIN=DIR uses an installation made elsewhere.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
N=${1:-2000}
PGBIN=${PGP_PGBIN:-$PGBIN}
mkdir -p build
if [ -z "${PGP_BENCH_SKIP_INSTALL:-}" ]; then
  bash scripts/deps.sh >/dev/null
  build_and_install >/dev/null
fi
[ -x build/core/provider_fixture ] || cmake --build build/core -j"$JOBS" --target provider_fixture >/dev/null
cluster_start >/dev/null
fixture_start >/dev/null
FAST_URL=$PGP_FIXTURE_URL
FAST_PID=$FIXTURE_PID
FAST_DIR=$FIXTURE_DIR
fixture_start --delay-ms 50 >/dev/null
SLOW_URL=$PGP_FIXTURE_URL
trap 'cluster_stop; fixture_stop; FIXTURE_PID=$FAST_PID; FIXTURE_DIR=$FAST_DIR; fixture_stop' EXIT
KEY=sk-bench-0123456789abcdefghijklmnop
REQ='{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":300,"messages":[
  {"role":"system","content":"You are a support assistant. Answer briefly and politely."},
  {"role":"user","content":"Hi, my order 18832 has not arrived. You can reach me at jane.doe@example.com or +1 415 555 2671. Can you check the status and tell me when it will be delivered?"},
  {"role":"assistant","content":"Thanks, let me look that up. Could you confirm the delivery address?"},
  {"role":"user","content":"It is the one on file, the order was paid with my card ending 1111."}]}'

psql_q -d postgres -v fast="$FAST_URL" -v slow="$SLOW_URL" -v key="$KEY" >/dev/null <<'SQL'
CREATE EXTENSION pg_privacy;
SELECT privacy.register_provider('fast', 'openai', :'fast', 'gpt-4o-mini', 'EU', api_key => :'key');
SELECT privacy.register_provider('slow', 'openai', :'slow', 'gpt-4o-mini', 'EU', api_key => :'key');
INSERT INTO privacy.tenants (tenant_id, region, ai_opt_in) VALUES ('bench', 'EU', true);
INSERT INTO privacy.provider_limits VALUES ('bench', 1000000, 1000000, 1000000, 1000000);
SQL

# The body provider_call sends (recorded by the fixture), for the curl baseline.
psql_q -d postgres -v req="$REQ" >/dev/null <<'SQL'
SELECT privacy.set_context('bench', 'u1', '{}', 'EU', 'session');
SELECT privacy.provider_call('fast', :'req');
SQL
BODY=$(tail -1 "$FAST_DIR/requests.jsonl" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["body"]))')

# 1a. provider_call, timed call by call inside the server (100 warm-up calls not counted).
PC=$(psql_q -d postgres -At -v req="$REQ" -v n="$N" <<'SQL'
SELECT privacy.set_context('bench', 'u1', '{}', 'EU', 'session'), set_config('bench.req', :'req', false),
       set_config('bench.n', :'n', false) \g /dev/null
CREATE TEMP TABLE t (us float8);
DO $$
DECLARE t0 timestamptz; i int;
BEGIN
  FOR i IN 1 .. 100 + current_setting('bench.n')::int LOOP
    t0 := clock_timestamp();
    PERFORM privacy.provider_call('fast', current_setting('bench.req')::jsonb);
    IF i > 100 THEN INSERT INTO t VALUES (extract(epoch FROM clock_timestamp() - t0) * 1e6); END IF;
  END LOOP;
END $$;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us)::numeric, 1) || ' ' ||
       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY us)::numeric, 1) FROM t;
SQL
)
read -r PC50 PC90 <<<"$PC"

# 1b. direct curl: one process, N+100 transfers on one keep-alive connection; time_total each.
URLS=$(for _ in $(seq 1 $((N + 100))); do printf '%s ' "$FAST_URL/v1/chat/completions"; done)
# shellcheck disable=SC2086
CURL=$(curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -H 'Accept: application/json' -H 'Expect:' --data-binary "$BODY" -w '\nT=%{time_total}\n' $URLS |
  sed -n 's/^T=//p' | tail -n "$N" | sort -g | awk '{ v[NR] = $1 * 1e6 } END {
    printf "%.1f %.1f\n", v[int((NR - 1) * 0.5) + 1], v[int((NR - 1) * 0.9) + 1] }')
read -r CU50 CU90 <<<"$CURL"

echo "provider_call  p50 ${PC50} us  p90 ${PC90} us  ($N calls, in-server timing)"
echo "direct curl    p50 ${CU50} us  p90 ${CU90} us  ($N transfers, curl's time_total)"
awk -v a="$PC50" -v b="$CU50" 'BEGIN { printf "added latency at p50: %.1f us (target <= 1000 us); ratio %.2fx\n", a - b, a / b }'

# 2. provider_call_many: 100 requests, fixture at 50 ms.
for c in 16 32 100; do
  MS=$(psql_q -d postgres -At -v req="$REQ" -v c="$c" <<'SQL'
SELECT privacy.set_context('bench', 'u1', '{}', 'EU', 'session'), set_config('bench.req', :'req', false) \g /dev/null
SET privacy.provider_max_concurrency = :c;
CREATE TEMP TABLE w (ms float8);
DO $$
DECLARE t0 timestamptz; r jsonb[]; i int;
BEGIN
  FOR i IN 1 .. 5 LOOP
    t0 := clock_timestamp();
    r := privacy.provider_call_many('slow', array_fill(current_setting('bench.req')::jsonb, ARRAY[100]));
    INSERT INTO w VALUES (extract(epoch FROM clock_timestamp() - t0) * 1e3);
    IF (SELECT count(*) FROM unnest(r) x WHERE x ? 'content') <> 100 THEN RAISE EXCEPTION 'a request failed'; END IF;
  END LOOP;
END $$;
SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' || round(min(ms)::numeric, 1) FROM w;
SQL
)
  read -r MED BEST <<<"$MS"
  echo "provider_call_many 100 x 50 ms, concurrency $c: median ${MED} ms, best ${BEST} ms (5 runs; target <= 600 ms)"
done
