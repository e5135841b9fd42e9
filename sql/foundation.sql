-- The foundation's SQL surface: the schema, privacy.version(), the reserved settings prefix and
-- the C++/Postgres boundary (each kind of failure becomes an ERROR with its SQLSTATE).
\set SHOW_CONTEXT never
SELECT nspname FROM pg_namespace WHERE nspname = 'privacy';
SELECT privacy.version() ~ '^pg_privacy \d+\.\d+\.\d+ \(RE2 [^,]+, OpenSSL 3\.[^,]+, libcurl \d+\.\d+' AS version_ok;
SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy';
-- privacy.preloaded() depends on the server's configuration: the pgTAP and Perl TAP suites
-- check both cases, so this file also passes on a server without preloading.
SELECT pg_typeof(privacy.preloaded());

-- Settings under privacy.* that the extension does not define are refused.
SET privacy.no_such_setting = 'on';

-- A C++ exception becomes an ERROR with the SQLSTATE the core chose.
SELECT privacy._selftest_raise('core_error');
\echo :LAST_ERROR_SQLSTATE
-- A standard library exception is an internal error of class PV.
SELECT privacy._selftest_raise('std_exception');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy._selftest_raise('bad_alloc');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy._selftest_raise('unknown');
\echo :LAST_ERROR_SQLSTATE
-- A Postgres error raised inside C++ code keeps its own SQLSTATE.
SELECT privacy._selftest_raise('pg_error');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy._selftest_raise('no-such-kind');
\echo :LAST_ERROR_SQLSTATE

-- ... and the same backend keeps working.
SELECT privacy._selftest_raise('none');
SELECT 1 + 1 AS still_working;

-- NULL in, NULL out (STRICT).
SELECT privacy._selftest_raise(NULL);

-- The self-tests are for superusers only.
CREATE ROLE pgp_regress_app;
SET ROLE pgp_regress_app;
SELECT privacy._selftest_raise('none');
RESET ROLE;
DROP ROLE pgp_regress_app;
