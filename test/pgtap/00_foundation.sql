-- Behaviour of the foundation: the schema and its functions, privileges, and the C++/Postgres
-- boundary (SQLSTATEs, destructors run when a Postgres error crosses C++ frames).
BEGIN;
SELECT plan(18);

SELECT has_schema('privacy');
SELECT has_function('privacy', 'version', ARRAY[]::text[]);
SELECT matches(privacy.version(), '^pg_privacy [0-9]+\.[0-9]+\.[0-9]+ \(RE2 ', 'version names the extension');
SELECT matches(privacy.version(), 'OpenSSL 3\.', 'version names OpenSSL');
SELECT matches(privacy.version(), 'libcurl [0-9]+\.', 'version names libcurl');
SELECT ok(privacy.preloaded(), 'the test cluster preloads pg_privacy');

SELECT throws_ok($$SELECT privacy._selftest_raise('core_error')$$, 'PV000', 'selftest core error',
                 'a core::Error keeps its SQLSTATE and message');
SELECT throws_ok($$SELECT privacy._selftest_raise('std_exception')$$, 'PV000', 'internal error in pg_privacy',
                 'a std::exception becomes an internal error');
SELECT throws_ok($$SELECT privacy._selftest_raise('bad_alloc')$$, '53200', NULL,
                 'std::bad_alloc becomes out_of_memory');
SELECT throws_ok($$SELECT privacy._selftest_raise('unknown')$$, 'PV000', NULL,
                 'an exception of unknown type becomes an internal error');
SELECT throws_ok($$SELECT privacy._selftest_raise('pg_error')$$, '22012', 'division by zero',
                 'a Postgres error raised under pg_call keeps its SQLSTATE and message');

-- Destructors: every call above ran one Probe destructor, including the pg_error one.
CREATE TEMP TABLE before_count AS SELECT privacy._selftest_destructor_count() AS n;
SELECT throws_ok($$SELECT privacy._selftest_raise('pg_error')$$, '22012');
SELECT is(privacy._selftest_destructor_count() - (SELECT n FROM before_count), 1::bigint,
          'a Postgres error under pg_call still runs the C++ destructors');
SELECT throws_ok($$SELECT privacy._selftest_raise('engine_in_guard')$$, 'PV000', 'internal error in pg_privacy',
                 'redact_engine() called inside guarded() is refused with an error, not a longjmp over C++ frames');
SELECT lives_ok($$SELECT privacy._selftest_raise('engine_reentrant')$$,
                'an engine rebuilt by a re-entrant call leaves the outer caller''s engine alive (pinned)');
SELECT lives_ok($$SELECT privacy._selftest_raise('none')$$, 'the backend keeps working after errors');

SELECT function_privs_are('privacy', '_selftest_raise', ARRAY['text'], 'public', ARRAY[]::text[],
                          'self-tests are not executable by PUBLIC');
SELECT throws_ok($$SET privacy.no_such_setting = 'on'$$, '42602', NULL,
                 'the privacy.* settings prefix is reserved');

SELECT * FROM finish();
ROLLBACK;
