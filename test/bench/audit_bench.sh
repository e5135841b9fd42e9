#!/usr/bin/env bash
# Audit cost, each configuration in the same run, on a messages table (tenant, user, time, a
# ~300-byte body):
#   none     no audit;
#   privacy  privacy.audit(): the C++ trigger queues one record per row (values 'none');
#   plpgsql  the usual hand-written alternative: a PL/pgSQL trigger writing to_jsonb(NEW) into a
#            log table;
#   pgaudit  pgaudit with pgaudit.log = 'write' (set for that variant's role only).
# Workloads: pgbench single-row inserts with synchronous_commit = on and fsync = on (commit cost
# dominates), in PGB_ROUNDS interleaved rounds; and a bulk INSERT ... SELECT of ROWS rows (the
# per-row cost shows), in ROUNDS interleaved rounds, each variant from a checkpoint and each
# round from empty tables and a sealed, vacuumed queue. The order of the variants rotates from
# round to round; medians are reported, with each round's figures and ratios. Also the bytes each
# configuration adds to the server log and to tables per row, and the sealing and verification
# rates. The same settings hold for every variant: fsync and synchronous_commit on,
# max_wal_size 8GB (no checkpoint inside a statement), autovacuum off (explicit VACUUMs between
# the timed parts instead, so that no vacuum of one variant's table runs during another's).
# Usage: bash test/bench/audit_bench.sh [seconds per pgbench run, default 10]
#        (ROUNDS=3 bulk rounds, PGB_ROUNDS=ROUNDS pgbench rounds, ROWS=1000000 rows per bulk insert)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
SECS=${1:-10}
ROUNDS=${ROUNDS:-3}
PGB_ROUNDS=${PGB_ROUNDS:-$ROUNDS}
ROWS=${ROWS:-1000000}
mkdir -p build
bash scripts/deps.sh >/dev/null
build_and_install >/dev/null
cluster_start >/dev/null
DB=postgres
LOG=$PGDATA_DIR/log/postgresql.log
# Durable commits, and pgaudit loaded (the throwaway cluster runs with fsync off by default).
psql_q -d $DB -c "ALTER SYSTEM SET shared_preload_libraries = pg_privacy, pg_cron, pgaudit" \
  -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET synchronous_commit = on" \
  -c "ALTER SYSTEM SET log_min_error_statement = error" -c "ALTER SYSTEM SET max_wal_size = '8GB'" \
  -c "ALTER SYSTEM SET autovacuum = off"
as_server_user "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$SERVER_LOG" -w restart >/dev/null
W=$(mktemp -d /tmp/pg_privacy_bench.XXXXXX)
chmod 755 "$W"
psql_q -d $DB <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE EXTENSION pgaudit;
CREATE FUNCTION body() RETURNS text LANGUAGE sql AS
  $$ SELECT rpad('Hello, I need help with my order; the assistant said it would ship on Monday. ', 300, 'x') $$;
CREATE TABLE m_none (id bigserial PRIMARY KEY, tenant_id text NOT NULL, user_id text NOT NULL,
                     created_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL);
CREATE TABLE m_privacy (LIKE m_none INCLUDING ALL);
CREATE TABLE m_plpgsql (LIKE m_none INCLUDING ALL);
CREATE TABLE m_pgaudit (LIKE m_none INCLUDING ALL);
SELECT privacy.audit('m_privacy');
CREATE TABLE plpgsql_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
                          table_name text, action text, row_data jsonb);
CREATE FUNCTION plpgsql_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO plpgsql_log (table_name, action, row_data) VALUES (TG_TABLE_NAME, TG_OP, to_jsonb(NEW));
  RETURN NULL;
END $$;
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON m_plpgsql FOR EACH ROW EXECUTE FUNCTION plpgsql_audit();
DO $$
DECLARE v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['none', 'privacy', 'plpgsql', 'pgaudit'] LOOP
    EXECUTE format('CREATE ROLE bench_%s LOGIN', v);
    EXECUTE format('GRANT INSERT, SELECT ON m_%s TO bench_%s', v, v);
    EXECUTE format('GRANT USAGE ON SEQUENCE m_none_id_seq TO bench_%s', v);  -- LIKE shares the sequence
  END LOOP;
END $$;
GRANT INSERT ON plpgsql_log TO bench_plpgsql;
GRANT USAGE ON SEQUENCE plpgsql_log_id_seq TO bench_plpgsql;
GRANT EXECUTE ON FUNCTION body() TO PUBLIC;
ALTER ROLE bench_pgaudit SET pgaudit.log = 'write';
SQL
VARIANTS="none privacy plpgsql pgaudit"
for v in $VARIANTS; do
  cat >"$W/insert_$v.sql" <<PGB
\set t random(1, 100)
INSERT INTO m_$v (tenant_id, user_id, body) VALUES ('tenant-' || :t, 'user-' || :t, body());
PGB
done
logsize() { stat -c %s "$LOG"; }
tps() { # variant; also appends "variant transactions log-bytes" to $W/pgbench_log
  local before out
  before=$(logsize)
  out=$("$PGBIN/pgbench" -n -U "bench_$1" -c 2 -j 2 -T "$SECS" -f "$W/insert_$1.sql" $DB 2>/dev/null)
  sleep 1  # the logging collector writes asynchronously
  echo "$1 $(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' <<<"$out") $(( $(logsize) - before ))" >>"$W/pgbench_log"
  sed -nE 's/^tps = ([0-9.]+) .*/\1/p' <<<"$out"
}
# The variants of round r, rotated by r: no variant always runs after the same other one.
round_order() {
  local -a vs=($VARIANTS)
  local i n=${#vs[@]}
  for ((i = 0; i < n; i++)); do printf '%s ' "${vs[(i + $1) % n]}"; done
}
echo "== pgbench single-row inserts, synchronous_commit = on, $PGB_ROUNDS interleaved rounds of ${SECS}s"
for ((r = 0; r < PGB_ROUNDS; r++)); do
  for v in $(round_order $r); do echo "$(tps $v)" >>"$W/tps_$v"; done
done
median_of() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }  # of the numbers on stdin
median() { median_of <"$W/tps_$1"; }
base=$(median none)
for v in $VARIANTS; do
  paste -d' ' "$W/tps_none" "$W/tps_$v" | awk '{ print $2 / $1 }' >"$W/ratio_$v"
  awk -v v="$v" -v t="$(median "$v")" -v b="$base" -v r="$(median_of <"$W/ratio_$v")" \
    'BEGIN { printf "%-8s %9.1f tps  %.3f of no audit  (median of the rounds'"'"' ratios to no audit: %.3f)\n", v, t, t / b, r }'
done
echo "== per round: tps, and of no audit in the same round"
for v in $VARIANTS; do
  paste -d' ' "$W/tps_$v" "$W/ratio_$v" | awk -v v="$v" '{ printf "%s%.0f (%.3f)", NR == 1 ? sprintf("%-8s ", v) : ", ", $1, $2 } END { print "" }'
done

echo "== server log bytes per single-row insert (pgbench)"
for v in $VARIANTS; do
  awk -v v="$v" '$1 == v { n += $2; b += $3 } END { printf "%-8s %7.1f B/insert\n", v, n ? b / n : 0 }' "$W/pgbench_log"
done

echo "== bulk INSERT ... SELECT of $ROWS rows, $ROUNDS interleaved rounds (medians)"
# Each round starts from empty tables and an empty queue: the previous round's records sealed
# (timed: the sealing rate) and the queue vacuumed, as a scheduled sealer and autovacuum leave it.
# Each variant starts from a checkpoint, so that no variant pays for writing out another's dirty
# buffers, and max_wal_size (set above) is large enough that no checkpoint starts inside a
# statement. Autovacuum is off (set above): a vacuum of the previous variant's table would run
# during the next one's statement.
seal_round() {
  psql_q -At -d $DB <<'SQL' >>"$W/seal"
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT privacy.audit_seal() AS sealed \gset
SELECT :sealed || ' ' || (extract(epoch FROM clock_timestamp()) - :t0);
SQL
  psql_q -d $DB -c "VACUUM privacy.audit_queue"
}
rel_bytes() { psql_q -At -d $DB -c "SELECT pg_total_relation_size('$1')"; }
psql_q -d $DB -c "TRUNCATE m_none, m_privacy, m_plpgsql, m_pgaudit, plpgsql_log" -c "SELECT privacy.audit_seal()" \
  -c "VACUUM privacy.audit_queue" >/dev/null
log_before=$(rel_bytes privacy.audit_log)
for ((r = 0; r < ROUNDS; r++)); do
  if ((r > 0)); then
    psql_q -d $DB -c "TRUNCATE m_none, m_privacy, m_plpgsql, m_pgaudit" >/dev/null
    rel_bytes plpgsql_log >>"$W/plpgsql_bytes"
    psql_q -d $DB -c "TRUNCATE plpgsql_log" >/dev/null
    seal_round
  fi
  for v in $(round_order $r); do
    psql_q -d $DB -c "CHECKPOINT"
    before=$(logsize)
    queue_before=$(rel_bytes privacy.audit_queue)
    secs=$(psql_q -At -U "bench_$v" -d $DB <<SQL
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
INSERT INTO m_$v (tenant_id, user_id, body)
  SELECT 'tenant-' || (i % 100), 'user-' || (i % 1000), body() FROM generate_series(1, $ROWS) i;
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
SQL
)
    sleep 1
    echo "$v $secs $(( $(logsize) - before ))" >>"$W/bulk"
    ((r == 0)) && [ "$v" = privacy ] && queue_added=$(( $(rel_bytes privacy.audit_queue) - queue_before ))
  done
done
rel_bytes plpgsql_log >>"$W/plpgsql_bytes"
seal_round
rate() { awk -v v="$1" '$1 == v { print $2 }' "$W/bulk" | median_of; }
for v in $VARIANTS; do
  awk -v v="$v" '$1 == v { printf "%s%.0f", sep, n / $2; sep = " " } END { print "" }' n="$ROWS" "$W/bulk" >"$W/rounds_$v"
  awk -v v="$v" -v s="$(rate "$v")" -v n="$ROWS" -v b="$(rate none)" -v p="$(rate plpgsql)" -v r="$(cat "$W/rounds_$v")" \
    'BEGIN { printf "%-8s %8.3f s  %9.0f rows/s  %.2f of no audit  %.2fx the PL/pgSQL trigger  (rounds: %s rows/s)\n", v, s, n / s, b / s, p / s, r }'
done
echo "== per round, privacy x the PL/pgSQL trigger and of no audit (same round)"
awk '$1 == "plpgsql" { p[++np] = $2 } $1 == "privacy" { q[++nq] = $2 } $1 == "none" { z[++nz] = $2 }
     END { for (i = 1; i <= nq; i++) printf "round %d: %.2fx, %.2f\n", i, p[i] / q[i], z[i] / q[i] }' "$W/bulk"
echo "== sealing, one round's records at a time"
awk '{ n += $1; t += $2; printf "%s%.0f", sep, $1 / $2; sep = ", " } END { printf " records/s (%d records in %.1f s)\n", n, t }' "$W/seal"
echo "== bytes added per row"
log_added=$(( $(rel_bytes privacy.audit_log) - log_before ))
plpgsql_added=$(awk '{ t += $1 } END { print t }' "$W/plpgsql_bytes")
for v in $VARIANTS; do
  logb=$(awk -v v="$v" '$1 == v { t += $3 } END { print t + 0 }' "$W/bulk")
  case $v in
    privacy) tab="audit_log $(awk -v b="$log_added" -v n="$((ROWS * ROUNDS))" 'BEGIN { printf "%.1f", b / n }') B/row, and $(awk -v b="$queue_added" -v n="$ROWS" 'BEGIN { printf "%.1f", b / n }') B/row in audit_queue until sealed" ;;
    plpgsql) tab="plpgsql_log $(awk -v b="$plpgsql_added" -v n="$((ROWS * ROUNDS))" 'BEGIN { printf "%.1f", b / n }') B/row" ;;
    *) tab="none" ;;
  esac
  awk -v v="$v" -v l="$logb" -v n="$((ROWS * ROUNDS))" -v t="$tab" \
    'BEGIN { printf "%-8s server log %7.1f B/row   audit tables: %s\n", v, l / n, t }'
done
echo "== does any configuration write a value to the server log or its audit table?"
printf 'server log lines holding the message body: %s\n' "$(grep -c 'the assistant said it would ship' "$LOG" || true)"
psql_q -At -d $DB -c "SELECT 'privacy audit records holding the body: ' || count(*) FROM privacy.audit_log WHERE row_values::text LIKE '%assistant said%' OR detail::text LIKE '%assistant said%'"
echo "== verification of the whole chain (after a VACUUM, as autovacuum would have run)"
psql_q -d $DB -c "VACUUM privacy.audit_log"
psql_q -At -d $DB <<'SQL'
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT checked AS checked FROM privacy.audit_verify() \gset
SELECT 'audit_verify: ' || :checked || ' records, ' ||
       round(:checked / (extract(epoch FROM clock_timestamp()) - :t0)) || ' records/s';
SQL
rm -rf "$W"
