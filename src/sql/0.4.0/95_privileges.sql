-- Least privilege (docs/security.md, docs/privileges.md): EXECUTE on every routine of schema
-- privacy is revoked from PUBLIC, then granted back to the surface applications call. Runs after
-- every other fragment, so it covers every routine this version creates; the pgTAP suite
-- (test/pgtap/80_attack.sql) fails if a routine outside this list is callable by PUBLIC, and
-- docs/privileges.md is generated from the catalog (test/tools/privileges.sql).
DO $$
DECLARE
  r regprocedure;
BEGIN
  FOR r IN SELECT p.oid FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'privacy'::regnamespace LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', r);
  END LOOP;
END $$;

-- What any role may call. Each one decides from the verified context (or refuses without it),
-- never from the caller's privileges on the extension's tables.
GRANT EXECUTE ON FUNCTION
  privacy.version(), privacy.preloaded(),
  -- redaction
  privacy.detect(text), privacy.redact(text), privacy.redact(text, text[]), privacy.mask(text),
  privacy.contains_pii(text), privacy.redact_jsonb(jsonb), privacy.sanitize_csv(text),
  privacy.detectors(), privacy.finding_stats(),
  -- the trigger functions a table owner attaches (CREATE TRIGGER checks EXECUTE)
  privacy.redact_trigger(), privacy.encrypt_trigger(),
  -- tenancy
  privacy.authenticate(text, text), privacy.logout(), privacy.current_tenant(),
  privacy.current_subject(), privacy.current_roles(), privacy.current_region(),
  -- classification: inserted by the planner into the reader's own queries, so every reader
  -- executes them; they only ever hide data, and check their argument types
  privacy._masked(anyelement, text, text[]), privacy._masked_row(anyelement, oid),
  -- encryption
  privacy.encrypt(text), privacy.encrypt(text, text), privacy.decrypt(bytea),
  privacy.decrypt_bytea(bytea), privacy.pseudonymize(text, text),
  -- provider calls
  privacy.provider_call(text, jsonb), privacy.provider_call_many(text, jsonb[])
TO PUBLIC;

-- Trusted middleware sets a context it authenticated itself (the function checks membership too).
GRANT EXECUTE ON FUNCTION privacy.set_context(text, text, text[], text, text) TO privacy_middleware;

-- The auditor reads and verifies the log (granted where audit defines them, repeated here so that
-- this file states the whole surface).
GRANT EXECUTE ON FUNCTION privacy.audit_verify(bigint, bigint, bigint, text), privacy.audit_hmac(text),
  privacy.audit_head(), privacy.cluster_audit_verify() TO privacy_auditor;

-- On a Citus cluster (80_cluster.sql) nothing is granted to PUBLIC: privacy.cluster_sync() and the
-- internal routines (_cluster_apply, _config_digest, _distribution_column,
-- _purge_batch_distributed) stay with the owner and superusers, like the rest of the DBA surface.
