-- pg_privacy 0.1.0: the foundation (version report, boundary self-tests).
\echo Use "CREATE EXTENSION pg_privacy" to load this file. \quit

COMMENT ON SCHEMA privacy IS 'pg_privacy: redaction, tenancy, retention, audit and encryption';

CREATE FUNCTION privacy.version() RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_version'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.version() IS
  'pg_privacy library version and the versions of RE2, OpenSSL and libcurl it runs with';

CREATE FUNCTION privacy.preloaded() RETURNS boolean
  AS 'MODULE_PATHNAME', 'pgp_preloaded'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION privacy.preloaded() IS
  'true when pg_privacy was loaded through shared_preload_libraries';

-- Boundary self-tests (superuser only): see docs/architecture.md.
CREATE FUNCTION privacy._selftest_raise(kind text) RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_selftest_raise'
  LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION privacy._selftest_destructor_count() RETURNS bigint
  AS 'MODULE_PATHNAME', 'pgp_selftest_destructor_count'
  LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION privacy._selftest_raise(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION privacy._selftest_destructor_count() FROM PUBLIC;

GRANT USAGE ON SCHEMA privacy TO PUBLIC;
