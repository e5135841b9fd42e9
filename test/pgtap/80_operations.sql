-- Operations: roles and grants as code (each role can do its job and no more, the hints of the
-- errors a DBA meets), privacy.status and privacy.metrics, privacy.history's rows and counts for
-- the seal, the audit purge, an export, an erasure and a purge, privacy.progress, and that every
-- public function, procedure, view and table has a COMMENT.
\set ON_ERROR_STOP 1
\set QUIET 1

DROP SCHEMA IF EXISTS opsuite CASCADE;
CREATE SCHEMA opsuite;
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['opsuite_app', 'opsuite_officer', 'opsuite_auditor', 'opsuite_purger', 'opsuite_monitor'] LOOP
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('DROP OWNED BY %I', r);
      EXECUTE format('DROP ROLE %I', r);
    END IF;
  END LOOP;
END $$;
CREATE TABLE opsuite.msgs (id serial PRIMARY KEY, tenant_id text NOT NULL DEFAULT privacy.current_tenant(),
                           user_id text, body text, created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON opsuite.msgs (created_at);
CREATE TABLE opsuite.logs (id serial PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE INDEX ON opsuite.logs (created_at);
SELECT privacy.protect('opsuite.msgs');
SELECT privacy.set_retention('opsuite.logs', 'created_at', '1 day');
-- The counts below are this file's: registrations left by earlier files (80_attack.sql) go.
DELETE FROM privacy.subject_tables;
SELECT privacy.register_subject_table('opsuite.msgs', 'user_id');
\set secret 'opsuite-shared-secret-0123456789abcdef'
SELECT privacy.add_signing_key('opsuite', 'HS256', :'secret');
SELECT privacy.sign_token(jsonb_build_object('tenant_id', 'op_acme', 'sub', 'u1',
         'exp', extract(epoch FROM now())::bigint + 600), 'opsuite', 'HS256', :'secret') AS token \gset

SELECT plan(47);

-- The roles below authenticate once for the session (the default scope is the transaction).
SET privacy.authenticate_session_scope = on;

-- 1. Roles: one call creates them and grants what each needs; a second call changes nothing.
SELECT ok((SELECT count(*) = 5 FROM privacy.create_roles()), 'privacy.create_roles() reports the five roles');
SELECT results_eq($$SELECT role, created FROM privacy.create_roles() ORDER BY 1$$,
                  $$VALUES ('privacy_app'::name, false), ('privacy_auditor', false), ('privacy_middleware', false),
                           ('privacy_officer', false), ('privacy_purger', false)$$,
                  'called again, it creates nothing (idempotent)');
SELECT is((SELECT count(*) FROM privacy.role_grants g
            WHERE CASE g.object_type WHEN 'FUNCTION' THEN to_regprocedure(g.object) IS NULL
                                     WHEN 'PROCEDURE' THEN to_regprocedure(g.object) IS NULL
                                     WHEN 'SCHEMA' THEN to_regnamespace(g.object) IS NULL
                                     ELSE to_regclass(g.object) IS NULL END), 0::bigint,
          'every object privacy.role_grants names exists');
SELECT is((SELECT count(*) FROM privacy.role_grants g
            WHERE NOT CASE g.object_type
                        WHEN 'FUNCTION' THEN has_function_privilege(CASE g.role WHEN 'PUBLIC' THEN 'public' ELSE g.role END, g.object, 'EXECUTE')
                        WHEN 'PROCEDURE' THEN has_function_privilege(CASE g.role WHEN 'PUBLIC' THEN 'public' ELSE g.role END, g.object, 'EXECUTE')
                        WHEN 'SCHEMA' THEN has_schema_privilege(CASE g.role WHEN 'PUBLIC' THEN 'public' ELSE g.role END, g.object, g.privilege)
                        WHEN 'SEQUENCE' THEN has_sequence_privilege(CASE g.role WHEN 'PUBLIC' THEN 'public' ELSE g.role END, g.object, g.privilege)
                        ELSE has_table_privilege(CASE g.role WHEN 'PUBLIC' THEN 'public' ELSE g.role END, g.object, g.privilege) END), 0::bigint,
          'every role holds every privilege privacy.role_grants lists');
SELECT ok(pg_has_role('privacy_officer', 'privacy_app', 'MEMBER') AND pg_has_role('privacy_middleware', 'privacy_app', 'MEMBER'),
          'the officer and the middleware act in a verified context as the application does');
SELECT ok(has_table_privilege('privacy_purger', 'opsuite.logs', 'DELETE') AND NOT has_table_privilege('privacy_purger', 'opsuite.msgs', 'DELETE'),
          'the purger may delete from the tables with a retention policy, and from no other');
SELECT ok(NOT has_table_privilege('privacy_purger', 'privacy.tenant_keys', 'SELECT')
          AND NOT has_table_privilege('privacy_auditor', 'privacy.tenant_keys', 'SELECT')
          AND NOT has_table_privilege('privacy_officer', 'privacy.tenant_keys', 'SELECT')
          AND NOT has_table_privilege('privacy_app', 'privacy.tenant_keys', 'SELECT'),
          'no role may read the wrapped keys');
SELECT ok(NOT has_function_privilege('privacy_app', 'privacy.export_subject(text,text,text)', 'EXECUTE')
          AND NOT has_function_privilege('privacy_auditor', 'privacy.erase_subject(text,text)', 'EXECUTE')
          AND NOT has_function_privilege('privacy_officer', 'privacy.purge(regclass)', 'EXECUTE')
          AND NOT has_function_privilege('privacy_purger', 'privacy.rotate_master_key(text,integer)', 'EXECUTE'),
          'each role lacks the other roles'' privileges');
SELECT is((SELECT count(*) FROM privacy.role_grants g
            WHERE g.object NOT LIKE 'privacy.\_%' AND g.object_type <> 'SCHEMA'
              AND position(g.role IN coalesce(privacy._permission_hint(regexp_replace(g.object, '^privacy\.([a-z_]+).*$', '\1')), '')) = 0),
          0::bigint, 'the hint of a permission error names the role privacy.role_grants gives the object to');

CREATE ROLE opsuite_app LOGIN IN ROLE privacy_app;
CREATE ROLE opsuite_officer LOGIN IN ROLE privacy_officer;
CREATE ROLE opsuite_auditor LOGIN IN ROLE privacy_auditor;
CREATE ROLE opsuite_purger LOGIN IN ROLE privacy_purger;
CREATE ROLE opsuite_monitor LOGIN IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA opsuite TO opsuite_app;
GRANT SELECT, INSERT ON opsuite.msgs TO opsuite_app;
GRANT USAGE ON SEQUENCE opsuite.msgs_id_seq TO opsuite_app;

-- 2. The application.
SET ROLE opsuite_app;
SELECT throws_like($$INSERT INTO opsuite.msgs (tenant_id, user_id, body) VALUES ('op_acme', 'u1', 'hi')$$,
                   '%row-level security%', 'a write to a protected table without a context is refused');
RESET ROLE;
SET ROLE opsuite_app;
SELECT lives_ok(format($$SELECT privacy.authenticate(%L, 'session')$$, :'token'), 'the application authenticates with a token');
SELECT lives_ok($$INSERT INTO opsuite.msgs (user_id, body) VALUES ('u1', 'hello')$$, 'and writes its tenant''s rows');
SELECT is((SELECT privacy.decrypt(privacy.encrypt('x'))), 'x', 'encrypts and decrypts');
SELECT is(privacy.redact('mail a@example.com'), 'mail [EMAIL_REDACTED]', 'redacts');
SELECT throws_ok($$SELECT * FROM privacy.export_subject('u1')$$, '42501', NULL, 'but may not export a subject');
SELECT throws_ok($$SELECT count(*) FROM privacy.audit_log$$, '42501', NULL, 'nor read the audit log');
SELECT privacy.logout();
RESET ROLE;

-- 3. The privacy officer, in the tenant's verified context.
SET ROLE opsuite_officer;
SELECT privacy.authenticate(:'token', 'session');
SELECT ok((SELECT string_agg(c, '') FROM privacy.export_subject('u1') c) LIKE '%hello%', 'the officer exports a subject');
SELECT ok(privacy.place_hold('op_acme', 'u2', 'opsuite: a claim') > 0, 'places a legal hold');
SELECT throws_ok($$SELECT privacy.erase_subject('u2')$$, 'PV803', NULL, 'which the erasure respects');
SELECT lives_ok($$SELECT privacy.release_hold((SELECT max(id) FROM privacy.legal_holds))$$, 'releases it');
SELECT is((privacy.erase_subject('u1')->'tables'->'opsuite.msgs'->>'deleted'), '1', 'and erases');
SELECT throws_ok($$CALL privacy.purge()$$, '42501', NULL, 'but may not purge');
SELECT privacy.logout();
RESET ROLE;

-- 4. The auditor.
SELECT privacy.audit_seal() IS NOT NULL AS sealed \gset
SET ROLE opsuite_auditor;
SELECT is((SELECT ok FROM privacy.audit_verify()), true, 'the auditor verifies the chain');
SELECT ok((SELECT count(*) > 0 FROM privacy.audit_log), 'reads every audit record');
SELECT ok((SELECT count(*) >= 2 FROM privacy.history WHERE operation IN ('export_subject', 'erase_subject')),
          'reads the history');
SELECT throws_ok($$SELECT privacy.erase_subject('u1', 'op_acme')$$, '42501', NULL, 'but may not erase');
RESET ROLE;

-- 5. The purge delegate: the purge and the sealer, nothing else.
INSERT INTO opsuite.logs (created_at) SELECT now() - interval '3 days' FROM generate_series(1, 5);
SET ROLE opsuite_purger;
CALL privacy.purge('opsuite.logs');
SELECT is((SELECT count(*) FROM opsuite.logs), 0::bigint, 'the purger runs CALL privacy.purge() on a table with a policy');
SELECT ok(privacy.audit_seal() >= 0, 'and the audit sealer');
SELECT throws_ok($$SELECT * FROM privacy.tenant_keys$$, '42501', NULL, 'but reads no key');
RESET ROLE;

-- 6. The history: each operation's run, its counts, its role; the subject never named.
SELECT is((SELECT status || ' ' || (counts->>'rows_deleted') || ' ' || role FROM privacy.history
            WHERE operation = 'purge' ORDER BY started_at DESC LIMIT 1), 'done 5 opsuite_purger',
          'the purge''s run: done, its rows, who ran it');
SELECT is((SELECT (counts->>'rows')::int || ' ' || (counts->>'tables')::int FROM privacy.history
            WHERE operation = 'export_subject' ORDER BY started_at DESC LIMIT 1), '1 1', 'the export''s run counts rows and tables');
SELECT is((SELECT (counts->>'rows_deleted')::int || ' ' || (counts->>'tables')::int FROM privacy.history
            WHERE operation = 'erase_subject' AND status = 'done' ORDER BY started_at DESC LIMIT 1), '1 1',
          'the erasure''s run counts rows and tables');
SELECT ok((SELECT count(*) = 0 FROM privacy.history WHERE counts::text LIKE '%u1%' OR coalesce(error, '') LIKE '%u1%'),
          'no history row names the subject');
SELECT ok((SELECT (counts->>'records')::int > 0 FROM privacy.history WHERE operation = 'audit_seal' ORDER BY started_at DESC LIMIT 1),
          'a seal that sealed records has a run with their count');
SELECT is((SELECT count(*) FROM privacy.progress WHERE pid = pg_backend_pid()), 0::bigint,
          'nothing is in progress in this backend between statements');

-- 7. Status at a glance and metrics, for DBAs and monitoring.
SELECT set_has($$SELECT area FROM privacy.status$$,
               $$VALUES ('version'), ('worker'), ('purge'), ('seal'), ('audit'), ('keyring'), ('keys'), ('providers'),
                        ('history')$$, 'privacy.status covers every area');
SELECT is((SELECT count(*) FROM privacy.status WHERE status NOT IN ('ok', 'info', 'warning', 'error')), 0::bigint,
          'each row has a status ok, info, warning or error');
SELECT is((SELECT value FROM privacy.status WHERE area = 'version'), (SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy'),
          'the version row shows the library''s version');
SELECT is((SELECT value FROM privacy.status WHERE area = 'seal' AND item = 'unsealed backlog'),
          (SELECT count(*)::text FROM privacy.audit_queue), 'the unsealed backlog is the queue''s length');
SELECT set_has($$SELECT metric FROM privacy.metrics()$$,
               $$VALUES ('info'), ('preloaded'), ('audit_unsealed_records'), ('master_key_available'), ('keyring_dir_set'),
                        ('keys'), ('runs'), ('last_run_ok')$$, 'privacy.metrics() has the metrics a dashboard needs');
SELECT is((SELECT count(*) FROM privacy.metrics() WHERE value IS NULL OR metric IS NULL), 0::bigint, 'every metric has a value');
SET ROLE opsuite_monitor;
SELECT ok((SELECT count(*) > 0 FROM privacy.status), 'a member of pg_monitor reads privacy.status');
SELECT ok((SELECT count(*) > 0 FROM privacy.metrics()), 'and privacy.metrics()');
SELECT throws_ok($$SELECT * FROM privacy.audit_log$$, '42501', NULL, 'but not the audit log');
RESET ROLE;
SET ROLE opsuite_app;
SELECT throws_ok($$SELECT * FROM privacy.status$$, '42501', NULL, 'the application cannot read the status');
RESET ROLE;

-- 8. Every public function, procedure, view and table says what it is for.
SELECT is((SELECT string_agg(o, ', ' ORDER BY o) FROM (
             SELECT p.oid::regprocedure::text AS o FROM pg_proc p
              WHERE p.pronamespace = 'privacy'::regnamespace AND p.proname NOT LIKE '\_%'
                AND obj_description(p.oid, 'pg_proc') IS NULL
             UNION ALL
             SELECT c.oid::regclass::text FROM pg_class c
              WHERE c.relnamespace = 'privacy'::regnamespace AND c.relkind IN ('r', 'v', 'p')
                AND c.relname NOT LIKE '\_%' AND obj_description(c.oid, 'pg_class') IS NULL) x),
          NULL, 'every public function, procedure, view and table of schema privacy has a COMMENT');
SELECT ok(obj_description('privacy'::regnamespace, 'pg_namespace') IS NOT NULL, 'and so does the schema');

SELECT * FROM finish();

-- Clean up (later files run in the same database).
RESET privacy.authenticate_session_scope;
SELECT privacy.unprotect('opsuite.msgs');
DROP SCHEMA opsuite CASCADE;
DELETE FROM privacy.retention_policies;
DELETE FROM privacy.subject_tables;
DELETE FROM privacy.legal_holds;
SELECT privacy.revoke_signing_key('opsuite');
DROP OWNED BY opsuite_app, opsuite_officer, opsuite_auditor, opsuite_purger, opsuite_monitor;
DROP ROLE opsuite_app, opsuite_officer, opsuite_auditor, opsuite_purger, opsuite_monitor;
