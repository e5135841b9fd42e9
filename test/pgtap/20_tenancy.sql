-- Tenancy security suite: run as an ordinary application role, every attack fails: forged
-- settings, manipulated tenant ids (INSERT, UPDATE, DELETE, ON CONFLICT), bad tokens of every
-- kind, context lifetime (COMMIT, ROLLBACK, subtransactions; DISCARD ALL is in sql/tenancy.sql
-- because it drops pgTAP's own temporary tables), prepared statements,
-- leaky functions and a hostile search_path. Not wrapped in one transaction: it tests commits.
\set ON_ERROR_STOP 1
\set QUIET 1
\set rs_pub `cat test/fixtures/keys/rs256_test_public.pem`
\set rs_priv `cat test/fixtures/keys/rs256_test_private.pem`
\set es_pub `cat test/fixtures/keys/es256_test_public.pem`
\set es_priv `cat test/fixtures/keys/es256_test_private.pem`
\set hs_secret 'tenancy-suite-shared-secret-0123456789abcdef'

-- Setup, as superuser: a protected table with two tenants' rows, keys, an application role.
DROP SCHEMA IF EXISTS tsuite CASCADE;
CREATE SCHEMA tsuite;
CREATE TABLE tsuite.msgs (id int PRIMARY KEY, tenant_id text NOT NULL, subject text, body text);
INSERT INTO tsuite.msgs VALUES (1, 'acme', 'u1', 'acme one'), (2, 'acme', 'u2', 'acme two'),
                               (3, 'globex', 'g1', 'globex secret');
SELECT privacy.protect('tsuite.msgs');
DROP ROLE IF EXISTS tsuite_app;
CREATE ROLE tsuite_app;
GRANT USAGE ON SCHEMA tsuite TO tsuite_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tsuite.msgs TO tsuite_app;
DELETE FROM privacy.signing_keys WHERE kid LIKE 'tsuite-%';
SELECT privacy.add_signing_key('tsuite-hs', 'HS256', :'hs_secret');
SELECT privacy.add_signing_key('tsuite-rs', 'RS256', :'rs_pub');
SELECT privacy.add_signing_key('tsuite-es', 'ES256', :'es_pub');
SELECT privacy.add_signing_key('tsuite-revoked', 'HS256', :'hs_secret');
SELECT privacy.revoke_signing_key('tsuite-revoked');

-- Tokens (signed here by the superuser; the application only ever presents them).
CREATE FUNCTION pg_temp.claims(tenant text, extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('tenant_id', tenant, 'sub', 'u1', 'roles', jsonb_build_array('agent'),
                            'region', 'EU', 'exp', extract(epoch FROM now())::bigint + 600) || extra
$$;
SELECT privacy.sign_token(pg_temp.claims('acme'), 'tsuite-hs', 'HS256', :'hs_secret') AS acme \gset
SELECT privacy.sign_token(pg_temp.claims('globex', '{"sub": "g1"}'), 'tsuite-hs', 'HS256', :'hs_secret') AS globex \gset
SELECT privacy.sign_token(pg_temp.claims('acme'), 'tsuite-rs', 'RS256', :'rs_priv') AS acme_rs \gset
SELECT privacy.sign_token(pg_temp.claims('acme'), 'tsuite-es', 'ES256', :'es_priv') AS acme_es \gset
SELECT privacy.sign_token(pg_temp.claims('acme', jsonb_build_object('exp', extract(epoch FROM now())::bigint - 600)),
                          'tsuite-hs', 'HS256', :'hs_secret') AS expired \gset
SELECT privacy.sign_token(pg_temp.claims('acme', jsonb_build_object('exp', extract(epoch FROM now())::bigint - 10)),
                          'tsuite-hs', 'HS256', :'hs_secret') AS within_leeway \gset
SELECT privacy.sign_token(pg_temp.claims('acme', jsonb_build_object('nbf', extract(epoch FROM now())::bigint + 600)),
                          'tsuite-hs', 'HS256', :'hs_secret') AS not_yet \gset
SELECT privacy.sign_token(pg_temp.claims('acme', '{"aud": "other-app", "iss": "other-issuer"}'),
                          'tsuite-hs', 'HS256', :'hs_secret') AS other_aud \gset
SELECT privacy.sign_token(pg_temp.claims('acme'), 'tsuite-revoked', 'HS256', :'hs_secret') AS revoked \gset
SELECT privacy.sign_token(pg_temp.claims('acme'), 'tsuite-nokey', 'HS256', :'hs_secret') AS unknown_kid \gset
-- Algorithm confusion: an HS256 token "signed" with the RSA public key as the HMAC secret.
SELECT privacy.sign_token(pg_temp.claims('globex'), 'tsuite-rs', 'HS256', :'rs_pub') AS confused \gset
-- alg none: header {"alg":"none","kid":"tsuite-hs"}, the acme payload, an empty signature.
SELECT 'eyJhbGciOiJub25lIiwia2lkIjoidHN1aXRlLWhzIn0.' || split_part(:'acme', '.', 2) || '.' AS alg_none \gset
-- A valid acme token whose payload was swapped for globex's: the signature no longer matches.
SELECT split_part(:'acme', '.', 1) || '.' || split_part(:'globex', '.', 2) || '.' || split_part(:'acme', '.', 3) AS tampered \gset
SELECT repeat('a', 9000) AS oversized \gset

CREATE FUNCTION pg_temp.seen_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tsuite.msgs $$;
GRANT EXECUTE ON FUNCTION pg_temp.seen_count() TO tsuite_app;
CREATE FUNCTION pg_temp.rows_affected(stmt text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN EXECUTE stmt; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
SELECT plan(49);

SET ROLE tsuite_app;

-- 1. No verified context: nothing visible, every write refused (fail closed).
SELECT is(pg_temp.seen_count(), 0::bigint, 'no context: no rows visible');
SELECT throws_ok($$INSERT INTO tsuite.msgs VALUES (10, 'acme', 'u1', 'x')$$, '42501', NULL, 'no context: insert refused');
SELECT throws_ok($$INSERT INTO tsuite.msgs (id, body) VALUES (11, 'x')$$, '42501', NULL, 'no context: an insert relying on the tenant default is refused');
SELECT is(privacy.current_tenant(), NULL, 'no context: current_tenant() is NULL');

-- 2. Forged settings: every privacy.* setting the extension reads is superuser-only.
SELECT throws_ok($$SET privacy.jwt_issuer = 'evil'$$, '42501', NULL, 'SET privacy.jwt_issuer refused');
SELECT throws_ok($$SET privacy.jwt_audience = 'evil'$$, '42501', NULL, 'SET privacy.jwt_audience refused');
SELECT throws_ok($$SELECT set_config('privacy.tenant_claim', 'sub', false)$$, '42501', NULL, 'set_config(privacy.tenant_claim) refused');
SELECT throws_ok($$SELECT set_config('privacy.jwt_leeway', '999999', true)$$, '42501', NULL, 'set_config(privacy.jwt_leeway) refused');
SELECT throws_ok($$SET privacy.tenant = 'globex'$$, '42602', NULL, 'an invented privacy.tenant setting does not exist');
SELECT throws_ok($$SELECT privacy.set_context('globex', 'g1')$$, '42501', NULL, 'set_context is refused outside privacy_middleware');
SELECT throws_ok($$SELECT * FROM privacy.signing_keys$$, '42501', NULL, 'signing keys are not readable');

-- 3. Bad tokens: each refusal has its own SQLSTATE, and leaves no context behind.
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'tampered'), 'PV205', NULL, 'tampered payload: bad signature');
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'expired'), 'PV206', NULL, 'expired token');
SELECT lives_ok(format('SELECT privacy.authenticate(%L)', :'within_leeway'), 'expired within the clock-skew leeway is accepted');
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'not_yet'), 'PV207', NULL, 'token not yet valid (nbf)');
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'alg_none'), 'PV202', NULL, 'alg none');
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'confused'), 'PV211', NULL, 'HS256 token against an RS256 key (algorithm confusion)');
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'revoked'), 'PV204', NULL, 'revoked key');
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'unknown_kid'), 'PV203', NULL, 'unknown kid');
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'oversized'), 'PV210', NULL, 'oversized token');
SELECT throws_ok($$SELECT privacy.authenticate('not.a.token')$$, 'PV201', NULL, 'malformed token');
RESET ROLE;
SET privacy.jwt_audience = 'my-app';
SET ROLE tsuite_app;
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'other_aud'), 'PV209', NULL, 'wrong audience');
RESET ROLE;
RESET privacy.jwt_audience;
SET privacy.jwt_issuer = 'https://issuer.example';
SET ROLE tsuite_app;
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'other_aud'), 'PV208', NULL, 'wrong issuer');
RESET ROLE;
RESET privacy.jwt_issuer;
SET privacy.authenticate_session_scope = on;  -- a superuser's choice: the session-scope test below
SET ROLE tsuite_app;

-- 4. A verified tenant sees and writes only its own rows.
BEGIN;
SELECT privacy.authenticate(:'acme');
SELECT is(pg_temp.seen_count(), 2::bigint, 'acme sees its 2 rows');
SELECT is(privacy.current_subject(), 'u1', 'the subject comes from the token');
SELECT is(privacy.current_roles(), ARRAY['agent'], 'the roles come from the token');
SELECT is(privacy.current_region(), 'EU', 'the region comes from the token');
SELECT lives_ok($$INSERT INTO tsuite.msgs (id, subject, body) VALUES (20, 'u1', 'new')$$, 'insert with the default tenant');
SELECT is((SELECT tenant_id FROM tsuite.msgs WHERE id = 20), 'acme', 'the tenant column defaults from the context');
SELECT throws_ok($$INSERT INTO tsuite.msgs VALUES (21, 'globex', 'u1', 'forged')$$, '42501', NULL, 'insert into another tenant refused');
SELECT throws_ok($$UPDATE tsuite.msgs SET tenant_id = 'globex' WHERE id = 1$$, '42501', NULL, 'moving a row to another tenant refused');
SELECT is(pg_temp.rows_affected($$UPDATE tsuite.msgs SET body = 'pwned' WHERE id = 3$$), 0::bigint, 'another tenant''s row cannot be updated');
SELECT is(pg_temp.rows_affected($$DELETE FROM tsuite.msgs WHERE tenant_id = 'globex'$$), 0::bigint, 'another tenant''s rows cannot be deleted');
SELECT throws_ok($$INSERT INTO tsuite.msgs VALUES (3, 'acme', 'u1', 'x') ON CONFLICT (id) DO UPDATE SET body = 'pwned'$$,
                 '42501', NULL, 'ON CONFLICT cannot update another tenant''s row');
-- A leaky function in WHERE sees only rows that passed the policy.
CREATE TEMP TABLE seen (body text);
CREATE FUNCTION pg_temp.leak(b text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN INSERT INTO seen VALUES (b); RETURN true; END $$;
SELECT count(*) FROM tsuite.msgs WHERE pg_temp.leak(body);
SELECT is((SELECT count(*) FROM seen WHERE body LIKE 'globex%'), 0::bigint, 'a leaky function never sees another tenant''s rows');
-- A hostile search_path cannot replace the function the policies call.
CREATE FUNCTION pg_temp.current_tenant() RETURNS text LANGUAGE sql AS $$ SELECT 'globex'::text $$;
SET LOCAL search_path = pg_temp, privacy, public;
SELECT is(pg_temp.seen_count(), 3::bigint, 'a shadowing current_tenant() in search_path changes nothing');

-- Parallel query: the context lives in the leader; policies stay correct under forced parallelism.
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL force_parallel_mode = on;
-- A top-level query (CREATE TABLE AS may run in parallel; a call through a function may not).
CREATE TEMP TABLE par_count AS SELECT count(*) AS n FROM tsuite.msgs;
SELECT is((SELECT n FROM par_count), 3::bigint, 'under settings that force parallel plans the tenant still sees exactly its rows');
RESET force_parallel_mode;
COMMIT;

-- 5. Context lifetime.
SELECT is(privacy.current_tenant(), NULL, 'the context is cleared at COMMIT');
BEGIN;
SELECT privacy.authenticate(:'acme');
ROLLBACK;
SELECT is(privacy.current_tenant(), NULL, 'the context is cleared at ROLLBACK');
BEGIN;
SELECT privacy.authenticate(:'acme');
SAVEPOINT s;
SELECT privacy.authenticate(:'globex');
ROLLBACK TO s;
SELECT is(privacy.current_tenant(), NULL, 'a context set in a rolled-back subtransaction is dropped');
ROLLBACK;
BEGIN;
SELECT privacy.authenticate(:'acme');
SELECT throws_ok(format('SELECT privacy.authenticate(%L)', :'expired'), 'PV206');
SELECT is(privacy.current_tenant(), NULL, 'a failed authenticate clears the previous context');
ROLLBACK;
SELECT privacy.authenticate(:'acme', 'session');
BEGIN; COMMIT;
SELECT is(privacy.current_tenant(), 'acme', 'a session context survives COMMIT');
SELECT privacy.logout();
SELECT is(privacy.current_tenant(), NULL, 'logout() clears it');

-- RS256 and ES256 tokens work the same way.
BEGIN;
SELECT is(privacy.authenticate(:'acme_rs'), 'acme', 'RS256 token accepted');
SELECT is(privacy.authenticate(:'acme_es'), 'acme', 'ES256 token accepted');
ROLLBACK;

-- 6. A prepared statement (generic plan) follows the context at each execution.
SET plan_cache_mode = force_generic_plan;
PREPARE q AS SELECT count(*) AS n FROM tsuite.msgs;
BEGIN;
SELECT privacy.authenticate(:'acme');
CREATE TEMP TABLE q_acme AS EXECUTE q;
COMMIT;
BEGIN;
SELECT privacy.authenticate(:'globex');
CREATE TEMP TABLE q_globex AS EXECUTE q;
COMMIT;
SELECT is((SELECT n FROM q_acme), 3::bigint, 'prepared statement under acme counts acme rows');
SELECT is((SELECT n FROM q_globex), 1::bigint, 'the same prepared statement under globex counts globex rows');
DEALLOCATE q;
RESET plan_cache_mode;

-- 8. Trusted middleware.
RESET ROLE;
RESET privacy.authenticate_session_scope;
CREATE ROLE tsuite_mw IN ROLE privacy_middleware;
SET ROLE tsuite_mw;
BEGIN;
SELECT privacy.set_context('globex', 'g1', ARRAY['admin'], 'US');
SELECT is(privacy.current_tenant() || '/' || privacy.current_region(), 'globex/US', 'privacy_middleware members may set the context');
COMMIT;
RESET ROLE;
DROP ROLE tsuite_mw;

SELECT * FROM finish();

-- Teardown.
RESET ROLE;
DROP SCHEMA tsuite CASCADE;
DROP OWNED BY tsuite_app;
DROP ROLE tsuite_app;
DELETE FROM privacy.signing_keys WHERE kid LIKE 'tsuite-%';
