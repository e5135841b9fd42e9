#!/usr/bin/env bash
# Retention purge against the statement a user would otherwise write, in one run: the same
# table twice (EXPIRED expired rows among TOTAL), one purged by CALL privacy.purge() in batches,
# the other by a single "DELETE ... WHERE created_at < now() - keep". During each, a pgbench
# writer updates random rows of the table (expired ones too, as an application touching old
# conversations does). Reported: rows deleted per second, and the writer's p99 and longest
# latency while the purge ran (the lock waits the purge causes).
# Usage: bash test/bench/retention_bench.sh [TOTAL rows, default 1000000] [EXPIRED rows, default 100000]
#   WINDOW=seconds the writer runs around each purge (default 30); CLIENTS=writer clients (default 2);
#   BATCH=purge batch_size (default 5000). PGBIN may point at another PostgreSQL installation.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
TOTAL=${1:-1000000}
EXPIRED=${2:-100000}
WINDOW=${WINDOW:-30}
CLIENTS=${CLIENTS:-2}
BATCH=${BATCH:-5000}
mkdir -p build
bash scripts/deps.sh >/dev/null
build_and_install >/dev/null
cluster_start >/dev/null
DB=postgres
W=$(mktemp -d /tmp/pg_privacy_bench.XXXXXX)
chmod 777 "$W"

psql_q -d $DB -v total="$TOTAL" -v expired="$EXPIRED" -v batch="$BATCH" <<'SQL'
CREATE EXTENSION pg_privacy;
INSERT INTO privacy.region_retention VALUES ('EU', '30 days');
INSERT INTO privacy.tenants (tenant_id, region) SELECT 't' || i, 'EU' FROM generate_series(0, 9) i;
-- Oldest rows first in the heap, as a table filled over time has them; 10 tenants.
CREATE TABLE msgs_batched (id bigint PRIMARY KEY, tenant_id text NOT NULL, body text NOT NULL,
                           created_at timestamptz NOT NULL);
INSERT INTO msgs_batched
SELECT i, 't' || (i % 10), 'message body ' || i,
       CASE WHEN i <= :expired THEN now() - interval '60 days' + i * (interval '29 days' / :expired)
            ELSE now() - interval '29 days' + (i - :expired) * (interval '29 days' / (:total - :expired)) END
  FROM generate_series(1, :total) i;
CREATE TABLE msgs_single (LIKE msgs_batched INCLUDING ALL);
INSERT INTO msgs_single SELECT * FROM msgs_batched;
CREATE INDEX ON msgs_batched (tenant_id, created_at);
CREATE INDEX ON msgs_single (tenant_id, created_at);
CREATE INDEX ON msgs_batched (created_at);
CREATE INDEX ON msgs_single (created_at);
VACUUM ANALYZE;
SELECT privacy.set_retention('msgs_batched', 'created_at', '30 days', 'tenant_id', batch_size => :batch);
SQL

# run VARIANT TABLE SQL: the writer runs WINDOW seconds; the purge starts after 2 s. Prints
# "rows seconds p99_ms max_ms writer_tps" for the purge's time span.
run() {
  local name=$1 table=$2 sql=$3
  printf '\\set id random(1, %s)\nUPDATE %s SET body = body WHERE id = :id;\n' "$TOTAL" "$table" >"$W/writer_$name.sql"
  psql_q -d $DB -c "CHECKPOINT"
  (cd "$W" && "$PGBIN/pgbench" -n -c "$CLIENTS" -j "$CLIENTS" -T "$WINDOW" -l --log-prefix="log_$name" \
     -f "writer_$name.sql" $DB >"$W/pgbench_$name.out" 2>&1) &
  local bench=$!
  sleep 2
  local before t0 t1 after
  before=$(psql_q -At -d $DB -c "SELECT count(*) FROM $table")
  t0=$(date +%s.%N)
  psql_q -d $DB -c "$sql"
  t1=$(date +%s.%N)
  after=$(psql_q -At -d $DB -c "SELECT count(*) FROM $table")
  wait $bench
  # pgbench -l: client tx latency_us script epoch_s epoch_us (the time the transaction ended).
  cat "$W"/log_"$name".* | awk -v t0="$t0" -v t1="$t1" '{ end = $5 + $6 / 1e6; if (end >= t0 && end - $3 / 1e6 <= t1) print $3 / 1000 }' |
    sort -n >"$W/lat_$name"
  local n p99 max
  n=$(wc -l <"$W/lat_$name")
  p99=$(awk -v n="$n" 'NR == int(n * 0.99 + 0.999) { print; exit }' "$W/lat_$name")
  max=$(tail -1 "$W/lat_$name")
  echo "$((before - after)) $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') ${p99:-0} ${max:-0} $n"
}

read -r b_rows b_secs b_p99 b_max b_n < <(run batched msgs_batched "CALL privacy.purge('msgs_batched')")
read -r s_rows s_secs s_p99 s_max s_n < <(run single msgs_single "DELETE FROM msgs_single WHERE created_at < now() - interval '30 days'")

echo "table: $TOTAL rows, $EXPIRED expired; writer: $CLIENTS clients updating random rows; purge batch_size $BATCH"
awk -v r="$b_rows" -v s="$b_secs" -v p="$b_p99" -v m="$b_max" -v n="$b_n" 'BEGIN {
  printf "batched CALL privacy.purge(): %d rows in %.2f s = %.0f rows/s; writer during purge: %d tx, p99 %.2f ms, max %.1f ms\n", r, s, r / s, n, p, m }'
awk -v r="$s_rows" -v s="$s_secs" -v p="$s_p99" -v m="$s_max" -v n="$s_n" 'BEGIN {
  printf "single DELETE ... WHERE:      %d rows in %.2f s = %.0f rows/s; writer during purge: %d tx, p99 %.2f ms, max %.1f ms\n", r, s, r / s, n, p, m }'
awk -v bs="$b_secs" -v ss="$s_secs" -v bm="$b_max" -v sm="$s_max" 'BEGIN {
  printf "ratio: batched takes %.1fx the time of the single DELETE; the longest writer wait is %.1fx shorter\n", bs / ss, sm / bm }'
rm -rf "$W"
