#!/usr/bin/env bash
# Column classification cost, measured with pgbench in one run, reading as an application role
# that may not see the classified column (so every value is masked):
#   raw        the same table unclassified: what reading costs with no masking at all;
#   view       the usual hand-written alternative, a masking view calling privacy.mask() in a
#              CASE on the caller's roles (which the application must remember to use);
#   classified privacy.classify('email', 'CONFIDENTIAL'): the planner masks every read.
# Two workloads: a page of 20 rows by primary key, and a scan of 20,000 emails.
# Usage: bash test/bench/classify_bench.sh [seconds per run, default 10]   (ROUNDS=3 interleaved rounds)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
SECS=${1:-10}
mkdir -p build
bash scripts/deps.sh >/dev/null
build_and_install >/dev/null
cluster_start >/dev/null
DB=postgres
W=$(mktemp -d /tmp/pg_privacy_bench.XXXXXX)
chmod 755 "$W"
psql_q -d $DB <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE TABLE people_raw (id int PRIMARY KEY, name text, email text NOT NULL);
INSERT INTO people_raw SELECT i, 'person ' || i, 'first.last' || i || '@example.com' FROM generate_series(1, 200000) i;
CREATE TABLE people_classified (LIKE people_raw INCLUDING ALL);
INSERT INTO people_classified SELECT * FROM people_raw;
CREATE VIEW people_view AS
  SELECT id, name, CASE WHEN 'hr' = ANY (coalesce(privacy.current_roles(), '{}')) THEN email
                        ELSE privacy.mask(email) END AS email
    FROM people_raw;
ANALYZE;
SELECT privacy.classify('people_classified', 'email', 'CONFIDENTIAL', '{hr}');
CREATE ROLE bench_app LOGIN;
GRANT SELECT ON people_raw, people_classified, people_view TO bench_app;
SQL
for v in raw view classified; do
  t=$([ $v = view ] && echo people_view || echo "people_$v")
  printf '\\set r random(1, 199980)\nSELECT id, name, email FROM %s WHERE id BETWEEN :r AND :r + 19;\n' "$t" >"$W/page_$v.sql"
  printf '\\set r random(1, 180000)\nSELECT count(*) FROM %s WHERE id BETWEEN :r AND :r + 19999 AND email LIKE %s;\n' \
    "$t" "'%@%'" >"$W/scan_$v.sql"
done
tps() { # script
  "$PGBIN/pgbench" -n -U bench_app -c 2 -j 2 -T "$SECS" -f "$W/$1.sql" $DB 2>/dev/null |
    sed -nE 's/^tps = ([0-9.]+) .*/\1/p'
}
# The machine is shared: interleave the variants over ROUNDS rounds and keep each one's median.
ROUNDS=${ROUNDS:-3}
for ((r = 0; r < ROUNDS; r++)); do
  for w in page scan; do for v in raw view classified; do echo "$(tps ${w}_$v)" >>"$W/tps_${w}_$v"; done; done
done
median() { sort -n "$W/tps_$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for w in page scan; do
  raw=$(median ${w}_raw); view=$(median ${w}_view); cls=$(median ${w}_classified)
  echo "$w: raw $raw tps, masking view $view tps, classified $cls tps"
  awk -v r="$raw" -v v="$view" -v c="$cls" -v w="$w" \
    'BEGIN { printf "%s: classified / masking view = %.2f, classified / raw = %.2f\n", w, c / v, c / r }'
done
rm -rf "$W"
