#!/usr/bin/env bash
# SQL benchmark of redaction: MB/s of SELECT privacy.redact(body) over 100k generated messages,
# against the same redaction written as a chain of regexp_replace calls (the DBA's baseline),
# both measured in the same run on a throwaway cluster. Usage: bash test/bench/sql_redact_bench.sh [rows]
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
ROWS=${1:-100000}
mkdir -p build
bash scripts/deps.sh >/dev/null
build_and_install >/dev/null
cluster_start >/dev/null
psql_q -d postgres -c "CREATE EXTENSION pg_privacy" >/dev/null
psql_q -d postgres -v rows="$ROWS" <<'SQL'
SELECT setseed(0.7) \gset
CREATE TABLE bench_messages AS
SELECT i AS id,
  CASE i % 8
    WHEN 0 THEN 'Hi, please call me back at +1 415 555 ' || lpad((i % 10000)::text, 4, '0') || ' tomorrow morning, the dashboard has been empty since Monday and I need the report for our quarterly review.'
    WHEN 1 THEN 'My card 4111 1111 1111 1111 was charged twice for order ' || i || '; can you refund the second charge? I already contacted the bank and they told me to ask you first.'
    WHEN 2 THEN 'You can reach me at user' || i || '@mail.example.com or on my mobile, whichever is easier for your team; I am available all week except Thursday afternoon.'
    WHEN 3 THEN 'The job fails with postgresql://app:' || md5(i::text) || '@db.internal:5432/prod and a timeout after thirty seconds; it started after the last deploy on Friday.'
    WHEN 4 THEN 'Our server 10.0.' || (i % 250) || '.' || (i % 200) || ' times out when the assistant calls the export endpoint; the logs show a 504 from the gateway every few minutes.'
    ELSE 'Why does the assistant answer in the wrong language when I ask about last month''s invoices? It used to answer in English, and the settings page still says English is the default.'
  END AS body
FROM generate_series(1, :rows) AS i;
ANALYZE bench_messages;

CREATE FUNCTION pg_temp.best_ms(q text, reps int DEFAULT 3) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best float8 := 'Infinity'; ms float8;
BEGIN
  FOR r IN 1..reps LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
    best := least(best, ms);
  END LOOP;
  RETURN best;
END $$;

-- The baseline a DBA would write by hand: one regexp_replace per entity type the engine knows
-- (18 types; no validators, so it is also less accurate than the engine).
CREATE FUNCTION pg_temp.regex_chain(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
       regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
       regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(t,
  '-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----', '[PRIVATE_KEY_REDACTED]', 'g'),
  '\msk-ant-[A-Za-z0-9_-]{20,}', '[ANTHROPIC_API_KEY_REDACTED]', 'g'),
  '\msk-(?:proj-)?[A-Za-z0-9_-]{20,}', '[OPENAI_API_KEY_REDACTED]', 'g'),
  '\m(?:AKIA|ASIA)[A-Z0-9]{16}\M', '[AWS_ACCESS_KEY_REDACTED]', 'g'),
  '\m(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})', '[GITHUB_TOKEN_REDACTED]', 'g'),
  '\mxox[baprs]-[A-Za-z0-9-]{10,}', '[SLACK_TOKEN_REDACTED]', 'g'),
  '\m(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}', '[STRIPE_KEY_REDACTED]', 'g'),
  '\mAIza[0-9A-Za-z_-]{35}', '[GOOGLE_API_KEY_REDACTED]', 'g'),
  '\meyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*', '[JWT_REDACTED]', 'g'),
  '(Authorization:\s*Bearer\s+)[A-Za-z0-9._~+/-]+=*', '\1[BEARER_TOKEN_REDACTED]', 'gi'),
  '((?:api_?key|token|secret|access_key|client_secret)["'']?\s*[:=]\s*["'']?)[A-Za-z0-9_/+=-]{16,}', '\1[GENERIC_SECRET_REDACTED]', 'gi'),
  '((?:password|passwd|pwd)["'']?\s*[:=]\s*["'']?)[^\s"'']+', '\1[PASSWORD_REDACTED]', 'gi'),
  '(://[^:/@\s]+:)[^@\s]+@', '\1[PASSWORD_REDACTED]@', 'g'),
  '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}', '[EMAIL_REDACTED]', 'g'),
  '\m[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\M', '[IBAN_REDACTED]', 'g'),
  '\m(?:\d[ -]?){13,19}\M', '[CREDIT_CARD_REDACTED]', 'g'),
  '\m\d{3}-\d{2}-\d{4}\M', '[US_SSN_REDACTED]', 'g'),
  '\m(?:\d{1,3}\.){3}\d{1,3}\M|\m(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}\M', '[IP_ADDRESS_REDACTED]', 'g')
$$;
-- Phones: one more pass, as a DBA would add it.
CREATE FUNCTION pg_temp.regex_chain_all(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT regexp_replace(pg_temp.regex_chain(t),
    '\+?\d{1,3}[ .-]?\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}', '[PHONE_REDACTED]', 'g')
$$;

SELECT pg_size_bytes(pg_size_pretty(sum(octet_length(body)))) AS bytes,
       sum(octet_length(body)) AS total_bytes FROM bench_messages \gset
SELECT privacy.redact('warm-up ana@example.com') \gset
SELECT pg_temp.best_ms('SELECT sum(length(privacy.redact(body))) FROM bench_messages') AS engine_ms \gset
SELECT pg_temp.best_ms('SELECT sum(length(pg_temp.regex_chain_all(body))) FROM bench_messages') AS chain_ms \gset
SELECT pg_temp.best_ms('SELECT sum(length(body)) FROM bench_messages') AS scan_ms \gset
\echo rows: :rows, bytes: :total_bytes
SELECT round((:total_bytes / 1e6 / (:engine_ms / 1000.0))::numeric, 1) AS "privacy.redact MB/s",
       round((:total_bytes / 1e6 / (:chain_ms / 1000.0))::numeric, 1) AS "regexp_replace chain MB/s",
       round((:chain_ms / :engine_ms)::numeric, 1) AS "ratio (chain time / redact time)",
       round(:scan_ms::numeric, 1) AS "plain scan ms";
SQL
