-- Roles and grants as code (docs/operations.md, "Roles"): the five group roles the documentation
-- refers to, each with the least privileges its job needs, created and granted by one call,
-- SELECT * FROM privacy.create_roles(). Grants are explicit, so that the roles keep working when
-- EXECUTE on the internal functions is revoked from PUBLIC.
--
--   privacy_app         the application: authenticates, reads its tenant's rows, encrypts and
--                       decrypts, redacts, calls providers
--   privacy_middleware  trusted middleware: privacy_app, and sets a context it verified itself
--   privacy_auditor     reads every audit record and verifies the chain
--   privacy_officer     serves subject requests: export, erasure, legal holds
--   privacy_purger      runs the scheduled maintenance: CALL privacy.purge(), the audit sealer
--                       and purge; gets DELETE on the tables with a retention policy

-- Every privilege as one row: who may do what, for people, for privacy.create_roles() and for
-- the hint of a "permission denied" error.
CREATE VIEW privacy.role_grants AS
  SELECT r::name AS role, p AS privilege, t AS object_type, o AS object FROM (VALUES
    ('privacy_app', 'USAGE', 'SCHEMA', 'privacy'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.authenticate(text,text)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.logout()'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.current_tenant()'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.current_subject()'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.current_roles()'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.current_region()'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.encrypt(text)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.encrypt(text,text)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.decrypt(bytea)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.decrypt_bytea(bytea)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.pseudonymize(text,text)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.provider_call(text,jsonb)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.provider_call_many(text,jsonb[])'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.redact(text)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.redact(text,text[])'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.mask(text)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.detect(text)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.contains_pii(text)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.redact_jsonb(jsonb)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.sanitize_csv(text)'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.version()'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy.preloaded()'),
    -- Called by plans and policies as the reader (classified columns, protected tables).
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy._masked(anyelement,text,text[])'),
    ('privacy_app', 'EXECUTE', 'FUNCTION', 'privacy._masked_row(anyelement,oid)'),
    ('privacy_middleware', 'EXECUTE', 'FUNCTION', 'privacy.set_context(text,text,text[],text,text)'),
    ('privacy_auditor', 'USAGE', 'SCHEMA', 'privacy'),
    ('privacy_auditor', 'SELECT', 'TABLE', 'privacy.audit_log'),
    ('privacy_auditor', 'SELECT', 'TABLE', 'privacy.audit_checkpoints'),
    ('privacy_auditor', 'SELECT', 'TABLE', 'privacy.audit_by_table'),
    ('privacy_auditor', 'SELECT', 'TABLE', 'privacy.audit_by_tenant'),
    ('privacy_auditor', 'SELECT', 'TABLE', 'privacy.audit_by_subject'),
    ('privacy_auditor', 'SELECT', 'TABLE', 'privacy.history'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy.audit_verify(bigint,bigint,bigint,text)'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy.audit_head()'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy.audit_hmac(text)'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy._outcomes()'),
    ('privacy_auditor', 'EXECUTE', 'FUNCTION', 'privacy._backend_alive(integer,timestamptz)'),
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
    ('privacy_purger', 'USAGE', 'SCHEMA', 'privacy'),
    ('privacy_purger', 'EXECUTE', 'PROCEDURE', 'privacy.purge(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy.purge_preview(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy.audit_seal()'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy.audit_purge(interval)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_check(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_step(text,regclass,bigint)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_passes(regclass)'),
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._purge_batch(regclass,regclass,text)'),
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
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._audit_record(text,text,text,jsonb)'),
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
    ('privacy_purger', 'EXECUTE', 'FUNCTION', 'privacy._backend_alive(integer,timestamptz)')
  ) g(r, p, t, o);
COMMENT ON VIEW privacy.role_grants IS
  'the privileges privacy.create_roles() grants: role, privilege, object kind, object';
GRANT SELECT ON privacy.role_grants TO PUBLIC;

-- Creates the roles that do not exist yet (NOLOGIN: grant them to login roles) and grants each
-- its privileges; privacy_middleware and privacy_officer are members of privacy_app (they act in
-- a verified context too). privacy_purger also gets SELECT, UPDATE and DELETE on every table with
-- a retention policy (partitions and registered children included): call it again after
-- set_retention() on a new table (USAGE on their schemas too). Idempotent. Returns what each
-- role holds now.
CREATE FUNCTION privacy.create_roles()
  RETURNS TABLE (role name, created boolean, privileges bigint)
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $$
#variable_conflict use_column
DECLARE
  r name;
  g record;
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
  FOR g IN SELECT * FROM privacy.role_grants LOOP
    EXECUTE format('GRANT %s ON %s %s TO %I', g.privilege, g.object_type, g.object, g.role);
  END LOOP;
  GRANT privacy_app TO privacy_middleware, privacy_officer;
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
