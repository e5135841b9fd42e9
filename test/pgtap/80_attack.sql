-- The attack suite (issue 18): every role the extension creates or the docs recommend calls every
-- privacy.* routine it may execute with hostile arguments (NULLs, wrong types through anyelement,
-- huge values, empty strings, other tables' rows, foreign relations), with a search_path that puts
-- a shadowing schema ahead of pg_catalog: operators and functions named like those the extension
-- uses, which count every call made as the extension's owner or a superuser (in a sequence, so a
-- rolled-back call still counts) and then try ALTER ROLE <attacker> SUPERUSER. Then: the server did
-- not restart, this backend survived, no role gained a privilege or a membership, and nothing ran
-- as the owner.
\set ON_ERROR_STOP 1
\set QUIET 1

DROP SCHEMA IF EXISTS atk_evil CASCADE;
DROP SCHEMA IF EXISTS atk_app CASCADE;
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['atk_nogrant', 'atk_app', 'atk_mw', 'atk_auditor', 'atk_officer', 'atk_purger'] LOOP
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('DROP OWNED BY %I', r);
      EXECUTE format('DROP ROLE %I', r);
    END IF;
  END LOOP;
END $$;

-- The roles: no grant at all, the application role of docs/tenancy.md (privacy_app), trusted
-- middleware, the auditor, the subject-rights officer and the purge delegate: each role
-- CREATE EXTENSION makes, with the grants of privacy.role_grants.
CREATE ROLE atk_nogrant;
CREATE ROLE atk_app IN ROLE privacy_app;
CREATE ROLE atk_mw IN ROLE privacy_middleware;
CREATE ROLE atk_auditor IN ROLE privacy_auditor;
CREATE ROLE atk_officer IN ROLE privacy_officer;
CREATE ROLE atk_purger IN ROLE privacy_purger;

-- The application's protected table with a classified column.
CREATE SCHEMA atk_app;
-- Audited, registered for subject rights, and with sealed audit records, so that the owner's
-- queries of the auditor's and the officer's functions have rows to evaluate their operators on.
CREATE TABLE atk_app.msgs (id int PRIMARY KEY, tenant_id text NOT NULL, user_id text, body text, ssn text);
SELECT privacy.audit('atk_app.msgs', 'redacted') \gset
INSERT INTO atk_app.msgs SELECT g, 'atk_acme', CASE WHEN g % 2 = 0 THEN 'x' ELSE 'u' || g END, 'hello ' || g,
                                '123-45-67' || lpad(g::text, 2, '0')
  FROM generate_series(1, 20) g;
SELECT privacy.protect('atk_app.msgs') \gset
SELECT privacy.classify('atk_app.msgs', 'ssn', 'RESTRICTED') \gset
SELECT privacy.register_subject_table('atk_app.msgs', 'user_id') \gset
SELECT privacy.audit_seal() \gset
GRANT USAGE ON SCHEMA atk_app TO atk_app;
GRANT SELECT, INSERT, UPDATE ON atk_app.msgs TO atk_app;

-- The shadowing schema. Its objects count their calls; a call as a superuser or as the owner of
-- schema privacy also bumps hits_as_owner (never rolled back) and tries to make the attacker a
-- superuser (the attack of issue 18, through privacy_auditor).
CREATE SCHEMA atk_evil;
GRANT USAGE ON SCHEMA atk_evil TO PUBLIC;
CREATE SEQUENCE atk_evil.hits;
CREATE SEQUENCE atk_evil.hits_as_owner;
GRANT USAGE ON SEQUENCE atk_evil.hits, atk_evil.hits_as_owner TO PUBLIC;
CREATE FUNCTION atk_evil.trap() RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  PERFORM nextval('atk_evil.hits');
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     OR current_user = (SELECT nspowner::regrole::name FROM pg_namespace WHERE nspname = 'privacy') THEN
    PERFORM nextval('atk_evil.hits_as_owner');
    BEGIN
      EXECUTE format('ALTER ROLE %I SUPERUSER', current_setting('atk.attacker', true));
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
  END IF;
END $$;
CREATE FUNCTION atk_evil.text_eq(text, text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN texteq($1, $2); END $$;
CREATE FUNCTION atk_evil.text_ne(text, text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN textne($1, $2); END $$;
CREATE FUNCTION atk_evil.text_cat(text, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN textcat($1, $2); END $$;
CREATE FUNCTION atk_evil.int8_eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN int8eq($1, $2); END $$;
CREATE FUNCTION atk_evil.int8_lt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN int8lt($1, $2); END $$;
CREATE FUNCTION atk_evil.int8_gt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN int8gt($1, $2); END $$;
CREATE FUNCTION atk_evil.int8_le(bigint, bigint) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN int8le($1, $2); END $$;
CREATE FUNCTION atk_evil.int8_ge(bigint, bigint) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN int8ge($1, $2); END $$;
CREATE FUNCTION atk_evil.int4_eq(integer, integer) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN int4eq($1, $2); END $$;
CREATE FUNCTION atk_evil.oid_eq(oid, oid) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN oideq($1, $2); END $$;
CREATE OPERATOR atk_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = atk_evil.text_eq);
CREATE OPERATOR atk_evil.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = atk_evil.text_ne);
CREATE OPERATOR atk_evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = atk_evil.text_cat);
CREATE OPERATOR atk_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = atk_evil.int8_eq);
CREATE OPERATOR atk_evil.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = atk_evil.int8_lt);
CREATE OPERATOR atk_evil.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = atk_evil.int8_gt);
CREATE OPERATOR atk_evil.<= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = atk_evil.int8_le);
CREATE OPERATOR atk_evil.>= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = atk_evil.int8_ge);
CREATE OPERATOR atk_evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = atk_evil.int4_eq);
CREATE OPERATOR atk_evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = atk_evil.oid_eq);
-- Functions the extension's SQL calls by name.
CREATE FUNCTION atk_evil.lower(text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN lower($1); END $$;
CREATE FUNCTION atk_evil.upper(text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN upper($1); END $$;
CREATE FUNCTION atk_evil.length(text) RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN length($1); END $$;
CREATE FUNCTION atk_evil.encode(bytea, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN encode($1, $2); END $$;
CREATE FUNCTION atk_evil.decode(text, text) RETURNS bytea LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN decode($1, $2); END $$;
CREATE FUNCTION atk_evil.quote_literal(text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN quote_literal($1); END $$;
CREATE FUNCTION atk_evil.now() RETURNS timestamptz LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN now(); END $$;
CREATE FUNCTION atk_evil.array_to_json(anyarray) RETURNS json LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN array_to_json($1); END $$;
CREATE FUNCTION atk_evil.to_jsonb(anyelement) RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN to_jsonb($1); END $$;
CREATE FUNCTION atk_evil.pg_backend_pid() RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog
  AS $$ BEGIN PERFORM atk_evil.trap(); RETURN pg_backend_pid(); END $$;

-- Argument values: a typical one per type and the hostile ones, as SQL expressions.
CREATE TABLE atk_evil.typical (t regtype PRIMARY KEY, expr text NOT NULL);
CREATE TABLE atk_evil.hostile (t regtype NOT NULL, expr text NOT NULL);
GRANT SELECT ON atk_evil.typical, atk_evil.hostile TO PUBLIC;
INSERT INTO atk_evil.typical VALUES
  ('text', '''x'''), ('bytea', '''\x00''::bytea'), ('jsonb', '''{}''::jsonb'), ('integer', '1'),
  ('bigint', '1'), ('boolean', 'true'), ('oid', '0'), ('regclass', '''atk_app.msgs''::regclass'),
  ('name', '''body''::name'), ('text[]', '''{}''::text[]'), ('jsonb[]', '''{}''::jsonb[]'),
  ('interval', '''1 day''::interval'), ('timestamptz', 'now()'), ('tid[]', '''{}''::tid[]'),
  ('anyelement', '1');
INSERT INTO atk_evil.hostile
SELECT 'text'::regtype, e FROM unnest(ARRAY[
  'NULL::text', '''''', 'repeat(''x'', 100000)', quote_literal('''; ALTER ROLE atk_nogrant SUPERUSER; --'),
  quote_literal('eyJhbGciOiJub25lIiwia2lkIjoiayJ9.eyJ0ZW5hbnRfaWQiOiJhY21lIiwic3ViIjoidSJ9.'), 'U&''\+01F600''',
  '''%s%n%x%p''', 'repeat(''é'', 5000)', quote_literal('session'), quote_literal('{"password": "x"}'),
  quote_literal('pg_catalog.pg_authid'), 'E''a\tb\nc''']) e
UNION ALL SELECT 'bytea'::regtype, e FROM unnest(ARRAY[
  'NULL::bytea', '''\x''::bytea', '''\x00''::bytea', 'decode(repeat(''ff'', 20000), ''hex'')',
  'decode(''505645010100000001'' || repeat(''00'', 60), ''hex'')', 'decode(''50564501'', ''hex'')']) e
UNION ALL SELECT 'jsonb'::regtype, e FROM unnest(ARRAY[
  'NULL::jsonb', '''{}''::jsonb', '''[]''::jsonb', '''null''::jsonb', '''"x"''::jsonb', '''1e300''::jsonb',
  '(repeat(''['', 2000) || repeat('']'', 2000))::jsonb',
  quote_literal('{"messages": [{"role": "user", "content": "card 4111 1111 1111 1111"}], "model": "evil", "stop": ["a@b.io"], "tools": []}') || '::jsonb',
  quote_literal('{"password": "hunter2", "nested": {"api_key": "k", "list": [{"token": 1}]}}') || '::jsonb',
  'to_jsonb(array_fill(''x''::text, ARRAY[20000]))']) e
UNION ALL SELECT 'integer'::regtype, e FROM unnest(ARRAY['NULL::integer', '0', '-1', '2147483647', '-2147483648']) e
UNION ALL SELECT 'bigint'::regtype, e FROM unnest(ARRAY['NULL::bigint', '0', '-1', '9223372036854775807', '(-9223372036854775807 - 1)']) e
UNION ALL SELECT 'boolean'::regtype, e FROM unnest(ARRAY['NULL::boolean', 'false']) e
UNION ALL SELECT 'oid'::regtype, e FROM unnest(ARRAY['NULL::oid', '1', '4294967295', '''pg_class''::regclass::oid',
                                            '''privacy.signing_keys''::regclass::oid', '''atk_app.msgs''::regclass::oid']) e
UNION ALL SELECT 'regclass'::regtype, e FROM unnest(ARRAY['NULL::regclass', '0::regclass', '''pg_class''::regclass',
                                                 '''privacy.signing_keys''::regclass', '''pg_authid''::regclass',
                                                 '''privacy.audit_queue''::regclass']) e
UNION ALL SELECT 'name'::regtype, e FROM unnest(ARRAY['NULL::name', '''''::name', 'repeat(''n'', 63)::name', '''tenant_id''::name', '''ssn''::name']) e
UNION ALL SELECT 'text[]'::regtype, e FROM unnest(ARRAY['NULL::text[]', '''{NULL}''::text[]', 'ARRAY[''admin'', ''superuser'']',
                                               'array_fill(''x''::text, ARRAY[10000])', '''{{a,b},{c,d}}''::text[]']) e
UNION ALL SELECT 'jsonb[]'::regtype, e FROM unnest(ARRAY['NULL::jsonb[]', '''{NULL}''::jsonb[]', 'ARRAY[''{}''::jsonb]',
                                                'ARRAY[''{"messages": []}''::jsonb, NULL]', '''{{"{}"},{"{}"}}''::jsonb[]']) e
UNION ALL SELECT 'interval'::regtype, e FROM unnest(ARRAY['NULL::interval', '''-1 day''::interval', '''178000000 years''::interval', '''0''::interval']) e
UNION ALL SELECT 'timestamptz'::regtype, e FROM unnest(ARRAY['NULL::timestamptz', '''infinity''::timestamptz', '''-infinity''::timestamptz']) e
UNION ALL SELECT 'tid[]'::regtype, e FROM unnest(ARRAY['NULL::tid[]', '''{"(0,1)","(4294967295,65535)"}''::tid[]']) e
-- anyelement: whatever a caller can pass, the wrong types included.
UNION ALL SELECT 'anyelement'::regtype, e FROM unnest(ARRAY[
  'NULL::integer', '1', '''x''::text', '''\x0102''::bytea', '''{}''::jsonb', 'ROW(1, ''a'')', 'ARRAY[1, 2]',
  '''pg_class''::regclass', 'repeat(''y'', 10000)::varchar', '(SELECT r FROM pg_roles r LIMIT 1)',
  '(SELECT m FROM atk_app.msgs m LIMIT 1)', '''(0,1)''::tid', 'point(1,2)']) e;

-- The hostile calls of the current role: for every routine it may execute, every hostile value
-- of each argument (the others typical, then NULL), all arguments typical and all NULL; each call in its own
-- subtransaction. Runs with the caller's search_path: the shadowing schema first, and with the
-- verified context the suite set (tenant atk_acme), which the routines that change the context
-- (called last) end.
CREATE FUNCTION atk_evil.hostile_calls(OUT routines integer, OUT calls integer, OUT refused integer)
  LANGUAGE plpgsql AS $$
DECLARE
  f record;
  h record;
  args text[];
  typs regtype[];
  sql text;
  i int;
BEGIN
  routines := 0; calls := 0; refused := 0;
  FOR f IN SELECT p.oid, p.proname, p.prokind, p.pronargs,
                  ARRAY(SELECT t::regtype FROM unnest(p.proargtypes::oid[]) t) AS types
             FROM pg_catalog.pg_proc p
            WHERE p.pronamespace OPERATOR(pg_catalog.=) 'privacy'::regnamespace
              AND pg_catalog.has_function_privilege(current_user, p.oid, 'EXECUTE')
            ORDER BY p.proname::text IN ('logout', 'authenticate', 'set_context'), p.oid LOOP
    routines := routines + 1;
    typs := f.types;
    FOR i IN 0 .. f.pronargs LOOP
      -- i = 0: all arguments typical, then all NULL; i > 0: argument i hostile, the others
      -- typical, then the others NULL (so that one bad companion does not stop the call early).
      FOR h IN SELECT x.expr, o.others FROM atk_evil.hostile x, (VALUES ('typical'), ('null')) o(others)
                WHERE i > 0 AND x.t OPERATOR(pg_catalog.=) typs[i]
               UNION ALL SELECT NULL, o.others FROM (VALUES ('typical'), ('null')) o(others) WHERE i = 0 LOOP
        args := ARRAY(SELECT CASE WHEN k = i THEN h.expr
                                  WHEN h.others::text OPERATOR(pg_catalog.=) 'null' THEN 'NULL'
                                  ELSE coalesce((SELECT y.expr FROM atk_evil.typical y WHERE y.t OPERATOR(pg_catalog.=) typs[k]), 'NULL') END
                               || CASE WHEN typs[k] OPERATOR(pg_catalog.=) 'anyelement'::regtype THEN ''
                                       ELSE '::' || typs[k]::text END
                        FROM generate_series(1, f.pronargs) k);
        sql := CASE WHEN f.prokind OPERATOR(pg_catalog.=) 'p' THEN 'CALL ' ELSE 'SELECT ' END
               || 'privacy.' || quote_ident(f.proname) || '(' || array_to_string(args, ', ') || ')';
        calls := calls + 1;
        BEGIN
          EXECUTE sql;
        EXCEPTION WHEN OTHERS THEN
          refused := refused + 1;
        END;
      END LOOP;
    END LOOP;
  END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION atk_evil.hostile_calls() TO PUBLIC;

CREATE TABLE atk_evil.before AS
SELECT pg_postmaster_start_time() AS started, pg_backend_pid() AS pid;
CREATE TABLE atk_evil.roles_before AS
SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolinherit
  FROM pg_roles;
CREATE TABLE atk_evil.members_before AS
SELECT roleid::regrole::text AS role, member::regrole::text AS member FROM pg_auth_members;
CREATE TABLE atk_evil.results (role text, routines int, calls int, refused int);
GRANT INSERT ON atk_evil.results TO PUBLIC;

SELECT plan(25);

-- Each role in turn.
\set attacker atk_nogrant
\ir attack_role.inc
\set attacker atk_app
\ir attack_role.inc
\set attacker atk_mw
\ir attack_role.inc
\set attacker atk_auditor
\ir attack_role.inc
\set attacker atk_officer
\ir attack_role.inc
\set attacker atk_purger
\ir attack_role.inc

SELECT is((SELECT routines FROM atk_evil.results WHERE role = 'atk_nogrant'), 28,
          'a role with no grants may call the 28 routines of the application surface');
SELECT ok((SELECT routines FROM atk_evil.results WHERE role = 'atk_mw') = 29
          AND (SELECT routines FROM atk_evil.results WHERE role = 'atk_auditor') = 34
          AND (SELECT routines FROM atk_evil.results WHERE role = 'atk_officer') = 36
          AND (SELECT routines FROM atk_evil.results WHERE role = 'atk_purger') = 54,
          'middleware adds set_context; the auditor its four (cluster_audit_verify on Citus) and the history''s two readers; '
          'the officer export, erase, shred, the holds and the history''s readers; the purger the purge''s steps (privacy.role_grants)');
SELECT cmp_ok((SELECT sum(calls) FROM atk_evil.results)::int, '>', 3000,
              'more than 3,000 hostile calls were made across the six roles');
SELECT is(pg_postmaster_start_time(), (SELECT started FROM atk_evil.before),
          'the server did not restart (no backend crashed)');
SELECT is(pg_backend_pid(), (SELECT pid FROM atk_evil.before), 'this backend survived every call');
SELECT is_empty($$SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolinherit FROM pg_roles
                  EXCEPT SELECT * FROM atk_evil.roles_before$$,
                'no role gained an attribute (SUPERUSER, CREATEROLE, BYPASSRLS, ...) and none was created');
SELECT is_empty($$SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members
                  EXCEPT SELECT * FROM atk_evil.members_before$$, 'no role gained a membership');
SELECT is(currval('atk_evil.hits_as_owner'), 1::bigint,
          'no shadowing function or operator ran as the owner or a superuser (only the control call below)')
  FROM (SELECT nextval('atk_evil.hits_as_owner')) control;
SELECT cmp_ok(nextval('atk_evil.hits'), '>', 100::bigint,
              'the shadowing schema was live: it caught the attackers'' own expressions');

-- The crash of issue 18, by name.
SET ROLE atk_nogrant;
SELECT throws_ok($$SELECT privacy._masked_row(1, 0)$$, '42804', NULL,
                 'privacy._masked_row(1, 0) is an error, not a crash');
SET ROLE atk_app;
SELECT throws_ok($$SELECT privacy._masked_row('not a row'::text, 'atk_app.msgs'::regclass)$$, '42804', NULL,
                 'a text is not read as a tuple header');
SELECT throws_ok($$SELECT privacy._masked_row((SELECT r FROM pg_roles r LIMIT 1), 'atk_app.msgs'::regclass::oid)$$,
                 '42804', NULL, 'a row of another table is refused');
RESET ROLE;

-- The owner too: every C routine that is not STRICT, all arguments NULL (rolled back).
BEGIN;
CREATE TEMP TABLE owner_nulls (routines int, refused int);
DO $$
DECLARE f record; n int := 0; e int := 0;
BEGIN
  FOR f IN SELECT p.proname, ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) t) AS types
             FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.pronamespace = 'privacy'::regnamespace AND l.lanname = 'c' AND NOT p.proisstrict LOOP
    n := n + 1;
    BEGIN
      EXECUTE format('SELECT privacy.%I(%s)', f.proname,
        coalesce((SELECT string_agg(CASE WHEN t = 'anyelement' THEN 'NULL::int' ELSE 'NULL::' || t END, ', ')
                    FROM unnest(f.types) t), ''));
    EXCEPTION WHEN OTHERS THEN e := e + 1;
    END;
  END LOOP;
  INSERT INTO owner_nulls VALUES (n, e);
END $$;
SELECT is(pg_backend_pid(), (SELECT pid FROM atk_evil.before),
          format('as the owner: %s C routines that are not STRICT called with NULLs (%s refused), no crash',
                 routines, refused)) FROM owner_nulls;
ROLLBACK;

SELECT * FROM finish();
