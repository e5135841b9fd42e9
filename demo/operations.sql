-- Demo, operations: what a DBA reads after the walk-through above. The roles and their grants, the
-- status at a glance, the history of every purge, seal, export and erasure that ran (with its
-- counts and how it ended), the metrics for monitoring, and a DROP EXTENSION that refuses to
-- destroy keys and the audit log (docs/operations.md).
\echo '--- the roles CREATE EXTENSION made and their grants (privacy.role_grants), applied again by one call'
SELECT role, privileges FROM privacy.create_roles() ORDER BY role;

\echo '--- status at a glance'
SELECT area, item, status, value FROM privacy.status WHERE area <> 'findings';

\echo '--- every run, how it ended, its counts (a pg_cron job''s outcome is here too)'
SELECT operation, status, role, counts FROM privacy.history ORDER BY started_at;

\echo '--- a purge cut short by statement_timeout ends cancelled, not running; the next one finishes the work'
CREATE TABLE demo.events (id bigint, created_at timestamptz NOT NULL);
CREATE INDEX ON demo.events (created_at);
SELECT privacy.set_retention('demo.events', 'created_at', '30 days', batch_size => 200);
INSERT INTO demo.events SELECT g, now() - interval '40 days' FROM generate_series(1, 200000) g;
SET statement_timeout = '300ms';
\set ON_ERROR_STOP 0
CALL privacy.purge('demo.events');
\set ON_ERROR_STOP 1
RESET statement_timeout;
SELECT operation, status, counts->>'rows_deleted' AS rows_deleted, error FROM privacy.history
 WHERE operation = 'purge' ORDER BY started_at DESC LIMIT 1;
CALL privacy.purge('demo.events');
SELECT operation, status, counts->>'rows_deleted' AS rows_deleted FROM privacy.history
 WHERE operation = 'purge' ORDER BY started_at DESC LIMIT 1;

\echo '--- the same figures for monitoring (a postgres_exporter query in docs/operations.md)'
SELECT metric, labels, value FROM privacy.metrics() WHERE metric IN ('audit_unsealed_records', 'keys', 'runs') ORDER BY metric, labels::text;

\echo '--- dropping the extension would destroy keys and the audit log: refused (PV901)'
\set ON_ERROR_STOP 0
DROP EXTENSION pg_privacy CASCADE;
\set ON_ERROR_STOP 1
SELECT count(*) AS still_installed FROM pg_extension WHERE extname = 'pg_privacy';
