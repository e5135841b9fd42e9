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

-- The statistics target of a column of a Citus table (distributed or reference), for classify()
-- and unclassify() (10_classify.sql): Citus refuses ALTER TABLE ... SET STATISTICS on such a
-- table, so it is set on the coordinator's table alone (Citus copies the target into every shard
-- it creates later). Turning statistics off (0) also reaches each existing shard, where the rows
-- and their statistics are, and deletes what the shards collected. run_command_on_shards()
-- commits on each worker at once, whatever this transaction does next, so only that safe
-- direction goes to the shards: unclassify() turns them back on for new shards only (docs/citus.md).
-- False, and nothing done, for any other table.
CREATE FUNCTION privacy._cluster_column_statistics(tbl regclass, col name, target integer) RETURNS boolean
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  citus_table boolean;
  propagation text;
  r record;
BEGIN
  IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
    RETURN false;
  END IF;
  EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
     INTO citus_table USING tbl;
  IF NOT citus_table THEN
    RETURN false;
  END IF;
  propagation := current_setting('citus.enable_ddl_propagation');
  PERFORM set_config('citus.enable_ddl_propagation', 'off', true);
  EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', tbl, col, target);
  PERFORM set_config('citus.enable_ddl_propagation', propagation, true);
  IF target <> 0 THEN
    RETURN true;
  END IF;
  -- run_command_on_shards() puts each shard's name in place of %s with format(): every other %
  -- is doubled. The shard is named as a type (its row type), never inside a string literal.
  FOR r IN EXECUTE 'SELECT success, result FROM run_command_on_shards($1, $2)'
      USING tbl, 'ALTER TABLE %s ALTER COLUMN ' || replace(quote_ident(col), '%', '%%') || ' SET STATISTICS 0' LOOP
    IF NOT r.success THEN
      RAISE EXCEPTION 'the statistics of a column of % could not be turned off on a shard', tbl
        USING ERRCODE = 'PV958', DETAIL = r.result;
    END IF;
  END LOOP;
  FOR r IN EXECUTE 'SELECT success, result FROM run_command_on_shards($1, $2)'
      USING tbl, 'SELECT privacy._forget_column_stats(t.typrelid::regclass, ' || replace(quote_literal(col), '%', '%%')
                 || ') FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.pg_typeof(NULL::%s)' LOOP
    IF NOT r.success THEN
      RAISE EXCEPTION 'the statistics of a column of % could not be deleted on a shard', tbl
        USING ERRCODE = 'PV958', DETAIL = r.result;
    END IF;
  END LOOP;
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION privacy._cluster_column_statistics(regclass, name, integer) FROM PUBLIC;

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
-- whose own version differs refuses (PV954). Replicated by privacy.cluster_sync().
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
      USING ERRCODE = 'PV954', HINT = 'Check that every node runs the same pg_privacy version.';
  END IF;
  RETURN payload ->> 'digest';
END $$;
REVOKE ALL ON FUNCTION privacy._cluster_apply(jsonb) FROM PUBLIC;

-- On the coordinator: sends the replicated configuration to every worker (run_command_on_workers,
-- one transaction per worker) and returns each worker's new version. Call it after committing a
-- change to rules, allow-list or dictionaries: until then the workers refuse (PV954).
CREATE FUNCTION privacy.cluster_sync(OUT node text, OUT port integer, OUT config_version text)
  RETURNS SETOF record
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  payload jsonb;
  r record;
BEGIN
  IF to_regclass('pg_catalog.pg_dist_node') IS NULL THEN
    RAISE EXCEPTION 'privacy.cluster_sync() needs Citus' USING ERRCODE = 'PV953',
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
        USING ERRCODE = 'PV955', DETAIL = r.result,
              HINT = 'The workers refuse tenant statements (PV954) until privacy.cluster_sync() succeeds.';
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
    RAISE EXCEPTION 'privacy.cluster_audit_verify() needs Citus' USING ERRCODE = 'PV953',
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
COMMENT ON FUNCTION privacy.cluster_audit_verify() IS
  'verifies the audit chain of every node of a Citus cluster and exports each node''s head';

-- Retention on a Citus distributed table (docs/citus.md). A ctid names a row within one shard
-- only: "DELETE ... WHERE ctid = ANY(...)" through the coordinator deletes the rows at those
-- positions in every shard. A batch is therefore chosen and deleted by primary key, which on a
-- distributed table includes the distribution column. Everything the generic batch reads from
-- the extension's local tables (keep periods, listed tenants, legal holds) is read here first and
-- passed as constants: Citus cannot join a distributed table with local tables in one statement.
-- Called by privacy._purge_batch() for a distributed target, in the same transaction and under
-- the same hold lock; the DELETE re-checks every condition on the rows it removes.
CREATE FUNCTION privacy._purge_batch_distributed(pol privacy.retention_policies, target regclass, tenant text)
  RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  keys name[];
  key_x text;
  key_e text;
  keep interval;
  cond text;
  skipped text[];
  held_subjects text[];
  held_pairs text[];
  victims jsonb;
  n bigint;
BEGIN
  IF EXISTS (SELECT FROM privacy.retention_policies c WHERE c.parent = pol.table_name) THEN
    RAISE EXCEPTION 'retention of child tables under a distributed table is not supported'
      USING ERRCODE = 'PV957', HINT = 'Give each distributed table its own policy with privacy.set_retention().';
  END IF;
  SELECT array_agg(a.attname ORDER BY k.ord) INTO keys
    FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
   WHERE i.indrelid = target AND i.indisprimary;
  IF keys IS NULL OR NOT (privacy._distribution_column(target) = ANY (keys)) THEN
    RAISE EXCEPTION 'the purge of distributed table % needs a primary key', target
      USING ERRCODE = 'PV957', HINT = 'Rows are deleted by key, never by ctid, on a distributed table.';
  END IF;
  SELECT string_agg(format('x.%I', k), ', ' ORDER BY o), string_agg(format('(e ->> %s)::%s', o - 1,
           format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY o)
    INTO key_x, key_e
    FROM unnest(keys) WITH ORDINALITY AS u(k, o) JOIN pg_attribute a ON a.attrelid = target AND a.attname = u.k;

  EXECUTE 'SELECT ' || privacy._keep_sql(pol.table_name, tenant) INTO keep;
  IF keep IS NULL THEN RETURN 0; END IF;
  cond := format('x.%I < %L::timestamptz::%s', pol.time_column, now() - keep,
                 privacy._column_type(pol.table_name, pol.time_column));
  IF pol.hold_column IS NOT NULL THEN
    cond := cond || format(' AND NOT coalesce(x.%I, false)', pol.hold_column);
  END IF;
  IF pol.tenant_column IS NOT NULL THEN
    IF tenant IS NOT NULL THEN
      IF EXISTS (SELECT FROM privacy.legal_holds h WHERE h.released_at IS NULL AND h.subject IS NULL
                    AND h.tenant_id = tenant) THEN
        RETURN 0;
      END IF;
      cond := cond || format(' AND x.%I = %L::%s', pol.tenant_column, tenant,
                             privacy._column_type(pol.table_name, pol.tenant_column));
    ELSE
      -- The tenants not listed, less those under a hold.
      SELECT array_agg(t.tenant_id) INTO skipped FROM (
        SELECT tenant_id FROM privacy.tenants
        UNION SELECT h.tenant_id FROM privacy.legal_holds h
               WHERE h.released_at IS NULL AND h.subject IS NULL AND h.tenant_id IS NOT NULL) t;
      cond := cond || format(' AND NOT coalesce(x.%I::text = ANY (%L::text[]), false)', pol.tenant_column,
                             coalesce(skipped, '{}'));
    END IF;
  END IF;
  IF pol.subject_column IS NOT NULL THEN
    SELECT array_agg(h.subject) FILTER (WHERE h.tenant_id IS NULL OR pol.tenant_column IS NULL),
           array_agg(h.tenant_id || chr(31) || h.subject) FILTER (WHERE h.tenant_id IS NOT NULL)
      INTO held_subjects, held_pairs
      FROM privacy.legal_holds h WHERE h.released_at IS NULL AND h.subject IS NOT NULL;
    cond := cond || format(' AND NOT coalesce(x.%I::text = ANY (%L::text[]), false)', pol.subject_column,
                           coalesce(held_subjects, '{}'));
    IF pol.tenant_column IS NOT NULL THEN
      cond := cond || format(' AND NOT coalesce((x.%I::text || chr(31) || x.%I::text) = ANY (%L::text[]), false)',
                             pol.tenant_column, pol.subject_column, coalesce(held_pairs, '{}'));
    END IF;
  END IF;

  -- Oldest first, by key; then the same rows deleted by key, the conditions checked again.
  EXECUTE format('SELECT jsonb_agg(jsonb_build_array(%s)) FROM (SELECT %s FROM %s x WHERE %s ORDER BY x.%I LIMIT %s) x',
                 key_x, key_x, target, cond, pol.time_column, pol.batch_size)
    INTO victims;
  IF victims IS NULL THEN RETURN 0; END IF;
  EXECUTE format('DELETE FROM %s x WHERE (%s) IN (SELECT %s FROM jsonb_array_elements($1) e) AND %s',
                 target, key_x, key_e, cond)
    USING victims;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION privacy._purge_batch_distributed(privacy.retention_policies, regclass, text) FROM PUBLIC;
