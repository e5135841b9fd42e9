-- Least privilege (docs/security.md, docs/privileges.md): EXECUTE on every routine of schema
-- privacy is revoked from PUBLIC, then every privilege of privacy.role_grants (85_roles.sql, the
-- one definition of who may call what: PUBLIC's application surface, the privacy_* roles,
-- pg_monitor) is granted. Runs after every other fragment, so it covers every routine this
-- version creates; the pgTAP suite (test/pgtap/01_privileges.sql, 80_attack.sql) fails if a
-- routine outside the application surface is callable by PUBLIC, and docs/privileges.md is
-- generated from the catalog (test/tools/privileges.sql).
DO $$
DECLARE
  r regprocedure;
BEGIN
  FOR r IN SELECT p.oid FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'privacy'::regnamespace LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', r);
  END LOOP;
END $$;

SELECT privacy._apply_role_grants();

-- On a Citus cluster (80_cluster.sql) nothing more is granted: privacy.cluster_sync() and the
-- internal routines (_cluster_apply, _config_digest) stay with the owner and superusers, like the
-- rest of the DBA surface; _distribution_column and _purge_batch_distributed are steps of the
-- purge, granted to privacy_purger with the purge's other steps.
