-- Operations: the hints of the errors a DBA meets first (a write without a verified context, a
-- row of another tenant, a missing grant, CALL privacy.purge() in a transaction), the NOTICE a
-- run ends with, and privacy.version()'s warning when the library and the SQL objects differ.
CREATE TABLE ops_msgs (id int, tenant_id text NOT NULL DEFAULT privacy.current_tenant(), body text);
SELECT privacy.protect('ops_msgs');
SELECT privacy.add_signing_key('ops', 'HS256', 'ops-regress-secret-0123456789abcdefgh');
SELECT privacy.sign_token(jsonb_build_object('tenant_id', 'acme', 'sub', 'u1',
         'exp', extract(epoch FROM now())::bigint + 600), 'ops', 'HS256', 'ops-regress-secret-0123456789abcdefgh') AS token \gset
CREATE ROLE ops_app;
GRANT SELECT, INSERT ON ops_msgs TO ops_app;
SET ROLE ops_app;
-- No verified context: the hint says what to call.
INSERT INTO ops_msgs VALUES (1, 'acme', 'x');
-- A verified context, a row of another tenant: the hint says which tenant the row must name.
BEGIN;
SELECT privacy.authenticate(:'token');
INSERT INTO ops_msgs (id, body) VALUES (2, 'mine');
INSERT INTO ops_msgs VALUES (3, 'globex', 'not mine');
ROLLBACK;
-- A missing grant: the hint names the role that holds it.
SELECT * FROM privacy.export_subject('u1');
CALL privacy.purge();
RESET ROLE;
-- A purge ends with its counts; inside a transaction block it says why it cannot run.
CREATE TABLE ops_logs (id int, created_at timestamptz NOT NULL);
CREATE INDEX ON ops_logs (created_at);
SELECT privacy.set_retention('ops_logs', 'created_at', '1 day');
INSERT INTO ops_logs SELECT g, now() - interval '2 days' FROM generate_series(1, 3) g;
CALL privacy.purge('ops_logs');
BEGIN;
CALL privacy.purge('ops_logs');
ROLLBACK;
SELECT operation, status, counts->>'rows_deleted' AS rows_deleted, role FROM privacy.history
 WHERE operation = 'purge' ORDER BY run_id DESC LIMIT 1;
-- The library and the SQL objects disagree (an update not yet applied): version() warns, and
-- privacy.status says it.
BEGIN;
UPDATE pg_extension SET extversion = '0.3.9' WHERE extname = 'pg_privacy';
SELECT privacy.version() IS NOT NULL AS version_shown;
SELECT status, detail FROM privacy.status WHERE area = 'version';
ROLLBACK;
SELECT status FROM privacy.status WHERE area = 'version';
-- Clean up.
SELECT privacy.drop_retention('ops_logs');
SELECT privacy.unprotect('ops_msgs');
DELETE FROM privacy.signing_keys WHERE kid = 'ops';
DELETE FROM privacy.purge_runs;
DELETE FROM privacy.operation_runs;
DROP TABLE ops_msgs, ops_logs;
DROP OWNED BY ops_app;
DROP ROLE ops_app;
