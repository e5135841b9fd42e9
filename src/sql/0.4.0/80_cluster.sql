-- pg_privacy on a Citus cluster (docs/citus.md). Every function here works without Citus too.

-- The distribution column of a Citus distributed table, or NULL (no Citus, or not distributed).
-- Dynamic SQL: pg_dist_partition exists only where Citus is installed.
CREATE FUNCTION privacy._distribution_column(tbl regclass) RETURNS name
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  col name;
BEGIN
  IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE 'SELECT column_to_column_name(logicalrelid, partkey) FROM pg_catalog.pg_dist_partition '
          'WHERE logicalrelid = $1 AND partkey IS NOT NULL'
     INTO col USING tbl;
  RETURN col;
END $$;
REVOKE ALL ON FUNCTION privacy._distribution_column(regclass) FROM PUBLIC;

-- protect(): as in 0.3.0, except that the tenant column of a table distributed by it gets no
-- DEFAULT privacy.current_tenant(): Citus refuses to alter a distribution column. Rows name their
-- tenant explicitly there, and the WITH CHECK policy still refuses any other tenant.
CREATE OR REPLACE FUNCTION privacy.protect(tbl regclass, tenant_column name DEFAULT 'tenant_id',
    subject_column name DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  t regclass;
  cond text;
  coltype oid;
BEGIN
  SELECT atttypid INTO coltype FROM pg_attribute
   WHERE attrelid = tbl AND attname = tenant_column AND attnum > 0 AND NOT attisdropped;
  IF coltype IS NULL THEN
    RAISE EXCEPTION 'column "%" of relation % does not exist', tenant_column, tbl
      USING ERRCODE = '42703', HINT = 'Name the tenant column: privacy.protect(tbl, ''org_id'').';
  END IF;
  IF subject_column IS NOT NULL AND NOT EXISTS (SELECT FROM pg_attribute
      WHERE attrelid = tbl AND attname = subject_column AND attnum > 0 AND NOT attisdropped) THEN
    RAISE EXCEPTION 'column "%" of relation % does not exist', subject_column, tbl USING ERRCODE = '42703';
  END IF;
  -- The context is cast to the column's type (not the column to text) so indexes on the
  -- tenant column stay usable.
  cond := format('%I = privacy.current_tenant()::%s', tenant_column, format_type(coltype, NULL));
  IF subject_column IS NOT NULL THEN
    SELECT atttypid INTO coltype FROM pg_attribute WHERE attrelid = tbl AND attname = subject_column;
    cond := cond || format(' AND %I = privacy.current_subject()::%s', subject_column, format_type(coltype, NULL));
  END IF;
  FOR t IN SELECT * FROM privacy._protect_targets(tbl) LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    PERFORM privacy._drop_policies(t);
    -- Restrictive: ANDed with every other policy, so no permissive policy of the user's can
    -- widen access beyond the verified tenant.
    EXECUTE format('CREATE POLICY privacy_tenant_guard ON %s AS RESTRICTIVE FOR ALL TO PUBLIC '
                   'USING (%s) WITH CHECK (%s)', t, cond, cond);
    -- Permissive: restrictive policies alone grant nothing. It carries the same condition, so
    -- that both depend on privacy.current_tenant(): DROP EXTENSION drops both and leaves the
    -- table closed (RLS on, no policy), never open.
    EXECUTE format('CREATE POLICY privacy_tenant_access ON %s AS PERMISSIVE FOR ALL TO PUBLIC '
                   'USING (%s) WITH CHECK (%s)', t, cond, cond);
  END LOOP;
  IF privacy._distribution_column(tbl) IS DISTINCT FROM tenant_column THEN
    SELECT atttypid INTO coltype FROM pg_attribute WHERE attrelid = tbl AND attname = tenant_column;
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT privacy.current_tenant()::%s',
                   tbl, tenant_column, format_type(coltype, NULL));
  END IF;
  INSERT INTO privacy.protected_tables (table_name, tenant_column, subject_column)
       VALUES (tbl, tenant_column, subject_column)
  ON CONFLICT (table_name) DO UPDATE
     SET tenant_column = EXCLUDED.tenant_column, subject_column = EXCLUDED.subject_column,
         protected_at = now();
END $$;
REVOKE ALL ON FUNCTION privacy.protect(regclass, name, name) FROM PUBLIC;

-- The configuration version of this node: SHA-256 over the rows of the configuration that
-- workers use (the redaction engine's rules, allow-list, dictionaries and terms), in a fixed
-- order and text form (UTC, ISO dates, "C" collation), so that two nodes with the same rows
-- agree whatever their settings. A coordinator seals it into the context it sends; a worker
-- whose own version differs refuses (PV904). Replicated by privacy.cluster_sync().
CREATE FUNCTION privacy._config_digest() RETURNS text
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD'
  SET "IntervalStyle" = 'postgres' SET extra_float_digits = 1 AS $$
  SELECT encode(sha256(convert_to(concat_ws(E'\n',
    'rules', (SELECT string_agg(r::text, E'\n' ORDER BY r.rule_id) FROM privacy.rules r),
    'allow_list', (SELECT string_agg(a::text, E'\n' ORDER BY a.allow_id) FROM privacy.allow_list a),
    'dictionaries', (SELECT string_agg(d::text, E'\n' ORDER BY d.name COLLATE "C") FROM privacy.dictionaries d),
    'dictionary_terms', (SELECT string_agg(t::text, E'\n' ORDER BY t.dictionary COLLATE "C", t.term COLLATE "C")
                           FROM privacy.dictionary_terms t)), 'UTF8')), 'hex')
$$;
REVOKE ALL ON FUNCTION privacy._config_digest() FROM PUBLIC;

-- On a worker: replaces the replicated configuration with the coordinator's rows (the payload
-- privacy.cluster_sync() sends) and checks that the result has the coordinator's version.
CREATE FUNCTION privacy._cluster_apply(payload jsonb) RETURNS text
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM privacy.dictionary_terms;
  DELETE FROM privacy.dictionaries;
  DELETE FROM privacy.allow_list;
  DELETE FROM privacy.rules;
  INSERT INTO privacy.rules SELECT * FROM jsonb_populate_recordset(NULL::privacy.rules, payload -> 'rules');
  INSERT INTO privacy.allow_list
    SELECT * FROM jsonb_populate_recordset(NULL::privacy.allow_list, payload -> 'allow_list');
  INSERT INTO privacy.dictionaries
    SELECT * FROM jsonb_populate_recordset(NULL::privacy.dictionaries, payload -> 'dictionaries');
  INSERT INTO privacy.dictionary_terms
    SELECT * FROM jsonb_populate_recordset(NULL::privacy.dictionary_terms, payload -> 'dictionary_terms');
  IF privacy._config_digest() IS DISTINCT FROM payload ->> 'digest' THEN
    RAISE EXCEPTION 'the configuration received from the coordinator does not have its version'
      USING ERRCODE = 'PV904', HINT = 'Check that every node runs the same pg_privacy version.';
  END IF;
  RETURN payload ->> 'digest';
END $$;
REVOKE ALL ON FUNCTION privacy._cluster_apply(jsonb) FROM PUBLIC;

-- On the coordinator: sends the replicated configuration to every worker (run_command_on_workers,
-- one transaction per worker) and returns each worker's new version. Call it after committing a
-- change to rules, allow-list or dictionaries: until then the workers refuse (PV904).
CREATE FUNCTION privacy.cluster_sync(OUT node text, OUT port integer, OUT config_version text)
  RETURNS SETOF record
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  payload jsonb;
  r record;
BEGIN
  IF to_regclass('pg_catalog.pg_dist_node') IS NULL THEN
    RAISE EXCEPTION 'privacy.cluster_sync() needs Citus' USING ERRCODE = 'PV903',
      HINT = 'It replicates the configuration from a Citus coordinator to its workers.';
  END IF;
  payload := jsonb_build_object(
    'digest', privacy._config_digest(),
    'rules', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM privacy.rules t),
    'allow_list', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM privacy.allow_list t),
    'dictionaries', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM privacy.dictionaries t),
    'dictionary_terms', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM privacy.dictionary_terms t));
  FOR r IN EXECUTE 'SELECT nodename, nodeport, success, result FROM run_command_on_workers($1) '
                   'ORDER BY nodename, nodeport'
      USING format('SELECT privacy._cluster_apply(%L::jsonb)', payload::text) LOOP
    IF NOT r.success THEN
      RAISE EXCEPTION 'the configuration could not be sent to worker %:%', r.nodename, r.nodeport
        USING ERRCODE = 'PV905', DETAIL = r.result,
              HINT = 'The workers refuse tenant statements (PV904) until privacy.cluster_sync() succeeds.';
    END IF;
    node := r.nodename;
    port := r.nodeport;
    config_version := r.result;
    RETURN NEXT;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy.cluster_sync() FROM PUBLIC;
COMMENT ON FUNCTION privacy.cluster_sync() IS
  'replicates the redaction configuration from a Citus coordinator to every worker';

-- Routing (docs/citus.md) caches which protected tables are distributed by their tenant column:
-- a change to the list invalidates that cache in every backend.
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.protected_tables
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();

-- Audit on a cluster: each node keeps its own hash chain of the records written there (on the
-- workers, the rows of the shards they hold, named by their distributed table). From the
-- coordinator, verifies every node's chain and exports every node's head, by Citus node id.
CREATE FUNCTION privacy.cluster_audit_verify(OUT nodeid integer, OUT ok boolean, OUT checked bigint,
    OUT head_id bigint, OUT head_hash text, OUT error text)
  RETURNS SETOF record
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r record;
  parts text[];
BEGIN
  IF to_regclass('pg_catalog.pg_dist_node') IS NULL THEN
    RAISE EXCEPTION 'privacy.cluster_audit_verify() needs Citus' USING ERRCODE = 'PV903',
      HINT = 'On a single server, call privacy.audit_verify() and privacy.audit_head().';
  END IF;
  FOR r IN EXECUTE 'SELECT nodeid, success, result FROM run_command_on_all_nodes($1) ORDER BY nodeid'
      USING 'SELECT concat_ws(''|'', v.ok, v.checked, h.id, h.hash) '
            'FROM privacy.audit_verify() v, privacy.audit_head() h' LOOP
    nodeid := r.nodeid;
    IF r.success THEN
      parts := string_to_array(r.result, '|');
      ok := parts[1]::boolean;
      checked := parts[2]::bigint;
      head_id := NULLIF(parts[3], '')::bigint;
      head_hash := NULLIF(parts[4], '');
      error := NULL;
    ELSE
      ok := false;
      checked := NULL;
      head_id := NULL;
      head_hash := NULL;
      error := r.result;
    END IF;
    RETURN NEXT;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy.cluster_audit_verify() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.cluster_audit_verify() TO privacy_auditor;
COMMENT ON FUNCTION privacy.cluster_audit_verify() IS
  'verifies the audit chain of every node of a Citus cluster and exports each node''s head';
