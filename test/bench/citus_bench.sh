#!/usr/bin/env bash
# Routing benchmark on a local Citus cluster (a coordinator and two workers, test/citus/run.sh):
# tenant-scoped reads and updates under pg_privacy's verified context, routed by its planner hook,
# against the same statements under the same context with a hand-written WHERE tenant_id = ...
# (the reference, 1.00), with plain Citus RLS (a policy on current_setting(), SET LOCAL
# propagated), and without pg_privacy at all (WHERE only). Prints tasks per statement and the
# median pgbench throughput of three interleaved rounds with the ratios. PGB_SECONDS (default 10) per run, PGB_CLIENTS (default 4).
#   PGP_PGBIN=... PGP_PORT=... bash test/bench/citus_bench.sh
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$ROOT/scripts/lib.sh"
SECONDS_PER_RUN=${PGB_SECONDS:-10}
CLIENTS=${PGB_CLIENTS:-4}

out=$(PGP_CITUS_HOLD=1 bash "$ROOT/test/citus/run.sh" 2>&1) || { echo "$out"; exit 1; }
dir=$(sed -n 's/.*source \(.*\)\/env;.*/\1/p' <<<"$out")
[ -n "$dir" ] || { echo "$out"; exit 1; }
source "$dir/env"
trap 'bash "$ROOT/test/citus/run.sh" --stop "$dir"' EXIT
PORT=${CITUS_PORTS%% *}
q() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$CITUS_SOCK" -p "$PORT" -d pgp "$@"; }

secret='citus-bench-secret-0123456789abcdef0123'
q <<SQL >/dev/null
CREATE EXTENSION pg_privacy;
CREATE ROLE app LOGIN;
GRANT USAGE ON SCHEMA public TO app;
SET citus.shard_count = 32;
CREATE TABLE msgs_ctx (tenant_id text NOT NULL, id bigint, body text, PRIMARY KEY (tenant_id, id));
CREATE TABLE msgs_rls (LIKE msgs_ctx INCLUDING ALL);
CREATE TABLE msgs_plain (LIKE msgs_ctx INCLUDING ALL);
SELECT create_distributed_table(t, 'tenant_id') FROM unnest(ARRAY['msgs_ctx', 'msgs_rls', 'msgs_plain']) t;
INSERT INTO msgs_ctx SELECT 'tenant-' || (i % 100), i, 'message ' || i FROM generate_series(1, 200000) i;
INSERT INTO msgs_rls SELECT * FROM msgs_ctx;
INSERT INTO msgs_plain SELECT * FROM msgs_ctx;
SELECT privacy.protect('msgs_ctx');
ALTER TABLE msgs_rls ENABLE ROW LEVEL SECURITY;
ALTER TABLE msgs_rls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON msgs_rls USING (tenant_id = current_setting('app.tenant', true));
GRANT SELECT, UPDATE ON msgs_ctx, msgs_rls, msgs_plain TO app;
SELECT privacy.add_signing_key('kb', 'HS256', '$secret');
ANALYZE;
SQL
token=$(q -At -c "SELECT privacy.sign_token(jsonb_build_object('tenant_id', 'tenant-7', 'sub', 'u',
  'exp', extract(epoch FROM now())::bigint + 3600), 'kb', 'HS256', '$secret')")

bench_dir=$(mktemp -d /tmp/pg_privacy_citus_bench.XXXXXX)
trap 'rm -rf "$bench_dir"; bash "$ROOT/test/citus/run.sh" --stop "$dir"' EXIT
# Each variant: one transaction of one tenant (tenant-7; ids 7, 107, ... are its rows).
ctx="SELECT privacy.authenticate('$token');"
rls="SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL app.tenant = 'tenant-7';"
declare -A setup=([ctx]=$ctx [ctx_where]=$ctx [plain]="" [rls]=$rls)
declare -A table=([ctx]=msgs_ctx [ctx_where]=msgs_ctx [plain]=msgs_plain [rls]=msgs_rls)
declare -A filter=([ctx]="" [ctx_where]="tenant_id = 'tenant-7' AND " [plain]="tenant_id = 'tenant-7' AND " [rls]="")
declare -A label=([ctx_where]="context + hand-written WHERE" [ctx]="context, routed by pg_privacy"
                  [plain]="no pg_privacy, WHERE only" [rls]="plain Citus RLS (SET LOCAL)")
statement() {  # statement KIND VARIANT
  if [ "$1" = read ]; then echo "SELECT body FROM ${table[$2]} WHERE ${filter[$2]}id = :id;"
  else echo "UPDATE ${table[$2]} SET body = body WHERE ${filter[$2]}id = :id;"; fi
}
tasks() {  # tasks KIND VARIANT: Citus tasks of the statement
  printf 'BEGIN;\n%s\nEXPLAIN (COSTS OFF) %s\nROLLBACK;\n' "${setup[$2]}" "$(statement "$1" "$2" | sed 's/:id/107/')" |
    q -U app -At | sed -n 's/.*Task Count: \([0-9]*\).*/\1/p' | head -1
}
tps() {  # tps KIND VARIANT
  printf '\\set n random(0, 1999)\n\\set id 7 + 100 * :n\nBEGIN;\n%s\n%s\nCOMMIT;\n' "${setup[$2]}" "$(statement "$1" "$2")" \
    >"$bench_dir/$1_$2.sql"
  "$PGBIN/pgbench" -n -h "$CITUS_SOCK" -p "$PORT" -U app -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" \
    -f "$bench_dir/$1_$2.sql" pgp 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
med() { tr ' ' '\n' <<<"$1" | grep . | sort -n | sed -n 2p; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

printf '%-7s %-32s %6s %10s %7s\n' kind variant tasks tps ratio
for kind in read update; do
  declare -A runs=()
  for round in 1 2 3; do  # interleaved rounds; each variant's median
    for v in ctx_where ctx rls plain; do runs[$v]+="$(tps "$kind" "$v") "; done
  done
  base=$(med "${runs[ctx_where]}")
  for v in ctx_where ctx rls plain; do
    m=$(med "${runs[$v]}")
    printf '%-7s %-32s %6s %10.1f %7s\n' "$kind" "${label[$v]}" "$(tasks "$kind" "$v")" "$m" "$(ratio "$m" "$base")"
  done
  echo "$kind: routed by pg_privacy / plain Citus RLS = $(ratio "$(med "${runs[ctx]}")" "$(med "${runs[rls]}")")"
  unset runs
done
