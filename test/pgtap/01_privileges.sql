-- The least-privilege surface: what PUBLIC may execute is exactly the application surface of
-- src/sql/0.4.0/95_privileges.sql; SECURITY DEFINER and SQL-language routines pin search_path;
-- docs/privileges.md is what the catalog says (regenerate it: bash scripts/privileges_doc.sh).
-- Runs right after 00_foundation, on the fresh install of the test database.
\set QUIET 1
\set doc `cat docs/privileges.md`
BEGIN;
\i test/tools/privileges.sql
SELECT plan(6);

SELECT is(rtrim(:'doc', E'\n'), rtrim(pg_temp.privileges_markdown(), E'\n'),
          'docs/privileges.md matches the catalog (bash scripts/privileges_doc.sh regenerates it)');

CREATE ROLE pgp_priv_nobody NOLOGIN;
SELECT set_eq(
  $$SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'privacy'::regnamespace AND has_function_privilege('pgp_priv_nobody', p.oid, 'EXECUTE')$$,
  ARRAY['privacy.version()', 'privacy.preloaded()', 'privacy.detect(text)', 'privacy.redact(text)',
        'privacy.redact(text,text[])', 'privacy.mask(text)', 'privacy.contains_pii(text)',
        'privacy.redact_jsonb(jsonb)', 'privacy.sanitize_csv(text)', 'privacy.detectors()',
        'privacy.finding_stats()', 'privacy.redact_trigger()', 'privacy.encrypt_trigger()',
        'privacy.authenticate(text,text)', 'privacy.logout()', 'privacy.current_tenant()',
        'privacy.current_subject()', 'privacy.current_roles()', 'privacy.current_region()',
        'privacy._masked(anyelement,text,text[])', 'privacy._masked_row(anyelement,oid)',
        'privacy.encrypt(text)', 'privacy.encrypt(text,text)', 'privacy.decrypt(bytea)',
        'privacy.decrypt_bytea(bytea)', 'privacy.pseudonymize(text,text)',
        'privacy.provider_call(text,jsonb)', 'privacy.provider_call_many(text,jsonb[])'],
  'a role with no grants may execute the application surface and nothing else');

SELECT is_empty(
  $$SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'privacy'::regnamespace AND p.proname LIKE '\_%'
       AND p.proname NOT IN ('_masked', '_masked_row')
       AND has_function_privilege('pgp_priv_nobody', p.oid, 'EXECUTE')$$,
  'no internal (_-prefixed) routine is executable by PUBLIC but the two the planner inserts');

SELECT is_empty(
  $$SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'privacy'::regnamespace AND p.prosecdef
       AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c = 'search_path=pg_catalog, pg_temp')$$,
  'every SECURITY DEFINER routine pins search_path to pg_catalog, pg_temp');

SELECT is_empty(
  $$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.pronamespace = 'privacy'::regnamespace AND l.lanname <> 'c'
       AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c = 'search_path=pg_catalog, pg_temp')$$,
  'every SQL and PL/pgSQL routine pins search_path');

SELECT is_empty(
  $$SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.pronamespace = 'privacy'::regnamespace AND l.lanname = 'c' AND p.prosecdef$$,
  'no C function is SECURITY DEFINER (those that act as another role switch through as_role())');

SELECT * FROM finish();
ROLLBACK;
