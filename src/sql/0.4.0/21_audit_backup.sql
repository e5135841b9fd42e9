-- Audit, backup and restore: pg_dump keeps the chain (the log, its checkpoints, the records still
-- queued, the qid sequence) and the HMAC key, so a restored database verifies, an exported head
-- still verifies and pseudonyms still link (docs/audit.md, "Backup and restore"). The append-only
-- guard lets a dump's COPY FROM into an empty log through, and records the restore
-- (src/pg/audit_guard.cpp).
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_checkpoints', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_queue', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_queue_qid_seq', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.audit_settings', '');

-- audit_settings holds one row, made by CREATE EXTENSION: the row a restore inserts replaces it
-- (the HMAC key and the retention of the source), as an UPDATE, so that it is audited as a
-- configuration change and reaches every backend's cached key.
CREATE FUNCTION privacy._audit_settings_replace() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT FROM privacy.audit_settings) THEN
    UPDATE privacy.audit_settings
       SET hmac_key = NEW.hmac_key, retention = NEW.retention, updated_at = NEW.updated_at;
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION privacy._audit_settings_replace() FROM PUBLIC;
CREATE TRIGGER replace_singleton BEFORE INSERT ON privacy.audit_settings
  FOR EACH ROW EXECUTE FUNCTION privacy._audit_settings_replace();
