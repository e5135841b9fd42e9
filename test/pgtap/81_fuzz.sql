-- SQL-level fuzzing (issue 18): thousands of calls to every routine PUBLIC may execute, as a role
-- with no grants, with argument values from a typed random generator (strings of every kind,
-- random and damaged envelopes, random JSON and chat requests, arrays, any type through
-- anyelement, NULLs), half of them in a verified tenant context. Every call runs in its own
-- subtransaction; an error is an answer, a crash is a failure. The seed is random per run and
-- printed; PGP_FUZZ_SEED (a number between -1 and 1) replays a run, PGP_FUZZ_CALLS sets its size.
\set ON_ERROR_STOP 1
\set QUIET 1
\getenv fuzz_seed PGP_FUZZ_SEED
\getenv fuzz_calls PGP_FUZZ_CALLS
\if :{?fuzz_seed}
\else
\set fuzz_seed ''
\endif
\if :{?fuzz_calls}
\else
\set fuzz_calls ''
\endif

DROP SCHEMA IF EXISTS fz CASCADE;
DROP ROLE IF EXISTS fz_nogrant;
CREATE ROLE fz_nogrant;
CREATE SCHEMA fz;
GRANT USAGE ON SCHEMA fz TO PUBLIC;
SELECT coalesce(nullif(:'fuzz_seed', ''), (random() * 2 - 1)::text)::float8 AS seed,
       coalesce(nullif(:'fuzz_calls', ''), '6000')::int AS ncalls \gset
SELECT setseed(:seed);

-- Real envelopes of the fuzz tenant, for the generator to damage.
SELECT privacy.set_context('fz_t', 'fz_s', ARRAY['support'], 'EU', 'session') \gset
CREATE TABLE fz.envelopes AS
SELECT privacy.encrypt('secret ' || g) AS e FROM generate_series(1, 3) g
UNION ALL SELECT privacy.encrypt('about a person', 'fz_subject');
SELECT privacy.logout() \gset
GRANT SELECT ON fz.envelopes TO PUBLIC;

CREATE FUNCTION fz.pick(a text[]) RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog AS $$
  SELECT a[1 + floor(random() * cardinality(a))::int]
$$;

-- A random string: ASCII, any code point, PII-shaped, token-shaped, long, or a keyword.
CREATE FUNCTION fz.rand_text() RETURNS text LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE n int := floor(random() * 60)::int; s text := ''; c int;
BEGIN
  CASE floor(random() * 9)::int
    WHEN 0 THEN RETURN '';
    WHEN 1 THEN
      FOR i IN 1 .. n LOOP s := s || chr(32 + floor(random() * 95)::int); END LOOP;
      RETURN s;
    WHEN 2 THEN
      FOR i IN 1 .. n LOOP
        c := 1 + floor(random() * 1114110)::int;
        IF c BETWEEN 55296 AND 57343 THEN c := 65533; END IF;
        s := s || chr(c);
      END LOOP;
      RETURN s;
    WHEN 3 THEN RETURN fz.pick(ARRAY['ana@example.com', '4111 1111 1111 1111', '+1 415 555 2671', '123-45-6789',
                                     'DE89 3704 0044 0532 0130 00', 'password=hunter2', 'sk-proj-AbCdEf0123456789ghijKLMN',
                                     'AKIAIOSFODNN7EXAMPLE', '10.1.2.3', 'https://u:p@host/x']) || ' ' || n;
    WHEN 4 THEN RETURN 'eyJ' || encode(decode(md5(random()::text), 'hex'), 'base64') || '.eyJ' || md5(random()::text)
                       || '.' || md5(random()::text);
    WHEN 5 THEN RETURN repeat(chr(97 + floor(random() * 26)::int), floor(random() * 20000)::int);
    WHEN 6 THEN RETURN fz.pick(ARRAY['session', 'transaction', 'json', 'csv', 'HS256', 'RS256', 'none', 'openai',
                                     'EU', 'US', 'fz_t', 'fz_s', 'fz_subject', 'EMAIL', 'CREDIT_CARD', 'default']);
    WHEN 7 THEN RETURN '{"messages": [{"role": "user", "content": "' || n || '"}]}';
    ELSE RETURN E'a\tb\nc''d"e\\f' || n;
  END CASE;
END $$;

-- A random JSON value, nested up to `depth`.
CREATE FUNCTION fz.rand_json(depth int) RETURNS jsonb LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE o jsonb := '{}'; a jsonb := '[]';
BEGIN
  CASE floor(random() * (CASE WHEN depth > 0 THEN 8 ELSE 5 END))::int
    WHEN 0 THEN RETURN 'null';
    WHEN 1 THEN RETURN to_jsonb(fz.rand_text());
    WHEN 2 THEN RETURN to_jsonb((random() * 1e6 - 5e5)::numeric);
    WHEN 3 THEN RETURN to_jsonb(random() < 0.5);
    WHEN 4 THEN  -- a chat request, more or less well-formed
      RETURN jsonb_build_object('messages', jsonb_build_array(jsonb_build_object(
               fz.pick(ARRAY['role', 'rol', 'content']), fz.pick(ARRAY['user', 'system', 'assistant', 'tool']),
               'content', fz.rand_text())),
             fz.pick(ARRAY['model', 'stop', 'temperature', 'max_tokens', 'n', 'stream', 'tools']),
             fz.rand_json(0));
    ELSE
      FOR i IN 1 .. floor(random() * 4)::int LOOP
        o := o || jsonb_build_object(fz.pick(ARRAY['messages', 'role', 'content', 'model', 'stop', 'password',
                                                   'api_key', 'Client-Secret', 'x', '']), fz.rand_json(depth - 1));
        a := a || jsonb_build_array(fz.rand_json(depth - 1));
      END LOOP;
      RETURN CASE WHEN random() < 0.6 THEN o ELSE a END;
  END CASE;
END $$;

-- A random value of type t, as an SQL expression (NULL one time in ten).
CREATE FUNCTION fz.val(t regtype) RETURNS text LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
DECLARE e bytea;
BEGIN
  IF random() < 0.1 THEN RETURN 'NULL::' || CASE WHEN t = 'anyelement'::regtype THEN 'text' ELSE t::text END; END IF;
  CASE t
    WHEN 'text'::regtype, 'name'::regtype THEN RETURN quote_literal(fz.rand_text()) || '::' || t::text;
    WHEN 'jsonb'::regtype THEN RETURN quote_literal(fz.rand_json(3)::text) || '::jsonb';
    WHEN 'bytea'::regtype THEN
      SELECT x.e INTO e FROM fz.envelopes x ORDER BY random() LIMIT 1;
      CASE floor(random() * 4)::int
        WHEN 0 THEN RETURN quote_literal(e::text) || '::bytea';                      -- a real envelope
        WHEN 1 THEN                                                                 -- one byte changed
          RETURN quote_literal(set_byte(e, floor(random() * length(e))::int, floor(random() * 256)::int)::text) || '::bytea';
        WHEN 2 THEN RETURN quote_literal(substring(e FROM 1 FOR floor(random() * length(e))::int)::text) || '::bytea';
        ELSE RETURN 'decode(' || quote_literal(repeat(md5(random()::text), floor(random() * 20)::int)) || ', ''hex'')';
      END CASE;
    WHEN 'text[]'::regtype THEN
      RETURN 'ARRAY[' || coalesce((SELECT string_agg(CASE WHEN random() < 0.1 THEN 'NULL' ELSE quote_literal(fz.rand_text()) END, ', ')
                                    FROM generate_series(1, floor(random() * 5)::int)), '') || ']::text[]';
    WHEN 'jsonb[]'::regtype THEN
      RETURN 'ARRAY[' || coalesce((SELECT string_agg(CASE WHEN random() < 0.1 THEN 'NULL' ELSE quote_literal(fz.rand_json(2)::text) END, ', ')
                                    FROM generate_series(1, floor(random() * 4)::int)), '') || ']::jsonb[]';
    WHEN 'anyelement'::regtype THEN
      RETURN fz.pick(ARRAY[(floor(random() * 2e9) - 1e9)::bigint::text, quote_literal(fz.rand_text()) || '::text',
                           quote_literal(fz.rand_text()) || '::varchar', quote_literal(fz.rand_json(2)::text) || '::jsonb',
                           'decode(' || quote_literal(md5(random()::text)) || ', ''hex'')', 'ROW(1, ''x'', NULL)',
                           'ARRAY[1, 2, 3]', '''pg_class''::regclass', '(SELECT c FROM pg_class c LIMIT 1)',
                           'now()', '''(0,1)''::tid', '42.5::numeric', 'point(1, 2)', '''{"a": [1]}''::json']);
    WHEN 'oid'::regtype THEN
      RETURN fz.pick(ARRAY['0', '1', '4294967295', (floor(random() * 100000))::int::text, '''pg_class''::regclass::oid',
                           '''privacy.rules''::regclass::oid']) || '::oid';
    WHEN 'integer'::regtype, 'bigint'::regtype THEN
      RETURN fz.pick(ARRAY['0', '-1', '1', (floor(random() * 2e9) - 1e9)::bigint::text, '2147483647']) || '::' || t::text;
    WHEN 'boolean'::regtype THEN RETURN fz.pick(ARRAY['true', 'false']);
    ELSE RETURN 'NULL::' || t::text;
  END CASE;
END $$;

-- n random calls of the routines the current role may execute.
CREATE FUNCTION fz.run(n int, keep_context boolean, OUT calls int, OUT refused int, OUT internal int, OUT routines int)
  LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  fns regprocedure[];
  f regprocedure;
  p record;
  sql text;
  state text;
BEGIN
  fns := ARRAY(SELECT oid::regprocedure FROM pg_proc
                WHERE pronamespace = 'privacy'::regnamespace AND has_function_privilege(current_user, oid, 'EXECUTE')
                  AND NOT (keep_context AND proname = 'logout'));  -- it would end the context
  routines := cardinality(fns);
  calls := 0; refused := 0; internal := 0;
  FOR k IN 1 .. n LOOP
    f := fns[1 + floor(random() * routines)::int];
    SELECT proname, prokind, ARRAY(SELECT t::regtype FROM unnest(proargtypes::oid[]) t) AS types INTO p
      FROM pg_proc WHERE oid = f;
    sql := 'SELECT privacy.' || quote_ident(p.proname) || '('
           || coalesce((SELECT string_agg(fz.val(t), ', ' ORDER BY o) FROM unnest(p.types) WITH ORDINALITY u(t, o)), '')
           || ')';
    calls := calls + 1;
    BEGIN
      EXECUTE sql;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
      refused := refused + 1;
      -- PV000 and XX000 are pg_privacy's and PostgreSQL's "this is a bug".
      IF state IN ('PV000', 'XX000') THEN
        internal := internal + 1;
        RAISE WARNING 'fuzz: internal error % from %', state, left(sql, 300);
      END IF;
    END;
  END LOOP;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA fz TO PUBLIC;

CREATE TABLE fz.before AS SELECT pg_postmaster_start_time() AS started, pg_backend_pid() AS pid;
CREATE TABLE fz.results (phase text, calls int, refused int, internal int, routines int);
GRANT INSERT ON fz.results TO PUBLIC;

SELECT plan(6);
SELECT diag(format('fuzz seed %s, %s calls (replay: PGP_FUZZ_SEED=%s)', :'seed', :'ncalls', :'seed'));

-- Without a context, then in a verified tenant context (set by the superuser for the session).
SET ROLE fz_nogrant;
INSERT INTO fz.results SELECT 'no context', r.* FROM fz.run(:ncalls / 2, false) r;
RESET ROLE;
SELECT privacy.set_context('fz_t', 'fz_s', ARRAY['support'], 'EU', 'session') \gset
SET ROLE fz_nogrant;
INSERT INTO fz.results SELECT 'context', r.* FROM fz.run(:ncalls - :ncalls / 2, true) r;
RESET ROLE;
SELECT privacy.logout() \gset

SELECT is((SELECT sum(calls)::int FROM fz.results), :ncalls,
          format('%s random calls made (%s refused with an error)', :ncalls, (SELECT sum(refused) FROM fz.results)));
SELECT is((SELECT max(routines) FROM fz.results), 28,
          'to every routine a role with no grants may execute (all 28; logout not in the context half)');
SELECT is(pg_postmaster_start_time(), (SELECT started FROM fz.before), 'the server did not restart: 0 crashes');
SELECT is(pg_backend_pid(), (SELECT pid FROM fz.before), 'this backend survived every call');
SELECT is((SELECT sum(internal)::int FROM fz.results), 0, 'no call hit an internal error (PV000, XX000)');
SELECT cmp_ok((SELECT sum(calls - refused)::int FROM fz.results), '>', :ncalls / 5,
              'a good part of the calls got past argument checking (the generator is not all garbage)');

SELECT * FROM finish();
DROP SCHEMA fz CASCADE;
DROP ROLE fz_nogrant;
