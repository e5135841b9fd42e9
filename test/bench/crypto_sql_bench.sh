#!/usr/bin/env bash
# Encryption through SQL, in one run on the same data: per-call microseconds on 1 KB values and
# MB/s on 1 MB values for privacy.encrypt/decrypt against pgcrypto's pgp_sym_encrypt/decrypt and
# its raw, unauthenticated encrypt/decrypt(data, key, 'aes'). Each figure is the best of ROUNDS
# timed scans (SELECT count(f(v)) FROM t). At 1 KB the same scan with no function (count(v)) is
# timed too and subtracted, so the figures are the functions' own cost. At 1 MB nothing is
# subtracted: every method reads its input out of line (TOAST), and a reference line shows what
# reading and copying the value costs without any cryptography.
# Usage: bash test/bench/crypto_sql_bench.sh   (ROWS_1K=10000 ROWS_1M=16 ROUNDS=5)
#        PGP_BENCH_NO_INSTALL=1 skips the build and install (the extension is already installed).
set -euo pipefail
# The server's 1 MB pallocs go to malloc, whose mmap threshold moves as large blocks are freed:
# page faults then depend on the order the queries ran in, and the 1 MB figures moved 10x for
# reasons that had nothing to do with the ciphers. Pinned thresholds (inherited by the server
# that cluster_start launches) make every method allocate the same way.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-33554432}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-268435456}
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
ROWS_1K=${ROWS_1K:-10000}
ROWS_1M=${ROWS_1M:-16}
ROUNDS=${ROUNDS:-5}
mkdir -p build
if [ -z "${PGP_BENCH_NO_INSTALL:-}" ]; then
  bash scripts/deps.sh >/dev/null
  build_and_install >/dev/null
fi
cluster_start >/dev/null
DB=postgres
psql_q -d $DB -v rows_1k="$ROWS_1K" -v rows_1m="$ROWS_1M" <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE EXTENSION pgcrypto;
-- The same plaintext for every method: v (text) for privacy.encrypt and pgp_sym_encrypt, vb
-- (its bytes) for the raw encrypt(). 1 KB rows are kept inline (PLAIN: a row over 2 KB would
-- otherwise move one column, and only one method's, out of line); 1 MB values are out of line
-- and uncompressed (EXTERNAL), so every method pays the same detoasting and no decompression.
CREATE TABLE b1k (v text, vb bytea);
CREATE TABLE b1m (v text, vb bytea);
ALTER TABLE b1k ALTER v SET STORAGE PLAIN, ALTER vb SET STORAGE PLAIN;
ALTER TABLE b1m ALTER v SET STORAGE EXTERNAL, ALTER vb SET STORAGE EXTERNAL;
INSERT INTO b1k SELECT s, convert_to(s, 'UTF8') FROM (
  SELECT left(string_agg(md5(i::text || '-' || j::text), ''), 1024) AS s
  FROM generate_series(1, :rows_1k) i, generate_series(1, 33) j GROUP BY i) x;
INSERT INTO b1m SELECT s, convert_to(s, 'UTF8') FROM (
  SELECT left(string_agg(md5(i::text || '-' || j::text), ''), 1048576) AS s
  FROM generate_series(1, :rows_1m) i, generate_series(1, 32768) j GROUP BY i) x;
SELECT privacy.set_context('bench', 'u', scope => 'session');
-- Ciphertexts of each method, for the decrypt runs.
CREATE TABLE c1k (pe bytea, pp bytea, pr bytea);
ALTER TABLE c1k ALTER pe SET STORAGE PLAIN, ALTER pp SET STORAGE PLAIN, ALTER pr SET STORAGE PLAIN;
INSERT INTO c1k SELECT privacy.encrypt(v) AS pe, pgp_sym_encrypt(v, 'bench passphrase') AS pp,
  encrypt(vb, '\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'::bytea, 'aes') AS pr FROM b1k;
CREATE TABLE c1m (pe bytea, pp bytea, pr bytea);
ALTER TABLE c1m ALTER pe SET STORAGE EXTERNAL, ALTER pp SET STORAGE EXTERNAL, ALTER pr SET STORAGE EXTERNAL;
INSERT INTO c1m SELECT privacy.encrypt(v) AS pe, pgp_sym_encrypt(v, 'bench passphrase') AS pp,
  encrypt(vb, '\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'::bytea, 'aes') AS pr FROM b1m;
CREATE TABLE bench_key AS SELECT '\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'::bytea AS k;
VACUUM ANALYZE b1k, b1m, c1k, c1m;
CREATE FUNCTION bench_best(q text, rounds int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best float8 := 'infinity'; el float8;
BEGIN
  EXECUTE q;  -- warm-up: caches, keys, buffers
  FOR i IN 1 .. rounds LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    el := extract(epoch FROM clock_timestamp() - t0);
    best := least(best, el);
  END LOOP;
  RETURN best;
END $$;
SQL
psql_q -d $DB -v rounds="$ROUNDS" -v rows_1k="$ROWS_1K" -v rows_1m="$ROWS_1M" -P pager=off <<'SQL'
SELECT privacy.set_context('bench', 'u', scope => 'session');
CREATE TEMP TABLE r AS
SELECT m.method, m.op, m.size,
       bench_best(m.q, :rounds) - bench_best(m.base, :rounds) AS secs
FROM (VALUES
  ('privacy (AES-256-GCM, tenant-bound)', 'encrypt', '1k', 'SELECT count(privacy.encrypt(v)) FROM b1k', 'SELECT count(v) FROM b1k'),
  ('privacy (AES-256-GCM, tenant-bound)', 'decrypt', '1k', 'SELECT count(privacy.decrypt(pe)) FROM c1k', 'SELECT count(pe) FROM c1k'),
  ('pgcrypto pgp_sym_*', 'encrypt', '1k', 'SELECT count(pgp_sym_encrypt(v, ''bench passphrase'')) FROM b1k', 'SELECT count(v) FROM b1k'),
  ('pgcrypto pgp_sym_*', 'decrypt', '1k', 'SELECT count(pgp_sym_decrypt(pp, ''bench passphrase'')) FROM c1k', 'SELECT count(pp) FROM c1k'),
  ('pgcrypto raw aes (CBC, no auth)', 'encrypt', '1k', 'SELECT count(encrypt(vb, (SELECT k FROM bench_key), ''aes'')) FROM b1k', 'SELECT count(vb) FROM b1k'),
  ('pgcrypto raw aes (CBC, no auth)', 'decrypt', '1k', 'SELECT count(decrypt(pr, (SELECT k FROM bench_key), ''aes'')) FROM c1k', 'SELECT count(pr) FROM c1k'),
  ('privacy (AES-256-GCM, tenant-bound)', 'encrypt', '1m', 'SELECT count(privacy.encrypt(v)) FROM b1m', 'SELECT 1'),
  ('privacy (AES-256-GCM, tenant-bound)', 'decrypt', '1m', 'SELECT count(privacy.decrypt(pe)) FROM c1m', 'SELECT 1'),
  ('pgcrypto pgp_sym_*', 'encrypt', '1m', 'SELECT count(pgp_sym_encrypt(v, ''bench passphrase'')) FROM b1m', 'SELECT 1'),
  ('pgcrypto pgp_sym_*', 'decrypt', '1m', 'SELECT count(pgp_sym_decrypt(pp, ''bench passphrase'')) FROM c1m', 'SELECT 1'),
  ('pgcrypto raw aes (CBC, no auth)', 'encrypt', '1m', 'SELECT count(encrypt(vb, (SELECT k FROM bench_key), ''aes'')) FROM b1m', 'SELECT 1'),
  ('pgcrypto raw aes (CBC, no auth)', 'decrypt', '1m', 'SELECT count(decrypt(pr, (SELECT k FROM bench_key), ''aes'')) FROM c1m', 'SELECT 1'),
  ('reference: read + copy, no crypto', 'encrypt', '1m', 'SELECT count(v || '''') FROM b1m', 'SELECT 1'),
  ('reference: read + copy, no crypto', 'decrypt', '1m', 'SELECT count(pe || ''''::bytea) FROM c1m', 'SELECT 1')
) AS m(method, op, size, q, base);
\echo
\echo '== 1 KB values: microseconds per call (scan subtracted); 1 MB values: MB/s (MiB per second, value read from TOAST included) =='
SELECT method, op,
       round((max(secs) FILTER (WHERE size = '1k') * 1e6 / :rows_1k)::numeric, 2) AS us_per_1kb_call,
       round((:rows_1m / max(secs) FILTER (WHERE size = '1m'))::numeric, 1) AS mb_per_s_1mb
FROM r GROUP BY method, op ORDER BY op, method;
\echo '== ratios per 1 KB call (how many times faster privacy.* is) =='
SELECT p.op,
       round((g.secs / p.secs)::numeric, 1) AS vs_pgp_sym,
       round((a.secs / p.secs)::numeric, 2) AS vs_raw_aes
FROM r p JOIN r g ON g.op = p.op AND g.size = p.size AND g.method LIKE 'pgcrypto pgp%'
         JOIN r a ON a.op = p.op AND a.size = p.size AND a.method LIKE 'pgcrypto raw%'
WHERE p.method LIKE 'privacy%' AND p.size = '1k' ORDER BY p.op;
SQL
