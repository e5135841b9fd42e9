-- COMMENT ON every public function, procedure, view and table that had none (test/pgtap/
-- 80_operations.sql checks that none is missing): \df+ and \dt+ in psql say what each is for.
COMMENT ON FUNCTION privacy.add_signing_key(text, text, text, timestamptz, timestamptz) IS
  'adds a key that verifies privacy.authenticate() tokens: kid, HS256/RS256/ES256, secret or PEM public key, optional validity window';
COMMENT ON FUNCTION privacy.revoke_signing_key(text) IS
  'revokes a signing key: tokens it signed are refused from now on (PV204)';
COMMENT ON FUNCTION privacy.current_tenant() IS
  'the verified tenant of this transaction (or session), NULL without a verified context';
COMMENT ON FUNCTION privacy.current_subject() IS
  'the verified subject (user) of this transaction (or session), NULL without a verified context';
COMMENT ON FUNCTION privacy.current_roles() IS
  'the roles of the verified context (the token''s roles claim), NULL without a verified context';
COMMENT ON FUNCTION privacy.current_region() IS
  'the region of the verified context (the token''s region claim), NULL without a verified context';
COMMENT ON FUNCTION privacy.logout() IS
  'ends the verified context now, before the end of the transaction or session';
COMMENT ON FUNCTION privacy.unprotect(regclass) IS
  'removes the tenant policies privacy.protect() created (row-level security stays forced: the table stays closed)';
COMMENT ON VIEW privacy.protected IS
  'the tables privacy.protect() protects, with their tenant and subject columns';
COMMENT ON TABLE privacy.protected_tables IS
  'the tables privacy.protect() protects (configuration: pg_dump keeps it); read privacy.protected';
COMMENT ON FUNCTION privacy.contains_pii(text) IS
  'true when the text holds any finding of the redaction engine (built-in detectors, rules, dictionaries)';
COMMENT ON FUNCTION privacy.redact(text, text[]) IS
  'replaces the findings of the given entity types only by their placeholders';
COMMENT ON FUNCTION privacy.detectors() IS
  'the built-in detectors and the custom rules: entity type, default action, description, source';
COMMENT ON FUNCTION privacy.load_dictionary(text, text, text[], text) IS
  'creates or replaces a dictionary of terms (hashed) whose occurrences are findings of an entity type';
COMMENT ON FUNCTION privacy.load_dictionary(text, text, regclass, name, text) IS
  'creates or replaces a dictionary from a column of a table';
COMMENT ON TABLE privacy.dictionary_terms IS
  'the terms of each dictionary (see privacy.dictionaries)';
COMMENT ON FUNCTION privacy.finding_stats() IS
  'findings per tenant and entity type since the last reset, from shared memory (privacy.findings reads it)';
COMMENT ON FUNCTION privacy.reset_finding_stats() IS
  'resets the finding counters of privacy.findings';
COMMENT ON FUNCTION privacy.audit_head() IS
  'the head of the audit chain (id, hash, at) to export and keep outside the database';
COMMENT ON FUNCTION privacy.unaudit(regclass) IS
  'detaches the audit triggers of a table (recorded as a configuration change)';
COMMENT ON TABLE privacy.audit_queue IS
  'audit records not sealed yet (privacy.audit_seal() moves them into privacy.audit_log); append-only';
COMMENT ON TABLE privacy.audit_checkpoints IS
  'the chain''s state after each privacy.audit_purge(): verification starts after the latest';
COMMENT ON TABLE privacy.audited_tables IS
  'the tables privacy.audit() attached triggers to, and their values mode (configuration: pg_dump keeps it)';
COMMENT ON VIEW privacy.audit_by_table IS
  'audit records per table and action, with the first and last time (what the reader may see)';
COMMENT ON VIEW privacy.audit_by_tenant IS
  'audit records per tenant, kind and action (what the reader may see)';
COMMENT ON VIEW privacy.audit_by_subject IS
  'audit records per tenant, subject and action (what the reader may see)';
COMMENT ON FUNCTION privacy.provider_reset_limits() IS
  'empties the provider rate-limit buckets (every tenant and subject starts with a full burst)';
COMMENT ON FUNCTION privacy.unregister_provider(text) IS
  'removes a provider and its wrapped API key; true when it existed';
COMMENT ON FUNCTION privacy.unregister_subject_table(regclass) IS
  'removes a table from the subject registry (PV802 when it is not registered)';
