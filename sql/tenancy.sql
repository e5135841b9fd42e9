-- The SQL surface of tenancy: signing keys, authenticate/current_*/logout, protect/unprotect,
-- the protected view, COPY into a protected table, DISCARD ALL, and their errors.
\set SHOW_CONTEXT never
\set secret 'regress-tenancy-shared-secret-0123456789abcdef'

-- Keys: refused material, unknown algorithm, revocation.
SELECT privacy.add_signing_key('reg-hs', 'HS256', :'secret');
SELECT privacy.add_signing_key('reg-short', 'HS256', 'too-short');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.add_signing_key('reg-rsa', 'RS256', 'not a pem');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.add_signing_key('reg-x', 'HS512', :'secret');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.revoke_signing_key('no-such-kid');
\echo :LAST_ERROR_SQLSTATE
SELECT kid, alg, revoked_at IS NULL AS active FROM privacy.signing_keys ORDER BY kid;

-- protect(): policies on the table and its partitions, the view, errors.
CREATE TABLE reg_conv (id int, tenant_id text NOT NULL, body text) PARTITION BY RANGE (id);
CREATE TABLE reg_conv_1 PARTITION OF reg_conv FOR VALUES FROM (0) TO (100);
CREATE TABLE reg_conv_2 PARTITION OF reg_conv FOR VALUES FROM (100) TO (200);
INSERT INTO reg_conv VALUES (1, 'acme', 'a'), (150, 'globex', 'g');
SELECT privacy.protect('reg_conv');
SELECT table_name, tenant_column, subject_column, rls_enabled, rls_forced, policies FROM privacy.protected;
SELECT tablename, policyname, permissive, cmd, qual FROM pg_policies WHERE tablename LIKE 'reg_conv%' ORDER BY 1, 2;
SELECT privacy.protect('reg_conv', 'no_such_column');
SELECT privacy.unprotect('pg_class');

-- As an application role: nothing without a context, one tenant with one.
CREATE ROLE reg_app;
GRANT SELECT, INSERT ON reg_conv, reg_conv_1, reg_conv_2 TO reg_app;
SELECT privacy.sign_token(jsonb_build_object('tenant_id', 'acme', 'sub', 'u1',
         'exp', extract(epoch FROM now())::bigint + 600), 'reg-hs', 'HS256', :'secret') AS tok \gset
SET ROLE reg_app;
SELECT count(*) FROM reg_conv;
SELECT count(*) FROM reg_conv_2;
BEGIN;
SELECT privacy.authenticate(:'tok');
SELECT id, tenant_id, body FROM reg_conv ORDER BY id;
SELECT id FROM reg_conv_2;
-- COPY FROM into a table under forced row-level security is refused as a whole by PostgreSQL,
-- so forged rows cannot slip in through COPY (applications use INSERT).
COPY reg_conv (id, tenant_id, body) FROM stdin;
2	acme	copied
3	globex	forged
\.
ROLLBACK;
BEGIN;
SELECT privacy.authenticate(:'tok');
INSERT INTO reg_conv (id, body) VALUES (4, 'inserted with the default tenant');
SELECT id, tenant_id, body FROM reg_conv ORDER BY id;
COMMIT;
SELECT privacy.current_tenant() IS NULL AS cleared_at_commit;
SELECT privacy.authenticate('not-a-token', 'forever');
RESET ROLE;

-- DISCARD ALL clears a session context (allowed by a superuser's setting; off by default).
SET privacy.authenticate_session_scope = on;
SELECT privacy.authenticate(:'tok', 'session');
SELECT privacy.current_tenant();
DISCARD ALL;
SELECT privacy.current_tenant() IS NULL AS cleared_by_discard_all;

-- unprotect() removes the policies, RLS and the default.
SELECT privacy.unprotect('reg_conv');
SELECT count(*) FROM privacy.protected;
SELECT count(*) FROM pg_policies WHERE tablename LIKE 'reg_conv%';

-- Column classification: the SQL surface (behaviour and attacks: test/pgtap/21_classify.sql).
CREATE TABLE reg_people (id int PRIMARY KEY, email text, salary int);
INSERT INTO reg_people VALUES (1, 'ana.silva@example.com', 5000);
GRANT SELECT ON reg_people TO reg_app;
SELECT privacy.classify('reg_people', 'email', 'CONFIDENTIAL', '{hr}');
SELECT privacy.classify('reg_people', 'salary', 'RESTRICTED');
SELECT privacy.classify('reg_people', 'email', 'TOP SECRET');
SELECT privacy.classify('reg_people', 'phone', 'INTERNAL');
SELECT table_name, column_name, level, allowed_roles, enforced FROM privacy.classified ORDER BY 1, 2;
SET ROLE reg_app;
SELECT * FROM reg_people;
RESET ROLE;
SELECT * FROM reg_people;
SELECT privacy.unclassify('reg_people');
SELECT count(*) FROM privacy.classified;
DROP TABLE reg_people;
DROP TABLE reg_conv;
DROP ROLE reg_app;
DELETE FROM privacy.signing_keys WHERE kid LIKE 'reg-%';
