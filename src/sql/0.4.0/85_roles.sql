-- Roles and grants as code (docs/operations.md, "Roles"; docs/privileges.md): who may call what
-- has ONE definition, the view privacy.role_grants below. 95_privileges.sql revokes EXECUTE on
-- every routine from PUBLIC and then applies every row of it (privacy._apply_role_grants()), at
-- CREATE EXTENSION and ALTER EXTENSION UPDATE; privacy.create_roles() applies the same rows again
-- (after a role was dropped, or a dump restored into another cluster); docs/privileges.md is
-- generated from the catalog these grants produce (scripts/privileges_doc.sh, checked by
-- test/pgtap/01_privileges.sql); the hint of a "permission denied" error (src/pg/error_hints.cpp)
-- is checked against it (test/pgtap/80_operations.sql).
--
--   PUBLIC              the application surface: authenticates, redacts, encrypts and decrypts in
--                       a verified context, calls providers (each routine decides from the
--                       verified context, never from the caller's privileges)
--   privacy_app         the group to grant an application's own tables to; holds PUBLIC's surface
--   privacy_middleware  trusted middleware: privacy_app, and sets a context it verified itself
--   privacy_auditor     reads every audit record and verifies the chain
--   privacy_officer     serves subject requests: export, erasure, legal holds
--   privacy_purger      runs the scheduled maintenance: CALL privacy.purge(), the audit sealer
--                       and purge; privacy.create_roles() gives it DELETE on the tables with a
--                       retention policy
--   pg_monitor          reads privacy.status, privacy.progress, privacy.history, privacy.metrics()
--
-- The privacy_* roles are created here (NOLOGIN) when they do not exist, as privacy_middleware
-- and privacy_auditor always were: GRANT them to login roles.
DO $$
DECLARE r name;
BEGIN
  FOREACH r IN ARRAY ARRAY['privacy_app', 'privacy_middleware', 'privacy_auditor', 'privacy_officer',
                           'privacy_purger']::name[] LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END $$;

-- Every privilege pg_privacy grants, as one row: who may do what, for people, for
-- 95_privileges.sql and privacy.create_roles(), and for the hint of a "permission denied" error.
CREATE VIEW privacy.role_grants AS
  SELECT r::name AS role, p AS privilege, t AS object_type, o AS object FROM (VALUES
    -- PUBLIC: the application surface. The trigger functions are there because CREATE TRIGGER
    -- checks EXECUTE for the table owner; _masked and _masked_row because the planner inserts
    -- them into every reader's queries (they only ever hide data and check their argument types).
    ('PUBLIC', 'USAGE', 'SCHEMA', 'privacy'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.version()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.preloaded()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.detect(text)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.redact(text)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.redact(text,text[])'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.mask(text)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.contains_pii(text)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.redact_jsonb(jsonb)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.sanitize_csv(text)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.detectors()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.finding_stats()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.redact_trigger()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.encrypt_trigger()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.authenticate(text,text)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.logout()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.current_tenant()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.current_subject()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.current_roles()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.current_region()'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy._masked(anyelement,text,text[])'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy._masked_row(anyelement,oid)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.encrypt(text)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.encrypt(text,text)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.decrypt(bytea)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.decrypt_bytea(bytea)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.pseudonymize(text,text)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.provider_call(text,jsonb)'),
    ('PUBLIC', 'EXECUTE', 'FUNCTION', 'privacy.provider_call_many(text,jsonb[])'),
    ('PUBLIC', 'SELECT', 'TABLE', 'privacy.audit_by_table'),
    ('PUBLIC', 'SELECT', 'TABLE', 'privacy.audit_by_tenant'),
    ('PUBLIC', 'SELECT', 'TABLE', 'privacy.audit_by_subject'),
    ('PUBLIC', 'SELECT', 'TABLE', 'privacy.findings'),
    ('PUBLIC', 'SELECT', 'TABLE', 'privacy.role_grants'),
    -- Trusted middleware sets a context it authenticated itself (the function checks membership too).
    ('privacy_middleware', 'EXECUTE', 'FUNCTION', 'privacy.set_context(text,text,text[],text,text)'),
    -- The auditor reads and verifies the log (cluster_audit_verify: every node of a Citus cluster).
    ('privacy_auditor', 'USAGE', 'SCHEMA', 'privacy'),
    ('privacy_auditor', 'SELECT', 'TABLE', 'privacy.audit_log'),
    ('privacy_auditor', 'SELECT', 'TABLE', 'privacy.audit_checkpoints'),
    ('privacy_auditor', 'SELECT', 'TABLE', 'privacy.history'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy.audit_verify(bigint,bigint,bigint,text)'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy.audit_head()'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy.audit_hmac(text)'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy.cluster_audit_verify()'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy._outcomes()'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy._backend_alive(integer,timestamptz)'),
    -- The privacy officer serves subject requests in a verified context.
    ('privacy_officer', 'EXECUTE', 'FUNCTION', 'privacy.export_subject(text,text,text)'),
    ('privacy_officer', 'EXECUTE', 'FUNCTION', 'privacy.erase_subject(text,text)'),
    ('privacy_officer', 'EXECUTE', 'FUNCTION', 'privacy.shred_subject(text,text)'),
    ('privacy_officer', 'EXECUTE', 'FUNCTION', 'privacy.place_hold(text,text,text)'),
    ('privacy_officer', 'EXECUTE', 'FUNCTION', 'privacy.release_hold(bigint)'),
    ('privacy_officer', 'EXECUTE', 'FUNCTION', 'privacy._hold_lock_key()'),
    ('privacy_officer', 'SELECT', 'TABLE', 'privacy.subject_tables'),
    ('privacy_officer', 'SELECT', 'TABLE', 'privacy.legal_holds'),
    ('privacy_officer', 'INSERT', 'TABLE', 'privacy.legal_holds'),
    ('privacy_officer', 'UPDATE', 'TABLE', 'privacy.legal_holds'),
    ('privacy_officer', 'USAGE', 'SEQUENCE', 'privacy.legal_holds_id_seq'),
    ('privacy_officer', 'SELECT', 'TABLE', 'privacy.history'),
    ('privacy_officer', 'EXECUTE', 'FUNCTION', 'privacy._outcomes()'),
    ('privacy_officer', 'EXECUTE', 'FUNCTION', 'privacy._backend_alive(integer,timestamptz)'),
    -- The purge runs with its caller's privileges (a table's triggers never run as the extension's
    -- owner), so the purger executes the purge's steps itself; _purge_batch_distributed and
    -- _distribution_column are Citus's part of a batch (80_cluster.sql).
    ('privacy_purger', 'USAGE', 'SCHEMA', 'privacy'),
    ('privacy_purger', 'EXECUTE', 'PROCEDURE', 'privacy.purge(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy.purge_preview(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy.audit_seal()'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy.audit_purge(interval)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_check(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_step(text,regclass,bigint)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_passes(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_batch(regclass,regclass,text)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._distribution_column(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_batch_distributed(privacy.retention_policies,regclass,text)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_children(regclass,regclass,tid[])'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_record(regclass,text,bigint,integer,text,text,bigint)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._partition_expired(regclass,regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._longest_keep(privacy.retention_policies)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._held_sql(privacy.retention_policies,text,text)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._expired_sql(privacy.retention_policies,text,text,boolean)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._keep_sql(regclass,text)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._retention_fk(regclass,regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._retention_audit(privacy.purge_runs)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._column_type(regclass,name)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._column_list(name[],text)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._protect_targets(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._hold_lock_key()'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._progress_purge(regclass,text,bigint,integer)'),
    ('privacy_purger', 'SELECT', 'TABLE', 'privacy.retention_policies'),
    ('privacy_purger', 'SELECT', 'TABLE', 'privacy.tenants'),
    ('privacy_purger', 'SELECT', 'TABLE', 'privacy.region_retention'),
    ('privacy_purger', 'SELECT', 'TABLE', 'privacy.legal_holds'),
    ('privacy_purger', 'SELECT', 'TABLE', 'privacy.purge_runs'),
    ('privacy_purger', 'INSERT', 'TABLE', 'privacy.purge_runs'),
    ('privacy_purger', 'UPDATE', 'TABLE', 'privacy.purge_runs'),
    ('privacy_purger', 'USAGE', 'SEQUENCE', 'privacy.purge_runs_run_id_seq'),
    ('privacy_purger', 'SELECT', 'TABLE', 'privacy.history'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._outcomes()'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._backend_alive(integer,timestamptz)'),
    -- Monitoring (pg_monitor, as for pg_stat_progress_*): counts and states, never a key, a value or a subject.
    ('pg_monitor', 'SELECT', 'TABLE', 'privacy.status'),
    ('pg_monitor', 'SELECT', 'TABLE', 'privacy.progress'),
    ('pg_monitor', 'SELECT', 'TABLE', 'privacy.history'),
    ('pg_monitor', 'EXECUTE', 'FUNCTION', 'privacy._status_rows()'),
    ('pg_monitor', 'EXECUTE', 'FUNCTION', 'privacy.metrics()'),
    ('pg_monitor', 'EXECUTE', 'FUNCTION', 'privacy._progress_rows()'),
    ('pg_monitor', 'EXECUTE', 'FUNCTION', 'privacy._outcomes()'),
    ('pg_monitor', 'EXECUTE', 'FUNCTION', 'privacy._backend_alive(integer,timestamptz)')
  ) g(r, p, t, o);
COMMENT ON VIEW privacy.role_grants IS
  'who may do what: every privilege pg_privacy grants (role, privilege, object kind, object); applied at install and by privacy.create_roles()';

-- Applies privacy.role_grants (idempotent): from 95_privileges.sql and privacy.create_roles().
CREATE FUNCTION privacy._apply_role_grants() RETURNS bigint
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  g record;
  n bigint := 0;
BEGIN
  FOR g IN SELECT * FROM privacy.role_grants LOOP
    EXECUTE format('GRANT %s ON %s %s TO %s', g.privilege, g.object_type, g.object,
                   CASE WHEN g.role = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(g.role) END);
    n := n + 1;
  END LOOP;
  GRANT privacy_app TO privacy_middleware, privacy_officer;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION privacy._apply_role_grants() FROM PUBLIC;

-- Creates the roles that do not exist (any more: CREATE EXTENSION creates them) (NOLOGIN: grant
-- them to login roles) and applies privacy.role_grants again; privacy_middleware and
-- privacy_officer are members of privacy_app (they act in a verified context too). privacy_purger also gets SELECT, UPDATE and DELETE on every table with
-- a retention policy (partitions and registered children included): call it again after
-- set_retention() on a new table (USAGE on their schemas too). Idempotent. Returns what each
-- role holds now.
CREATE FUNCTION privacy.create_roles()
  RETURNS TABLE (role name, created boolean, privileges bigint)
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $$
#variable_conflict use_column
DECLARE
  r name;
  t regclass;
  made name[] := '{}';
BEGIN
  IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'permission denied to create the pg_privacy roles'
      USING ERRCODE = '42501', HINT = 'pg_privacy: run SELECT * FROM privacy.create_roles() as a superuser.';
  END IF;
  FOREACH r IN ARRAY ARRAY['privacy_app', 'privacy_middleware', 'privacy_auditor', 'privacy_officer',
                           'privacy_purger']::name[] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      made := made || r;
    END IF;
  END LOOP;
  PERFORM privacy._apply_role_grants();
  FOR t IN SELECT DISTINCT pt FROM privacy.retention_policies p, privacy._protect_targets(p.table_name) pt LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO privacy_purger',
                   (SELECT nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = t));
    EXECUTE format('GRANT SELECT, UPDATE, DELETE ON %s TO privacy_purger', t);
  END LOOP;
  RETURN QUERY
    SELECT x.r, x.r = ANY (made), (SELECT count(*) FROM privacy.role_grants gr WHERE gr.role = x.r)
      FROM unnest(ARRAY['privacy_app', 'privacy_middleware', 'privacy_auditor', 'privacy_officer',
                        'privacy_purger']::name[]) x(r);
END $$;
COMMENT ON FUNCTION privacy.create_roles() IS
  'creates the roles privacy_app, privacy_middleware, privacy_auditor, privacy_officer and privacy_purger (NOLOGIN) and grants each the least privileges it needs; idempotent';
REVOKE ALL ON FUNCTION privacy.create_roles() FROM PUBLIC;


-- The role named by the hint of a "permission denied" error on that object (src/pg/error_hints.cpp).
CREATE FUNCTION privacy._permission_hint(object text) RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_permission_hint' LANGUAGE C IMMUTABLE STRICT;
REVOKE ALL ON FUNCTION privacy._permission_hint(text) FROM PUBLIC;
