-- Operations: what a DBA needs to run pg_privacy safely (docs/operations.md): the DROP EXTENSION
-- guard, and (below) the run history, progress, status, metrics and roles.

-- DROP EXTENSION pg_privacy (or DROP OWNED BY its owner) is refused while keys, wrapped provider
-- API keys or audit records exist, unless privacy.allow_drop_with_data is on (src/pg/drop_guard.cpp).
CREATE FUNCTION privacy._drop_guard() RETURNS event_trigger
  AS 'MODULE_PATHNAME', 'pgp_drop_guard' LANGUAGE C;
REVOKE ALL ON FUNCTION privacy._drop_guard() FROM PUBLIC;
CREATE EVENT TRIGGER privacy_drop_guard ON ddl_command_start
  WHEN TAG IN ('DROP EXTENSION', 'DROP OWNED') EXECUTE FUNCTION privacy._drop_guard();
