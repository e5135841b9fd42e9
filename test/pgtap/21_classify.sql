-- Column classification: run as an ordinary application role, a reader whose verified roles
-- are not allowed reads masked values through every path a query can take (views, CTEs,
-- subqueries, joins, whole-row references, RETURNING, functions, prepared statements), cannot
-- probe the stored value in a WHERE clause, and cannot COPY the table out; policies and
-- upserts still see the stored values.
\set ON_ERROR_STOP 1
\set QUIET 1
\set hs_secret 'classify-suite-shared-secret-0123456789abcdef'

-- Setup, as superuser.
DROP SCHEMA IF EXISTS csuite CASCADE;
CREATE SCHEMA csuite;
CREATE TABLE csuite.people (id int PRIMARY KEY, tenant_id text NOT NULL DEFAULT 'acme', name text,
                            ssn varchar(20), salary int, notes text, team text);
INSERT INTO csuite.people VALUES
  (1, 'acme', 'Ana Silva', '123-45-6789', 5000, 'card 4111 1111 1111 1111', 'red'),
  (2, 'acme', 'Bo Berg', '987-65-4321', 6000, 'mail bo@example.com', 'blue');
CREATE TABLE csuite.events (id int, at date NOT NULL, secret text) PARTITION BY RANGE (at);
CREATE TABLE csuite.events_2026 PARTITION OF csuite.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO csuite.events VALUES (1, '2026-05-01', 'partition secret');
CREATE TABLE csuite.tenanted (id int PRIMARY KEY, tenant_id text NOT NULL, body text);
INSERT INTO csuite.tenanted VALUES (1, 'acme', 'a'), (2, 'globex', 'g');
SELECT privacy.protect('csuite.tenanted');
CREATE VIEW csuite.people_v AS SELECT id, name, ssn FROM csuite.people;
DROP ROLE IF EXISTS csuite_app;
DROP ROLE IF EXISTS csuite_owner;
CREATE ROLE csuite_app;
CREATE ROLE csuite_owner;
GRANT USAGE ON SCHEMA csuite TO csuite_app, csuite_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON csuite.people, csuite.events, csuite.events_2026, csuite.tenanted,
  csuite.people_v TO csuite_app;
GRANT SELECT ON csuite.people TO csuite_owner;
-- A SECURITY DEFINER function owned by an ordinary role: it reads as that role, masked too.
CREATE FUNCTION csuite.definer_ssn(i int) RETURNS text LANGUAGE sql SECURITY DEFINER
  SET search_path = pg_catalog AS $$ SELECT ssn FROM csuite.people WHERE id = i $$;
ALTER FUNCTION csuite.definer_ssn(int) OWNER TO csuite_owner;
-- SQL functions the planner would inline into the calling query (a set-returning body, and a
-- scalar body with a sub-select): their reads must be masked too.
CREATE FUNCTION csuite.people_rows() RETURNS SETOF csuite.people LANGUAGE sql STABLE
  AS $$ SELECT * FROM csuite.people $$;
CREATE FUNCTION csuite.scalar_ssn(i int) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT (SELECT ssn FROM csuite.people WHERE id = i) $$;
CREATE FUNCTION csuite.plpgsql_ssn(i int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN SELECT ssn INTO s FROM csuite.people WHERE id = i; RETURN s; END $$;
-- A "leaky" function: whatever it is given, it keeps (here in a temp table) for later.
CREATE TABLE csuite.leaked (v text);
GRANT INSERT, SELECT ON csuite.leaked TO csuite_app;
CREATE FUNCTION csuite.leak(v text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO csuite.leaked VALUES (v); RETURN true; END $$;

DELETE FROM privacy.signing_keys WHERE kid = 'csuite-hs';
SELECT privacy.add_signing_key('csuite-hs', 'HS256', :'hs_secret');
CREATE FUNCTION pg_temp.token(roles jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT privacy.sign_token(jsonb_build_object('tenant_id', 'acme', 'sub', 'u1', 'roles', roles,
                              'exp', extract(epoch FROM now())::bigint + 600),
                            'csuite-hs', 'HS256', 'classify-suite-shared-secret-0123456789abcdef')
$$;
SELECT pg_temp.token('["agent"]') AS agent \gset
SELECT pg_temp.token('["hr"]') AS hr \gset

SELECT plan(44);

-- 1. The SQL surface: who may classify, and bad arguments.
SELECT throws_ok($$SELECT privacy.classify('csuite.people', 'ssn', 'SECRET')$$, '22023', NULL, 'unknown level refused');
SELECT throws_ok($$SELECT privacy.classify('csuite.people', 'ssn', 'RESTRICTED', '{hr,NULL}')$$, '22023', NULL, 'NULL in allowed_roles refused');
SELECT throws_ok($$SELECT privacy.classify('csuite.people_v', 'ssn', 'RESTRICTED')$$, '42809', NULL, 'a view cannot be classified');
SELECT throws_ok($$SELECT privacy.classify('csuite.people', 'nope', 'RESTRICTED')$$, '42703', NULL, 'unknown column refused');
SELECT privacy.classify('csuite.people', 'ssn', 'confidential', '{hr}');
SELECT privacy.classify('csuite.people', 'salary', 'RESTRICTED', '{hr}');
SELECT privacy.classify('csuite.people', 'notes', 'RESTRICTED', '{hr,legal}');
SELECT privacy.classify('csuite.people', 'name', 'INTERNAL');
SELECT privacy.classify('csuite.people', 'team', 'PUBLIC');
SELECT privacy.classify('csuite.events', 'secret', 'RESTRICTED', '{hr}');
SELECT privacy.classify('csuite.tenanted', 'tenant_id', 'RESTRICTED', '{hr}');
SELECT is((SELECT count(*) FROM privacy.classified WHERE table_name = 'csuite.events_2026'::regclass), 1::bigint,
          'classifying a partitioned table classifies its partitions');
SELECT is((SELECT level FROM privacy.classified WHERE table_name = 'csuite.people'::regclass AND column_name = 'ssn'),
          'CONFIDENTIAL', 'the level is stored upper-case');

PREPARE ssn_of(int) AS SELECT ssn FROM csuite.people WHERE id = $1;
SET ROLE csuite_app;
SELECT throws_ok($$SELECT privacy.classify('csuite.people', 'name', 'PUBLIC')$$, '42501', NULL, 'the application cannot change a classification');
SELECT throws_ok($$DELETE FROM privacy.classified_columns$$, '42501', NULL, 'the application cannot touch the classification table');

-- 2. No verified context: every classified column reads masked.
SELECT results_eq($$SELECT id, ssn::text, salary, notes, team FROM csuite.people ORDER BY id$$,
  $$VALUES (1, '***-**-6789', NULL::int, '****', 'red'), (2, '***********', NULL, '****', 'blue')$$,
  'CONFIDENTIAL keeps what mask() keeps, RESTRICTED text is ****, other types read NULL, PUBLIC is untouched');
SELECT is((SELECT name FROM csuite.people WHERE id = 1), '*** *****', 'INTERNAL without a context is masked');
SELECT is((SELECT count(*) FROM csuite.people WHERE ssn = '123-45-6789'), 0::bigint, 'a WHERE clause cannot probe the stored value');
SELECT is((SELECT count(*) FROM csuite.people WHERE ssn LIKE '123%'), 0::bigint, 'nor can a LIKE prefix probe');
SELECT is((SELECT ssn::text FROM csuite.people_v WHERE id = 1), '***-**-6789', 'a view over the table reads masked');
SELECT is((WITH x AS (SELECT id, ssn FROM csuite.people) SELECT string_agg(ssn, ',' ORDER BY id) FROM x),
          '***-**-6789,***********', 'a CTE reads masked');
SELECT is((SELECT (SELECT ssn FROM csuite.people p WHERE p.id = o.id)::text FROM csuite.people o WHERE o.id = 1),
          '***-**-6789', 'a correlated subquery reads masked');
SELECT is((SELECT a.ssn::text FROM csuite.people a JOIN csuite.people b USING (ssn) WHERE a.id = 1),
          '***-**-6789', 'a JOIN ... USING on the column reads masked');
SELECT is((SELECT row_to_json(p)->>'notes' FROM csuite.people p WHERE id = 1), '****', 'a whole-row reference reads masked');
SELECT is((SELECT p::text FROM csuite.people p WHERE id = 2), '(2,acme,"** ****",***********,,****,blue)',
          'a row value reads masked');
SELECT is((SELECT ssn::text FROM csuite.people WHERE id = 1 UNION ALL SELECT 'x' LIMIT 1), '***-**-6789', 'a UNION reads masked');
SELECT is(csuite.plpgsql_ssn(1), '***-**-6789', 'a PL/pgSQL function reads masked');
SELECT is((SELECT ssn::text FROM csuite.people_rows() WHERE id = 1), '***-**-6789',
          'an inlinable SQL set-returning function reads masked');
SELECT is(csuite.scalar_ssn(1), '***-**-6789', 'an inlinable scalar SQL function with a sub-select reads masked');
SELECT is(csuite.definer_ssn(1), '***-**-6789', 'a SECURITY DEFINER function owned by an ordinary role reads masked');
SELECT is((SELECT count(*) FROM csuite.people WHERE csuite.leak(ssn::text)), 2::bigint, 'a leaky function in WHERE runs ...');
SELECT is((SELECT count(*) FROM csuite.leaked WHERE v LIKE '%45%'), 0::bigint, '... but is only ever given masked values');
SELECT is((SELECT secret FROM csuite.events_2026), '****', 'a partition queried directly reads masked');
SELECT is((SELECT secret FROM csuite.events), '****', 'the partitioned parent reads masked');
-- COPY cannot run inside throws_ok (PL/pgSQL): run it from psql and read the SQLSTATE it left.
\set ON_ERROR_STOP 0
COPY csuite.people TO STDOUT;
\set ON_ERROR_STOP 1
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '42501', 'COPY TO of a classified table is refused');
SELECT is((SELECT ssn::text FROM csuite.people WHERE id = 1 FOR UPDATE), '***-**-6789', 'SELECT ... FOR UPDATE reads masked');
SELECT results_eq($$EXECUTE ssn_of(1)$$, $$VALUES ('***-**-6789'::varchar)$$, 'a prepared statement reads masked');

-- 3. Writes: what the application writes is stored; what it reads back is masked.
BEGIN;
UPDATE csuite.people SET notes = ssn WHERE id = 1 RETURNING notes AS returned \gset
SELECT is(:'returned'::text, '****', 'RETURNING reads masked');
RESET ROLE;
SELECT is((SELECT notes FROM csuite.people WHERE id = 1), '***-**-6789',
          'copying a classified column into another column copies the masked value (no leak)');
ROLLBACK;
SET ROLE csuite_app;
INSERT INTO csuite.people (id, name, ssn) VALUES (1, 'x', '111-22-3333')
  ON CONFLICT (id) DO UPDATE SET ssn = EXCLUDED.ssn;
RESET ROLE;
SELECT is((SELECT ssn::text FROM csuite.people WHERE id = 1), '111-22-3333',
          'ON CONFLICT ... SET col = EXCLUDED.col stores the value written, unmasked');
UPDATE csuite.people SET ssn = '123-45-6789' WHERE id = 1;
SET ROLE csuite_app;

-- 4. A verified context: the listed roles read stored values, others still read masked.
BEGIN;
SELECT privacy.authenticate(:'agent');
SELECT is((SELECT ssn::text FROM csuite.people WHERE id = 1), '***-**-6789', 'a verified reader without the role reads masked');
SELECT is((SELECT name FROM csuite.people WHERE id = 1), 'Ana Silva', 'INTERNAL without a role list: any verified reader');
SELECT is((SELECT body FROM csuite.tenanted), 'a', 'policies compare the stored tenant id even when it is classified');
SELECT is((SELECT tenant_id FROM csuite.tenanted), '****', '... while the reader sees it masked');
COMMIT;
BEGIN;
SELECT privacy.authenticate(:'hr');
SELECT results_eq($$SELECT ssn::text, salary, notes FROM csuite.people WHERE id = 1$$,
  $$VALUES ('123-45-6789', 5000, 'card 4111 1111 1111 1111')$$, 'an allowed role reads stored values');
SELECT is((SELECT count(*) FROM csuite.people WHERE ssn = '123-45-6789'), 1::bigint, 'and can filter on them');
SELECT results_eq($$EXECUTE ssn_of(1)$$, $$VALUES ('123-45-6789'::varchar)$$,
  'a cached plan follows the context (decided per row at execution)');
COMMIT;
SELECT results_eq($$EXECUTE ssn_of(1)$$, $$VALUES ('***-**-6789'::varchar)$$, 'and masks again once the context is gone');

-- 5. Changes to the classification reach cached plans; renames are refused.
RESET ROLE;
SELECT throws_ok($$ALTER TABLE csuite.people RENAME COLUMN ssn TO social$$, 'PV215', NULL,
                 'a classified column cannot be renamed');
SELECT privacy.unclassify('csuite.people', 'ssn');
SET ROLE csuite_app;
SELECT results_eq($$EXECUTE ssn_of(1)$$, $$VALUES ('123-45-6789'::varchar)$$, 'unclassify replans cached statements');
RESET ROLE;
SELECT results_eq($$SELECT salary FROM csuite.people WHERE id = 1$$, $$VALUES (5000)$$, 'a superuser reads stored values');

SELECT * FROM finish();
RESET ROLE;
DROP SCHEMA csuite CASCADE;
DELETE FROM privacy.classified_columns;
DELETE FROM privacy.signing_keys WHERE kid = 'csuite-hs';
DROP ROLE csuite_app;
DROP ROLE csuite_owner;
