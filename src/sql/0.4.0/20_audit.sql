-- Audit: C++ triggers append records to a queue (no index, no SPI, no grant needed); the sealer
-- moves committed records into privacy.audit_log in a SHA-256 hash chain; the verifier walks the
-- chain; the log is append-only, purged by retention from a checkpoint, readable per tenant.

-- The role that reads every audit record and verifies the chain.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'privacy_auditor') THEN
    CREATE ROLE privacy_auditor NOLOGIN;
  END IF;
END $$;

CREATE FUNCTION privacy._audit_new_key() RETURNS bytea
  AS 'MODULE_PATHNAME', 'pgp_audit_new_key' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._audit_new_key() FROM PUBLIC;

-- One row: the HMAC key of 'hmac' mode (random at install, readable by the owner only) and the
-- log's retention period.
CREATE TABLE privacy.audit_settings (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  hmac_key  bytea NOT NULL CHECK (length(hmac_key) = 32),
  retention interval NOT NULL DEFAULT '90 days' CHECK (retention >= interval '0'),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE privacy.audit_settings IS
  'audit settings: the HMAC key of ''hmac'' mode and the log''s retention; readable by the extension owner only';
REVOKE ALL ON privacy.audit_settings FROM PUBLIC;
INSERT INTO privacy.audit_settings (hmac_key) VALUES (privacy._audit_new_key());

-- The queue writers append to: no index and no trigger on the write path.
-- CACHE: each backend takes 1,000 qids at a time, so the trigger's nextval is a counter bump,
-- not a buffer lock and a WAL record per row. Qids then increase in write order within each
-- backend; across backends they only need to be unique, since the sealer's order within one
-- call just has to be deterministic.
CREATE SEQUENCE privacy.audit_queue_qid_seq CACHE 1000;
CREATE TABLE privacy.audit_queue (
  qid             bigint NOT NULL,
  at              timestamptz NOT NULL,
  xid             xid8 NOT NULL,
  tenant          text,
  subject         text,
  subject_erased  boolean NOT NULL DEFAULT false,
  role            text NOT NULL,
  action          text NOT NULL,
  kind            text NOT NULL,
  table_name      text,
  pk              jsonb,
  changed_columns text[],
  row_values      jsonb,
  detail          jsonb
);
REVOKE ALL ON privacy.audit_queue FROM PUBLIC;
REVOKE ALL ON SEQUENCE privacy.audit_queue_qid_seq FROM PUBLIC;

-- The sealed log: ids dense in chain order, hash = SHA-256(prev_hash || canonical(record)).
-- The subject is hashed as its keyed HMAC; subject_erased (not hashed) says the column holds that
-- HMAC already, after privacy._audit_erase_subject(), so erasing a subject keeps the chain valid.
CREATE TABLE privacy.audit_log (
  id              bigint PRIMARY KEY,
  qid             bigint NOT NULL,
  at              timestamptz NOT NULL,
  xid             xid8 NOT NULL,
  tenant          text,
  subject         text,
  subject_erased  boolean NOT NULL DEFAULT false,
  role            text NOT NULL,
  action          text NOT NULL,
  kind            text NOT NULL,
  table_name      text,
  pk              jsonb,
  changed_columns text[],
  row_values      jsonb,
  detail          jsonb,
  prev_hash       bytea NOT NULL,
  hash            bytea NOT NULL
);
COMMENT ON TABLE privacy.audit_log IS
  'sealed audit records in a SHA-256 hash chain; append-only; verify with privacy.audit_verify()';
REVOKE ALL ON privacy.audit_log FROM PUBLIC;

-- The chain state after each purge: verification starts after the latest one.
CREATE TABLE privacy.audit_checkpoints (
  id     bigint PRIMARY KEY,
  hash   bytea NOT NULL,
  purged bigint NOT NULL,
  at     timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON privacy.audit_checkpoints FROM PUBLIC;

-- Append-only: only the sealer and the purge get past this, or the audited maintenance switch.
CREATE FUNCTION privacy._audit_guard() RETURNS trigger
  AS 'MODULE_PATHNAME', 'pgp_audit_guard' LANGUAGE C;
REVOKE ALL ON FUNCTION privacy._audit_guard() FROM PUBLIC;
CREATE TRIGGER append_only BEFORE INSERT OR UPDATE OR DELETE ON privacy.audit_log
  FOR EACH ROW EXECUTE FUNCTION privacy._audit_guard();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON privacy.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._audit_guard();
CREATE TRIGGER append_only BEFORE INSERT OR UPDATE OR DELETE ON privacy.audit_queue
  FOR EACH ROW EXECUTE FUNCTION privacy._audit_guard();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON privacy.audit_queue
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._audit_guard();
CREATE TRIGGER append_only BEFORE INSERT OR UPDATE OR DELETE ON privacy.audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION privacy._audit_guard();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON privacy.audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._audit_guard();

-- Reading: a tenant's verified context sees its own records (none without a context); the
-- auditor role sees all. The owner is not subject to these policies (RLS is not forced).
ALTER TABLE privacy.audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_tenant_read ON privacy.audit_log FOR SELECT TO PUBLIC
  USING (tenant = privacy.current_tenant());
CREATE POLICY audit_auditor_read ON privacy.audit_log FOR SELECT TO privacy_auditor USING (true);
-- The auditor's grants (SELECT on the log and its checkpoints, EXECUTE on audit_verify, audit_head,
-- audit_hmac) are rows of privacy.role_grants (85_roles.sql), applied by 95_privileges.sql.

CREATE VIEW privacy.audit_by_table WITH (security_invoker = true) AS
SELECT table_name, action, count(*) AS records, min(at) AS first_at, max(at) AS last_at
  FROM privacy.audit_log WHERE table_name IS NOT NULL GROUP BY table_name, action;
CREATE VIEW privacy.audit_by_tenant WITH (security_invoker = true) AS
SELECT tenant, kind, action, count(*) AS records, min(at) AS first_at, max(at) AS last_at
  FROM privacy.audit_log GROUP BY tenant, kind, action;
CREATE VIEW privacy.audit_by_subject WITH (security_invoker = true) AS
SELECT tenant, subject, action, count(*) AS records, min(at) AS first_at, max(at) AS last_at
  FROM privacy.audit_log WHERE subject IS NOT NULL GROUP BY tenant, subject, action;
GRANT SELECT ON privacy.audit_by_table, privacy.audit_by_tenant, privacy.audit_by_subject TO PUBLIC;

-- The trigger privacy.audit() attaches: arguments are the values mode and optionally the kind.
CREATE FUNCTION privacy._audit_trigger() RETURNS trigger
  AS 'MODULE_PATHNAME', 'pgp_audit_trigger' LANGUAGE C;
REVOKE ALL ON FUNCTION privacy._audit_trigger() FROM PUBLIC;

CREATE FUNCTION privacy._audit_record(kind text, action text, table_name text, detail jsonb) RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_audit_record' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._audit_record(text, text, text, jsonb) FROM PUBLIC;

CREATE FUNCTION privacy.audit_seal() RETURNS bigint
  AS 'MODULE_PATHNAME', 'pgp_audit_seal' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.audit_seal() IS
  'moves committed records from the queue into the hash chain of privacy.audit_log; returns how many';
REVOKE ALL ON FUNCTION privacy.audit_seal() FROM PUBLIC;

CREATE FUNCTION privacy.audit_verify(from_id bigint DEFAULT NULL, to_id bigint DEFAULT NULL,
    head_id bigint DEFAULT NULL, head_hash text DEFAULT NULL)
  RETURNS TABLE (ok boolean, checked bigint, first_bad_id bigint, reason text)
  AS 'MODULE_PATHNAME', 'pgp_audit_verify' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.audit_verify(bigint, bigint, bigint, text) IS
  'walks the hash chain of the sealed log; with an exported head, also detects a cut-off or rewritten tail';
REVOKE ALL ON FUNCTION privacy.audit_verify(bigint, bigint, bigint, text) FROM PUBLIC;

-- Subject erasure (called by the subject-rights feature, which writes its own audit record):
-- replaces the subject's raw value by its pseudonym, the HMAC the chain hashes in its place.
CREATE FUNCTION privacy._audit_erase_subject(tenant text, subject text) RETURNS bigint
  AS 'MODULE_PATHNAME', 'pgp_audit_erase_subject' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy._audit_erase_subject(text, text) IS
  'replaces a subject by its keyed HMAC in the audit log and queue (the chain still verifies); returns how many records';
REVOKE ALL ON FUNCTION privacy._audit_erase_subject(text, text) FROM PUBLIC;

CREATE FUNCTION privacy.audit_purge(older_than interval DEFAULT NULL) RETURNS bigint
  AS 'MODULE_PATHNAME', 'pgp_audit_purge' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.audit_purge(interval) IS
  'deletes the oldest sealed records (retention setting by default) and records a checkpoint';
REVOKE ALL ON FUNCTION privacy.audit_purge(interval) FROM PUBLIC;

CREATE FUNCTION privacy.audit_maintenance(enabled boolean, reason text) RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_audit_maintenance' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.audit_maintenance(boolean, text) IS
  'extension owner only: lets this transaction change the audit tables directly; every switch is audited';
REVOKE ALL ON FUNCTION privacy.audit_maintenance(boolean, text) FROM PUBLIC;

CREATE FUNCTION privacy.audit_hmac(value text) RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_audit_hmac' LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.audit_hmac(text) IS
  'the keyed HMAC that ''hmac'' mode stores for a value: proves which value a record refers to';
REVOKE ALL ON FUNCTION privacy.audit_hmac(text) FROM PUBLIC;

-- The head to export and notarize outside the database: the last sealed record (or, when every
-- record was purged, the latest checkpoint).
CREATE FUNCTION privacy.audit_head(OUT id bigint, OUT hash text, OUT at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT h.id, encode(h.hash, 'hex'), h.at FROM (
    (SELECT l.id, l.hash, l.at FROM privacy.audit_log l ORDER BY l.id DESC LIMIT 1)
    UNION ALL
    (SELECT c.id, c.hash, c.at FROM privacy.audit_checkpoints c ORDER BY c.id DESC LIMIT 1)
    UNION ALL
    SELECT 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea, NULL
  ) h ORDER BY h.id DESC LIMIT 1
$$;
REVOKE ALL ON FUNCTION privacy.audit_head() FROM PUBLIC;

-- The audited tables and their values mode (configuration: dumped by pg_dump).
CREATE TABLE privacy.audited_tables (
  table_name  regclass PRIMARY KEY,
  values_mode text NOT NULL CHECK (values_mode IN ('none', 'redacted', 'hmac')),
  audited_at  timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('privacy.audited_tables', '');

-- The mode's argument is values_mode, not "values": VALUES is a reserved word, so a parameter
-- of that name could not be passed by name without quotes.
CREATE FUNCTION privacy.audit(tbl regclass, values_mode text DEFAULT 'none') RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $$
DECLARE
  t regclass;
BEGIN
  IF values_mode IS NULL OR values_mode NOT IN ('none', 'redacted', 'hmac') THEN
    RAISE EXCEPTION 'invalid audit values mode' USING ERRCODE = '22023',
      HINT = 'The values mode is ''none'' (the default), ''redacted'' or ''hmac''.';
  END IF;
  IF (SELECT relkind FROM pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION 'relation % is not a table', tbl USING ERRCODE = '22023';
  END IF;
  IF (SELECT relnamespace FROM pg_class WHERE oid = tbl) = 'privacy'::regnamespace THEN
    RAISE EXCEPTION 'the tables of pg_privacy are audited already' USING ERRCODE = '22023';
  END IF;
  -- A Citus distributed table: its triggers fire on the shards, which Citus allows only with
  -- citus.enable_unsafe_triggers (docs/citus.md); records then name the table, not the shard.
  IF privacy._distribution_column(tbl) IS NOT NULL THEN
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
  END IF;
  -- Row triggers on a partitioned table are cloned to its partitions; TRUNCATE triggers are
  -- statement triggers and are not, so each current partition gets its own.
  FOR t IN SELECT relid FROM pg_partition_tree(tbl) WHERE relid IS NOT NULL UNION SELECT tbl LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS privacy_audit_truncate ON %s', t);
    EXECUTE format('CREATE TRIGGER privacy_audit_truncate AFTER TRUNCATE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION privacy._audit_trigger(%L)', t, values_mode);
  END LOOP;
  EXECUTE format('DROP TRIGGER IF EXISTS privacy_audit ON %s', tbl);
  EXECUTE format('CREATE TRIGGER privacy_audit AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
                 'EXECUTE FUNCTION privacy._audit_trigger(%L)', tbl, values_mode);
  INSERT INTO privacy.audited_tables (table_name, values_mode) VALUES (tbl, audit.values_mode)
  ON CONFLICT (table_name) DO UPDATE SET values_mode = EXCLUDED.values_mode, audited_at = now()
   WHERE audited_tables.values_mode IS DISTINCT FROM EXCLUDED.values_mode;
END $$;
COMMENT ON FUNCTION privacy.audit(regclass, text) IS
  'attaches audit triggers: every INSERT, UPDATE, DELETE and TRUNCATE is recorded, values as chosen (none, redacted, hmac)';
REVOKE ALL ON FUNCTION privacy.audit(regclass, text) FROM PUBLIC;

CREATE FUNCTION privacy.unaudit(tbl regclass) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $$
DECLARE
  t regclass;
BEGIN
  IF NOT EXISTS (SELECT FROM privacy.audited_tables WHERE table_name = tbl) THEN
    RAISE EXCEPTION 'relation % is not audited', tbl USING ERRCODE = '22023';
  END IF;
  IF privacy._distribution_column(tbl) IS NOT NULL THEN
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
  END IF;
  FOR t IN SELECT relid FROM pg_partition_tree(tbl) WHERE relid IS NOT NULL UNION SELECT tbl LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS privacy_audit_truncate ON %s', t);
  END LOOP;
  EXECUTE format('DROP TRIGGER IF EXISTS privacy_audit ON %s', tbl);
  DELETE FROM privacy.audited_tables WHERE table_name = tbl;
END $$;
REVOKE ALL ON FUNCTION privacy.unaudit(regclass) FROM PUBLIC;

-- Every change to the extension's configuration is audited: names of changed columns, never
-- values ('none' mode), so no key material or pattern reaches the log. Dictionary terms are
-- recorded per statement: a term is the key of its row, and a load is one record, not thousands.
CREATE FUNCTION privacy._audit_config_table(tbl regclass, per_statement boolean DEFAULT false)
  RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER config_audit AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH %s '
                 'EXECUTE FUNCTION privacy._audit_trigger(''none'', ''config'')',
                 tbl, CASE WHEN per_statement THEN 'STATEMENT' ELSE 'ROW' END);
  EXECUTE format('CREATE TRIGGER config_audit_truncate AFTER TRUNCATE ON %s FOR EACH STATEMENT '
                 'EXECUTE FUNCTION privacy._audit_trigger(''none'', ''config'')', tbl);
END $$;
REVOKE ALL ON FUNCTION privacy._audit_config_table(regclass, boolean) FROM PUBLIC;
SELECT privacy._audit_config_table('privacy.rules');
SELECT privacy._audit_config_table('privacy.allow_list');
SELECT privacy._audit_config_table('privacy.dictionaries');
SELECT privacy._audit_config_table('privacy.dictionary_terms', per_statement => true);
SELECT privacy._audit_config_table('privacy.signing_keys');
SELECT privacy._audit_config_table('privacy.protected_tables');
SELECT privacy._audit_config_table('privacy.audited_tables');
SELECT privacy._audit_config_table('privacy.audit_settings');
SELECT privacy._audit_config_table('privacy.classified_columns');
-- A change of the HMAC key reaches every backend's cached copy.
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.audit_settings
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();

-- DDL: command tag, object type and identity (never the statement text). A failure to record
-- must not break the DDL: it becomes a WARNING. The extension's own script is not recorded.
CREATE FUNCTION privacy._audit_ddl() RETURNS event_trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r record;
  on_worker boolean;
BEGIN
  -- On Citus, DDL that the coordinator propagates and the shards Citus manages arrive on the
  -- workers through its internal connections: the coordinator records the user's command once,
  -- on the logical objects (docs/citus.md). Only on a worker: any client may set the marker (an
  -- application_name), and on the coordinator it would keep the client's own DDL out of the log.
  IF current_setting('application_name') LIKE 'citus\_internal gpid=%'
     AND to_regclass('pg_catalog.pg_dist_local_group') IS NOT NULL THEN
    EXECUTE 'SELECT groupid <> 0 FROM pg_catalog.pg_dist_local_group' INTO on_worker;
    IF on_worker THEN
      RETURN;
    END IF;
  END IF;
  IF tg_event = 'sql_drop' THEN
    FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() WHERE original LOOP
      PERFORM privacy._audit_record('ddl', tg_tag,
        CASE WHEN r.object_type IN ('table', 'view', 'materialized view', 'foreign table')
             THEN r.object_identity END,
        jsonb_build_object('object_type', r.object_type, 'object_identity', r.object_identity));
      IF r.object_type = 'table' THEN
        DELETE FROM privacy.audited_tables WHERE table_name::oid = r.objid;
      END IF;
    END LOOP;
  ELSE
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE NOT in_extension LOOP
      PERFORM privacy._audit_record('ddl', r.command_tag,
        CASE WHEN r.object_type IN ('table', 'view', 'materialized view', 'foreign table')
             THEN r.object_identity END,
        jsonb_build_object('object_type', r.object_type, 'object_identity', r.object_identity));
    END LOOP;
  END IF;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'pg_privacy could not audit a DDL command (SQLSTATE %)', SQLSTATE;
END $$;
REVOKE ALL ON FUNCTION privacy._audit_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER privacy_audit_ddl ON ddl_command_end EXECUTE FUNCTION privacy._audit_ddl();
CREATE EVENT TRIGGER privacy_audit_drop ON sql_drop EXECUTE FUNCTION privacy._audit_ddl();
