-- Retention: rows older than their tenant's, region's or table's keep period are purged in short
-- committed batches (CALL privacy.purge(), pg_cron, or the background worker), except rows under
-- legal hold. Docs: docs/retention.md.

-- Tenants and their settings. Retention reads region and retention; other capabilities read
-- ai_opt_in and allow_region_transfer.
CREATE TABLE privacy.tenants (
  tenant_id             text PRIMARY KEY CHECK (length(tenant_id) BETWEEN 1 AND 200),
  region                text,
  retention             interval CHECK (retention > interval '0'),
  ai_opt_in             boolean NOT NULL DEFAULT false,
  allow_region_transfer boolean NOT NULL DEFAULT false,
  created_at            timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE privacy.tenants IS
  'tenants: region, retention override (NULL: the region''s, else the table''s), AI opt-in, region transfer';
REVOKE ALL ON privacy.tenants FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.tenants', '');
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.tenants
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();

CREATE TABLE privacy.region_retention (
  region text PRIMARY KEY CHECK (length(region) BETWEEN 1 AND 100),
  keep   interval NOT NULL CHECK (keep > interval '0')
);
COMMENT ON TABLE privacy.region_retention IS
  'keep period of the rows of tenants in a region, unless the tenant overrides it';
REVOKE ALL ON privacy.region_retention FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.region_retention', '');
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.region_retention
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();

-- A policy row is either a table's own (time_column and keep set) or a child registered under a
-- parent's policy (parent set): its rows go with the parent rows they reference.
CREATE TABLE privacy.retention_policies (
  table_name     regclass PRIMARY KEY,
  time_column    name,
  keep           interval CHECK (keep > interval '0'),
  tenant_column  name,
  hold_column    name,
  subject_column name,
  batch_size     integer NOT NULL DEFAULT 5000 CHECK (batch_size BETWEEN 1 AND 1000000),
  parent         regclass,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((parent IS NULL) = (time_column IS NOT NULL AND keep IS NOT NULL)),
  CHECK (parent IS DISTINCT FROM table_name)
);
COMMENT ON TABLE privacy.retention_policies IS
  'retention policies: set_retention() and set_retention_child() write them';
REVOKE ALL ON privacy.retention_policies FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.retention_policies', '');
-- A child's parent must be a policy, and a policy's children go with it. Not a self-referencing
-- foreign key: pg_dump loads a configuration table's rows in no particular order and warns about
-- one ("circular foreign-key constraints"); a deferred check sees the whole restored table.
CREATE FUNCTION privacy._retention_parent_check() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM privacy.retention_policies WHERE parent = OLD.table_name;
  ELSIF NEW.parent IS NOT NULL
        AND NOT EXISTS (SELECT FROM privacy.retention_policies WHERE table_name = NEW.parent) THEN
    RAISE EXCEPTION 'the parent of a retention child has no retention policy'
      USING ERRCODE = 'foreign_key_violation', HINT = 'Call privacy.set_retention() on the parent first.';
  END IF;
  RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION privacy._retention_parent_check() FROM PUBLIC;
CREATE CONSTRAINT TRIGGER parent_exists AFTER INSERT OR UPDATE OF parent ON privacy.retention_policies
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION privacy._retention_parent_check();
CREATE TRIGGER children_go_with_parent AFTER DELETE ON privacy.retention_policies
  FOR EACH ROW EXECUTE FUNCTION privacy._retention_parent_check();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.retention_policies
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();

CREATE TABLE privacy.legal_holds (
  id          bigserial PRIMARY KEY,
  tenant_id   text,
  subject     text,
  reason      text NOT NULL CHECK (length(reason) > 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  released_at timestamptz,
  CHECK (tenant_id IS NOT NULL OR subject IS NOT NULL)
);
COMMENT ON TABLE privacy.legal_holds IS
  'legal holds: rows of a held tenant, or of a held subject, are never purged until released';
REVOKE ALL ON privacy.legal_holds FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.legal_holds', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.legal_holds_id_seq', '');
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.legal_holds
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();

-- History, not configuration: pg_dump does not keep it. pid names the purging backend, so that
-- a run left 'running' by a crashed purger can be told from one still in progress.
CREATE TABLE privacy.purge_runs (
  run_id             bigserial PRIMARY KEY,
  started_at         timestamptz NOT NULL DEFAULT now(),
  ended_at           timestamptz,
  table_name         text NOT NULL,
  tenant_id          text,
  rows_deleted       bigint NOT NULL DEFAULT 0,
  partitions_dropped integer NOT NULL DEFAULT 0,
  status             text NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
  error              text,
  pid                integer NOT NULL DEFAULT pg_backend_pid(),
  -- The purge this pass belongs to: its row in privacy.operation_runs (docs/operations.md).
  run                bigint
);
CREATE INDEX purge_runs_running ON privacy.purge_runs (pid) WHERE status = 'running';
CREATE INDEX purge_runs_run ON privacy.purge_runs (run);
COMMENT ON TABLE privacy.purge_runs IS
  'purge history: one row per table and tenant pass that deleted rows, dropped partitions or failed';
REVOKE ALL ON privacy.purge_runs FROM PUBLIC;

-- The type of a user column, or NULL when it does not exist.
CREATE FUNCTION privacy._column_type(tbl regclass, col name) RETURNS regtype
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT atttypid::regtype FROM pg_attribute
   WHERE attrelid = tbl AND attname = col AND attnum > 0 AND NOT attisdropped
$$;
REVOKE ALL ON FUNCTION privacy._column_type(regclass, name) FROM PUBLIC;

CREATE FUNCTION privacy._require_column(tbl regclass, col name, what text) RETURNS regtype
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE t regtype := privacy._column_type(tbl, col);
BEGIN
  IF t IS NULL THEN
    RAISE EXCEPTION 'column "%" of relation % does not exist', col, tbl
      USING ERRCODE = '42703', HINT = format('Name the %s column of the table.', what);
  END IF;
  RETURN t;
END $$;
REVOKE ALL ON FUNCTION privacy._require_column(regclass, name, text) FROM PUBLIC;

CREATE FUNCTION privacy._require_table(tbl regclass) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '% is not a table', tbl
      USING ERRCODE = '42809', HINT = 'Set retention on the table a view reads from.';
  END IF;
END $$;
REVOKE ALL ON FUNCTION privacy._require_table(regclass) FROM PUBLIC;

CREATE FUNCTION privacy.set_retention(tbl regclass, time_column name, keep interval,
    tenant_column name DEFAULT NULL, hold_column name DEFAULT NULL, batch_size integer DEFAULT 5000,
    subject_column name DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE t regtype;
BEGIN
  PERFORM privacy._require_table(tbl);
  IF keep IS NULL OR keep <= interval '0' THEN
    RAISE EXCEPTION 'retention period must be greater than zero'
      USING ERRCODE = 'PV401', HINT = 'Pass a positive interval, such as interval ''30 days''.';
  END IF;
  IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 1000000 THEN
    RAISE EXCEPTION 'batch_size must be between 1 and 1000000'
      USING ERRCODE = '22023', HINT = 'The default, 5000, keeps each batch short.';
  END IF;
  t := privacy._require_column(tbl, time_column, 'time');
  IF t NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
    RAISE EXCEPTION 'time column "%" of relation % has type %', time_column, tbl, t
      USING ERRCODE = '42804', HINT = 'The time column is timestamptz, timestamp or date.';
  END IF;
  IF tenant_column IS NOT NULL THEN PERFORM privacy._require_column(tbl, tenant_column, 'tenant'); END IF;
  IF subject_column IS NOT NULL THEN PERFORM privacy._require_column(tbl, subject_column, 'subject'); END IF;
  IF hold_column IS NOT NULL AND privacy._require_column(tbl, hold_column, 'hold') <> 'boolean'::regtype THEN
    RAISE EXCEPTION 'hold column "%" of relation % is not boolean', hold_column, tbl USING ERRCODE = '42804';
  END IF;
  -- Each batch looks for expired rows by the time column; without an index it scans the table.
  IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
                  WHERE i.indrelid = tbl AND a.attname = time_column
                    AND (a.attnum = i.indkey[0] OR (a.attnum = i.indkey[1] AND tenant_column IS NOT NULL
                         AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                                             WHERE attrelid = tbl AND attname = tenant_column)))) THEN
    RAISE NOTICE 'no index of % leads with its time column', tbl
      USING HINT = format('Each purge batch searches by time: CREATE INDEX ON %s (%I).', tbl, time_column);
  END IF;
  INSERT INTO privacy.retention_policies AS p
         (table_name, time_column, keep, tenant_column, hold_column, subject_column, batch_size)
  VALUES (tbl, time_column, keep, tenant_column, hold_column, subject_column, batch_size)
  ON CONFLICT (table_name) DO UPDATE
     SET time_column = EXCLUDED.time_column, keep = EXCLUDED.keep,
         tenant_column = EXCLUDED.tenant_column, hold_column = EXCLUDED.hold_column,
         subject_column = EXCLUDED.subject_column, batch_size = EXCLUDED.batch_size, parent = NULL;
END $$;
COMMENT ON FUNCTION privacy.set_retention(regclass, name, interval, name, name, integer, name) IS
  'purges rows older than keep (or their tenant''s or region''s period), batch by batch; idempotent';
REVOKE ALL ON FUNCTION privacy.set_retention(regclass, name, interval, name, name, integer, name) FROM PUBLIC;

-- The foreign key from child to parent: its child and parent columns, in order; exactly one.
CREATE FUNCTION privacy._retention_fk(child regclass, parent regclass, OUT child_cols name[], OUT parent_cols name[])
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
  SELECT count(*) INTO n FROM pg_constraint WHERE contype = 'f' AND conrelid = child AND confrelid = parent;
  IF n <> 1 THEN
    RAISE EXCEPTION '% has % foreign keys to %', child, n, parent
      USING ERRCODE = 'PV405', HINT = 'A child is registered under the parent it references with exactly one foreign key.';
  END IF;
  SELECT array_agg(ca.attname ORDER BY k.i), array_agg(pa.attname ORDER BY k.i)
    INTO child_cols, parent_cols
    FROM pg_constraint c, unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(ck, pk, i)
    JOIN pg_attribute ca ON ca.attrelid = child AND ca.attnum = k.ck
    JOIN pg_attribute pa ON pa.attrelid = parent AND pa.attnum = k.pk
   WHERE c.contype = 'f' AND c.conrelid = child AND c.confrelid = parent;
END $$;
REVOKE ALL ON FUNCTION privacy._retention_fk(regclass, regclass) FROM PUBLIC;

-- "a.c1, a.c2" (or "c1, c2" without alias), quoted as identifiers.
CREATE FUNCTION privacy._column_list(cols name[], alias text DEFAULT NULL) RETURNS text
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT string_agg(CASE WHEN alias IS NULL THEN format('%I', c) ELSE format('%I.%I', alias, c) END, ', ' ORDER BY i)
    FROM unnest(cols) WITH ORDINALITY u(c, i)
$$;
REVOKE ALL ON FUNCTION privacy._column_list(name[], text) FROM PUBLIC;

CREATE FUNCTION privacy.set_retention_child(child regclass, parent regclass,
    hold_column name DEFAULT NULL, subject_column name DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
  PERFORM privacy._require_table(child);
  IF (SELECT relkind FROM pg_class WHERE oid = child) = 'p' THEN
    RAISE EXCEPTION 'a partitioned table cannot be registered as a child'
      USING ERRCODE = '0A000', HINT = 'Give the partitioned table its own policy with set_retention().';
  END IF;
  IF NOT EXISTS (SELECT FROM privacy.retention_policies WHERE table_name = parent) THEN
    RAISE EXCEPTION 'relation % has no retention policy', parent
      USING ERRCODE = 'PV402', HINT = 'Call privacy.set_retention() on the parent first.';
  END IF;
  -- A cycle would make a purge recurse for ever.
  IF EXISTS (WITH RECURSIVE up(t) AS (SELECT parent UNION SELECT p.parent FROM privacy.retention_policies p
                                       JOIN up ON p.table_name = up.t WHERE p.parent IS NOT NULL)
             SELECT FROM up WHERE t = child) THEN
    RAISE EXCEPTION 'registering % under % would make a cycle', child, parent USING ERRCODE = '22023';
  END IF;
  PERFORM privacy._retention_fk(child, parent);
  IF hold_column IS NOT NULL AND privacy._require_column(child, hold_column, 'hold') <> 'boolean'::regtype THEN
    RAISE EXCEPTION 'hold column "%" of relation % is not boolean', hold_column, child USING ERRCODE = '42804';
  END IF;
  IF subject_column IS NOT NULL THEN PERFORM privacy._require_column(child, subject_column, 'subject'); END IF;
  INSERT INTO privacy.retention_policies AS p (table_name, parent, hold_column, subject_column)
  VALUES (child, parent, hold_column, subject_column)
  ON CONFLICT (table_name) DO UPDATE
     SET parent = EXCLUDED.parent, hold_column = EXCLUDED.hold_column,
         subject_column = EXCLUDED.subject_column, time_column = NULL, keep = NULL, tenant_column = NULL;
END $$;
COMMENT ON FUNCTION privacy.set_retention_child(regclass, regclass, name, name) IS
  'registers a table under its parent''s policy: its rows referencing expiring parent rows are deleted first';
REVOKE ALL ON FUNCTION privacy.set_retention_child(regclass, regclass, name, name) FROM PUBLIC;

CREATE FUNCTION privacy.drop_retention(tbl regclass) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM privacy.retention_policies WHERE table_name = tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'relation % has no retention policy', tbl
      USING ERRCODE = 'PV402', HINT = 'List the policies with SELECT * FROM privacy.retention.';
  END IF;
END $$;
COMMENT ON FUNCTION privacy.drop_retention(regclass) IS
  'removes the retention policy of a table (and of the children registered under it)';
REVOKE ALL ON FUNCTION privacy.drop_retention(regclass) FROM PUBLIC;

-- A purge batch holds this lock shared for its short transaction and place_hold() takes it
-- exclusively: once place_hold() has returned, no batch that could miss the hold is in flight.
CREATE FUNCTION privacy._hold_lock_key() RETURNS bigint
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$ SELECT 7146993411202606001::bigint $$;
REVOKE ALL ON FUNCTION privacy._hold_lock_key() FROM PUBLIC;

CREATE FUNCTION privacy.place_hold(tenant_id text, subject text, reason text) RETURNS bigint
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE new_id bigint;
BEGIN
  IF place_hold.tenant_id IS NULL AND place_hold.subject IS NULL THEN
    RAISE EXCEPTION 'a legal hold names a tenant, a subject, or both'
      USING ERRCODE = '22023', HINT = 'Pass the tenant, the subject, or both.';
  END IF;
  IF coalesce(length(place_hold.reason), 0) = 0 THEN
    RAISE EXCEPTION 'a legal hold needs a reason' USING ERRCODE = '22023';
  END IF;
  PERFORM pg_advisory_xact_lock(privacy._hold_lock_key());
  INSERT INTO privacy.legal_holds (tenant_id, subject, reason)
  VALUES (place_hold.tenant_id, place_hold.subject, place_hold.reason) RETURNING id INTO new_id;
  RETURN new_id;
END $$;
COMMENT ON FUNCTION privacy.place_hold(text, text, text) IS
  'places a legal hold on a tenant, a subject, or a subject of one tenant: their rows are never purged';
REVOKE ALL ON FUNCTION privacy.place_hold(text, text, text) FROM PUBLIC;

CREATE FUNCTION privacy.release_hold(id bigint) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE privacy.legal_holds h SET released_at = now()
   WHERE h.id = release_hold.id AND h.released_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no active legal hold with this id'
      USING ERRCODE = 'PV406', HINT = 'List active holds with SELECT * FROM privacy.legal_holds WHERE released_at IS NULL.';
  END IF;
END $$;
COMMENT ON FUNCTION privacy.release_hold(bigint) IS 'releases a legal hold; its rows expire again';
REVOKE ALL ON FUNCTION privacy.release_hold(bigint) FROM PUBLIC;

-- Policies and their cutoff now, per tenant: one row per listed tenant, one (tenant_id NULL) for
-- the tenants not listed, one per child registered under a parent.
CREATE VIEW privacy.retention AS
SELECT p.table_name, NULL::regclass AS parent, t.tenant_id, t.region,
       coalesce(t.retention, r.keep, p.keep) AS keep,
       CASE WHEN t.retention IS NOT NULL THEN 'tenant' WHEN r.keep IS NOT NULL THEN 'region'
            ELSE 'table' END AS keep_source,
       now() - coalesce(t.retention, r.keep, p.keep) AS cutoff,
       p.time_column, p.tenant_column, p.hold_column, p.subject_column, p.batch_size
  FROM privacy.retention_policies p
  JOIN privacy.tenants t ON p.tenant_column IS NOT NULL
  LEFT JOIN privacy.region_retention r ON r.region = t.region
 WHERE p.parent IS NULL
UNION ALL
SELECT p.table_name, NULL, NULL, NULL, p.keep, 'table', now() - p.keep,
       p.time_column, p.tenant_column, p.hold_column, p.subject_column, p.batch_size
  FROM privacy.retention_policies p WHERE p.parent IS NULL
UNION ALL
SELECT p.table_name, p.parent, NULL, NULL, NULL, 'parent', NULL,
       NULL, NULL, p.hold_column, p.subject_column, NULL
  FROM privacy.retention_policies p WHERE p.parent IS NOT NULL;
COMMENT ON VIEW privacy.retention IS
  'retention policies with the cutoff that applies now to each tenant (tenant_id NULL: tenants not listed)';
REVOKE ALL ON privacy.retention FROM PUBLIC;

-- SQL text of "row x of this table is held": its hold column, a hold on its tenant, a hold on
-- its subject (within its tenant when the hold names one), or a held child row. Given the
-- tenant of a pass, the tenant's holds are a constant of the statement: the planner then
-- estimates the batch's rows well and reads them by index, oldest first, up to the LIMIT.
CREATE FUNCTION privacy._held_sql(pol privacy.retention_policies, x text, tenant text DEFAULT NULL) RETURNS text
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  parts text[] := '{}';
  c privacy.retention_policies;
  fk record;
  ten text;
BEGIN
  IF pol.hold_column IS NOT NULL THEN
    parts := parts || format('coalesce(%I.%I, false)', x, pol.hold_column);
  END IF;
  IF pol.tenant_column IS NOT NULL THEN
    ten := coalesce(quote_literal(tenant), format('%I.%I::text', x, pol.tenant_column));
    parts := parts || format('EXISTS (SELECT FROM privacy.legal_holds h WHERE h.released_at IS NULL '
                             'AND h.subject IS NULL AND h.tenant_id = %s)', ten);
  END IF;
  IF pol.subject_column IS NOT NULL THEN
    parts := parts || format('EXISTS (SELECT FROM privacy.legal_holds h WHERE h.released_at IS NULL '
                             'AND h.subject = %I.%I::text%s)', x, pol.subject_column,
                             CASE WHEN ten IS NULL THEN '' ELSE format(' AND (h.tenant_id IS NULL OR h.tenant_id = %s)', ten) END);
  END IF;
  FOR c IN SELECT * FROM privacy.retention_policies WHERE parent = pol.table_name ORDER BY table_name::oid LOOP
    fk := privacy._retention_fk(c.table_name, pol.table_name);
    IF privacy._held_sql(c, x || '_c') <> 'false' THEN
      parts := parts || format('EXISTS (SELECT FROM %s %I WHERE (%s) = (%s) AND (%s))', c.table_name, x || '_c',
                               privacy._column_list(fk.child_cols, x || '_c'), privacy._column_list(fk.parent_cols, x),
                               privacy._held_sql(c, x || '_c'));
    END IF;
  END LOOP;
  RETURN CASE WHEN cardinality(parts) = 0 THEN 'false' ELSE array_to_string(parts, ' OR ') END;
END $$;
REVOKE ALL ON FUNCTION privacy._held_sql(privacy.retention_policies, text, text) FROM PUBLIC;

-- SQL text of the keep period of a pass: one tenant's (tenant override, else its region's, else
-- the table's), or the table's for the tenants not listed. It reads the configuration inside
-- the statement that uses it, so a change committed before a batch applies to that batch.
CREATE FUNCTION privacy._keep_sql(tbl regclass, tenant text) RETURNS text
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN tenant IS NULL THEN
    format('(SELECT p.keep FROM privacy.retention_policies p WHERE p.table_name = %L::pg_catalog.oid)', tbl::oid)
  ELSE
    format('(SELECT coalesce(t.retention, r.keep, p.keep) FROM privacy.retention_policies p '
           'JOIN privacy.tenants t ON t.tenant_id = %L '
           'LEFT JOIN privacy.region_retention r ON r.region = t.region '
           'WHERE p.table_name = %L::pg_catalog.oid)', tenant, tbl::oid)
  END
$$;
REVOKE ALL ON FUNCTION privacy._keep_sql(regclass, text) FROM PUBLIC;

-- SQL text of "row x is expired and not held" (unheld false: expired, held or not) for one pass:
-- a listed tenant, or when tenant is NULL the rows of tenants not listed. The cutoff is cast to the column's type so that an
-- index on the time column serves the search; for a date column it rounds down (keeps longer).
CREATE FUNCTION privacy._expired_sql(pol privacy.retention_policies, tenant text, x text,
    unheld boolean DEFAULT true) RETURNS text
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  s text;
BEGIN
  s := format('%I.%I < (pg_catalog.now() - %s)::%s', x, pol.time_column, privacy._keep_sql(pol.table_name, tenant),
              privacy._column_type(pol.table_name, pol.time_column));
  IF pol.tenant_column IS NOT NULL THEN
    IF tenant IS NOT NULL THEN
      s := s || format(' AND %I.%I = %L::%s', x, pol.tenant_column, tenant,
                       privacy._column_type(pol.table_name, pol.tenant_column));
    ELSE
      s := s || format(' AND NOT EXISTS (SELECT FROM privacy.tenants t WHERE t.tenant_id = %I.%I::text)',
                       x, pol.tenant_column);
    END IF;
  END IF;
  IF unheld THEN s := s || format(' AND NOT (%s)', privacy._held_sql(pol, x, tenant)); END IF;
  RETURN s;
END $$;
REVOKE ALL ON FUNCTION privacy._expired_sql(privacy.retention_policies, text, text, boolean) FROM PUBLIC;

-- The passes of a purge, in a stable order (key): for each policy, first its expired
-- partitions (kind 'drop'), then for each table or leaf partition, the rows of each listed
-- tenant and of the tenants not listed (kind 'rows').
CREATE FUNCTION privacy._purge_passes(only_table regclass DEFAULT NULL)
  RETURNS TABLE (key text, policy regclass, target regclass, tenant_id text, kind text)
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  WITH pol AS (
    SELECT p.* FROM privacy.retention_policies p
     WHERE p.parent IS NULL AND (only_table IS NULL OR p.table_name = only_table)
  ), drops AS (
    SELECT p.table_name AS policy, i.inhrelid::regclass AS target
      FROM pol p JOIN pg_partitioned_table pt ON pt.partrelid = p.table_name
      JOIN pg_inherits i ON i.inhparent = p.table_name
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE pt.partstrat = 'r' AND pt.partnatts = 1
       AND pt.partattrs[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = p.table_name AND attname = p.time_column)
       AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
  ), targets AS (
    SELECT p.table_name AS policy, t.relid AS target, p.tenant_column
      FROM pol p, LATERAL (SELECT l.relid FROM pg_partition_tree(p.table_name) l WHERE l.isleaf
                           UNION SELECT p.table_name) t
     WHERE EXISTS (SELECT FROM pg_class c WHERE c.oid = t.relid AND c.relkind = 'r')
  )
  SELECT lpad(d.policy::oid::text, 10, '0') || '/1/' || lpad(d.target::oid::text, 10, '0'),
         d.policy, d.target, NULL, 'drop' FROM drops d
  UNION ALL
  SELECT lpad(t.policy::oid::text, 10, '0') || '/2/' || lpad(t.target::oid::text, 10, '0') || '/'
           || coalesce('1' || tn.tenant_id, '0'),
         t.policy, t.target, tn.tenant_id, 'rows'
    FROM targets t
    CROSS JOIN LATERAL (SELECT NULL::text AS tenant_id
                        UNION ALL
                        SELECT tt.tenant_id FROM privacy.tenants tt WHERE t.tenant_column IS NOT NULL) tn
$$;
REVOKE ALL ON FUNCTION privacy._purge_passes(regclass) FROM PUBLIC;

-- Deletes the rows of the children registered under `parent` that reference the parent rows
-- at `victims` (in relation `source`), grandchildren first. Child rows are locked without
-- SKIP LOCKED (the parent row cannot go while one of them stays): the purge lock_timeout
-- bounds the wait, and a timeout skips the whole batch.
CREATE FUNCTION privacy._purge_children(parent regclass, source regclass, victims tid[]) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  c regclass;
  fk record;
  child_victims tid[];
BEGIN
  FOR c IN SELECT table_name FROM privacy.retention_policies WHERE retention_policies.parent = _purge_children.parent
            ORDER BY table_name::oid LOOP
    fk := privacy._retention_fk(c, parent);
    EXECUTE format('SELECT ARRAY(SELECT ctid FROM ONLY %s WHERE (%s) IN (SELECT %s FROM ONLY %s WHERE ctid = ANY ($1)) FOR UPDATE)',
                   c, privacy._column_list(fk.child_cols), privacy._column_list(fk.parent_cols), source)
      INTO child_victims USING victims;
    IF cardinality(child_victims) > 0 THEN
      PERFORM privacy._purge_children(c, c, child_victims);
      EXECUTE format('DELETE FROM ONLY %s WHERE ctid = ANY ($1)', c) USING child_victims;
    END IF;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy._purge_children(regclass, regclass, tid[]) FROM PUBLIC;

-- One batch of one pass, in the caller's transaction: locks up to batch_size expired, unheld
-- rows that the application has not locked (SKIP LOCKED), deletes their registered children,
-- then them. Returns the number of rows deleted.
CREATE FUNCTION privacy._purge_batch(policy regclass, target regclass, tenant text) RETURNS bigint
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  pol privacy.retention_policies;
  victims tid[];
  n bigint;
BEGIN
  SELECT * INTO pol FROM privacy.retention_policies WHERE table_name = policy;
  IF NOT FOUND THEN RETURN 0; END IF;
  -- A Citus distributed table: by key, never by ctid (docs/citus.md).
  IF privacy._distribution_column(target) IS NOT NULL THEN
    RETURN privacy._purge_batch_distributed(pol, target, tenant);
  END IF;
  -- Oldest first: a plain index scan on the time column stops at the LIMIT (a bitmap scan
  -- would read every expired entry, batch after batch) and marks the entries of rows deleted
  -- by earlier batches dead as it passes them.
  EXECUTE format('SELECT ARRAY(SELECT x.ctid FROM ONLY %s x WHERE %s ORDER BY x.%I LIMIT %s FOR UPDATE OF x SKIP LOCKED)',
                 target, privacy._expired_sql(pol, tenant, 'x'), pol.time_column, pol.batch_size)
    INTO victims;
  IF cardinality(victims) = 0 THEN RETURN 0; END IF;
  PERFORM privacy._purge_children(policy, target, victims);
  EXECUTE format('DELETE FROM ONLY %s WHERE ctid = ANY ($1)', target) USING victims;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION privacy._purge_batch(regclass, regclass, text) FROM PUBLIC;

-- The longest keep period any row of the table can have: the table's, or any tenant's.
CREATE FUNCTION privacy._longest_keep(pol privacy.retention_policies) RETURNS interval
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT greatest(pol.keep, CASE WHEN pol.tenant_column IS NOT NULL THEN
           (SELECT max(coalesce(t.retention, r.keep, pol.keep)) FROM privacy.tenants t
              LEFT JOIN privacy.region_retention r ON r.region = t.region) END)
$$;
REVOKE ALL ON FUNCTION privacy._longest_keep(privacy.retention_policies) FROM PUBLIC;

-- True when a partition can go whole: its upper bound is older than the cutoff of the longest
-- keep period, it holds no held row, and no foreign key or registered child refers to the table.
CREATE FUNCTION privacy._partition_expired(policy regclass, part regclass) RETURNS boolean
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  pol privacy.retention_policies;
  upper_bound text;
  expired boolean;
BEGIN
  SELECT * INTO pol FROM privacy.retention_policies WHERE table_name = policy;
  IF NOT FOUND OR EXISTS (SELECT FROM privacy.retention_policies WHERE parent = policy)
     OR EXISTS (SELECT FROM pg_constraint WHERE contype = 'f' AND confrelid IN (policy, part)) THEN
    RETURN false;
  END IF;
  SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \((.*)\)$') INTO upper_bound
    FROM pg_class c WHERE c.oid = part;
  IF upper_bound IS NULL OR upper_bound = 'MAXVALUE' THEN RETURN false; END IF;
  EXECUTE format('SELECT %s::%2$s <= (now() - $1)::%2$s', upper_bound,
                 privacy._column_type(policy, pol.time_column))
    INTO expired USING privacy._longest_keep(pol);
  IF NOT expired THEN RETURN false; END IF;
  EXECUTE format('SELECT NOT EXISTS (SELECT FROM ONLY %s x WHERE %s)', part, privacy._held_sql(pol, 'x'))
    INTO expired;
  RETURN expired;
END $$;
REVOKE ALL ON FUNCTION privacy._partition_expired(regclass, regclass) FROM PUBLIC;

-- Writes one audit record with the counts of a finished run (kind 'retention', no row values).
-- SECURITY DEFINER: a delegated purge (privacy_purger) writes its passes' audit records through
-- this function only, never privacy._audit_record() itself (which writes any kind of record).
-- The record's actor is still the session's role.
CREATE FUNCTION privacy._retention_audit(run privacy.purge_runs) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM privacy._audit_record('retention', 'PURGE', run.table_name,
    jsonb_build_object('run_id', run.run_id, 'tenant_id', run.tenant_id, 'status', run.status,
                       'rows_deleted', run.rows_deleted, 'partitions_dropped', run.partitions_dropped));
END $$;
REVOKE ALL ON FUNCTION privacy._retention_audit(privacy.purge_runs) FROM PUBLIC;

-- Records progress of the current purge's pass over (table, tenant) in the batch's own
-- transaction, so the history never counts a row that was not deleted. status 'running' keeps
-- the pass open; any other status closes it and writes its audit record. `purge` is the purge's
-- run id (privacy.operation_runs): a pass of another purge, even of this session, is never
-- continued.
CREATE FUNCTION privacy._purge_record(tbl regclass, tenant text, deleted bigint, dropped integer,
    new_status text, err text DEFAULT NULL, purge bigint DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE run privacy.purge_runs;
BEGIN
  PERFORM privacy._progress_purge(tbl, tenant, deleted, dropped);  -- privacy.progress
  UPDATE privacy.purge_runs r
     SET rows_deleted = r.rows_deleted + deleted, partitions_dropped = r.partitions_dropped + dropped,
         status = new_status, error = err,
         ended_at = CASE WHEN new_status = 'running' THEN NULL ELSE clock_timestamp() END
   WHERE r.status = 'running' AND r.pid = pg_backend_pid() AND r.run IS NOT DISTINCT FROM purge
     AND r.table_name = tbl::text AND r.tenant_id IS NOT DISTINCT FROM tenant
  RETURNING * INTO run;
  IF NOT FOUND THEN
    IF deleted = 0 AND dropped = 0 AND new_status <> 'failed' THEN RETURN; END IF;
    INSERT INTO privacy.purge_runs (table_name, tenant_id, rows_deleted, partitions_dropped, status, error, ended_at, run)
    VALUES (tbl::text, tenant, deleted, dropped, new_status, err,
            CASE WHEN new_status = 'running' THEN NULL ELSE clock_timestamp() END, purge)
    RETURNING * INTO run;
  END IF;
  IF new_status <> 'running' THEN PERFORM privacy._retention_audit(run); END IF;
END $$;
REVOKE ALL ON FUNCTION privacy._purge_record(regclass, text, bigint, integer, text, text, bigint) FROM PUBLIC;

-- Refuses a purge that row-level security would silently narrow: the caller must see every row.
CREATE FUNCTION privacy._purge_check(only_table regclass DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE t regclass;
BEGIN
  IF only_table IS NOT NULL AND NOT EXISTS (SELECT FROM privacy.retention_policies
                                             WHERE table_name = only_table AND parent IS NULL) THEN
    RAISE EXCEPTION 'relation % has no retention policy', only_table
      USING ERRCODE = 'PV402', HINT = 'Call privacy.set_retention() first.';
  END IF;
  IF (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN RETURN; END IF;
  SELECT c.oid INTO t
    FROM privacy.retention_policies p, privacy._protect_targets(p.table_name) pt(relid)
    JOIN pg_class c ON c.oid = pt.relid
   WHERE c.relrowsecurity AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE'))
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'purging % needs a role that bypasses row-level security', t
      USING ERRCODE = 'PV403',
            HINT = 'Run the purge as a superuser or a role with BYPASSRLS, as the background worker does; otherwise it would see only some tenants'' rows.';
  END IF;
END $$;
REVOKE ALL ON FUNCTION privacy._purge_check(regclass) FROM PUBLIC;

-- One step of a purge, in the caller's transaction: one batch of the pass after `after_key` (or
-- of the same pass while it has more). Returns the key for the next step ('' starts a purge),
-- or NULL when every pass is done. privacy.purge() and the background worker each run steps in
-- a loop and commit after each one (src/pg/retention_run.cpp), `purge` naming their run. Each
-- step sets a short lock_timeout; a step that times out is skipped (the next purge retries it),
-- an error fails the pass and is recorded. Passes a crash left 'running' are closed by the next
-- purge's start (privacy._purge_begin).
CREATE FUNCTION privacy._purge_step(after_key text, only_table regclass DEFAULT NULL, purge bigint DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  pass record;
  n bigint;
  msg text;
  state text;
BEGIN
  SELECT * INTO pass FROM privacy._purge_passes(only_table) p
   WHERE p.key COLLATE "C" > after_key COLLATE "C" ORDER BY p.key COLLATE "C" LIMIT 1;
  IF NOT FOUND THEN RETURN NULL; END IF;
  PERFORM set_config('lock_timeout', coalesce(current_setting('privacy.purge_lock_timeout', true), '100ms'), true);
  BEGIN
    PERFORM pg_advisory_xact_lock_shared(privacy._hold_lock_key());
    IF pass.kind = 'drop' THEN
      IF privacy._partition_expired(pass.policy, pass.target) THEN
        EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', pass.policy, pass.target);
        EXECUTE format('DROP TABLE %s', pass.target);
        PERFORM privacy._purge_record(pass.policy, NULL, 0, 1, 'done', NULL, purge);
      END IF;
      RETURN pass.key;
    END IF;
    n := privacy._purge_batch(pass.policy, pass.target, pass.tenant_id);
    IF n >= (SELECT batch_size FROM privacy.retention_policies WHERE table_name = pass.policy) THEN
      PERFORM privacy._purge_record(pass.policy, pass.tenant_id, n, 0, 'running', NULL, purge);
      RETURN after_key;
    END IF;
    PERFORM privacy._purge_record(pass.policy, pass.tenant_id, n, 0, 'done', NULL, purge);
  EXCEPTION
    WHEN lock_not_available THEN
      -- Skipped: rows or tables the application holds locked; the next purge comes back.
      PERFORM privacy._purge_record(pass.policy, pass.tenant_id, 0, 0, 'done', NULL, purge);
    WHEN OTHERS THEN
      -- The message only: a detail could quote row values (a foreign key violation does).
      GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
      PERFORM privacy._purge_record(pass.policy, pass.tenant_id, 0, 0, 'failed', state || ': ' || msg, purge);
  END;
  RETURN pass.key;
END $$;
REVOKE ALL ON FUNCTION privacy._purge_step(text, regclass, bigint) FROM PUBLIC;

-- The purge: a C procedure (src/pg/retention_run.cpp), so that it commits after every batch and
-- still records how it ended (done, failed, cancelled by statement_timeout) in privacy.history,
-- with its counts in a NOTICE. It checks the caller (privacy._purge_check), runs
-- privacy._purge_step() in a loop with the caller's privileges, committing after each step, and
-- raises PV404 at the end if a table pass failed. Inside a transaction block: 2D000 with a hint.
CREATE PROCEDURE privacy.purge(only_table regclass DEFAULT NULL)
  AS 'MODULE_PATHNAME', 'pgp_purge' LANGUAGE C;
COMMENT ON PROCEDURE privacy.purge(regclass) IS
  'deletes expired, unheld rows batch by batch, committing after each batch (CALL it, or schedule it with pg_cron)';
REVOKE ALL ON PROCEDURE privacy.purge(regclass) FROM PUBLIC;

CREATE FUNCTION privacy.purge_preview(only_table regclass DEFAULT NULL)
  RETURNS TABLE (table_name regclass, tenant_id text, keep interval, cutoff timestamptz,
                 rows_expired bigint, rows_held bigint, partitions_expired integer)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  pol privacy.retention_policies;
  pass record;
  held text;
  n_exp bigint;
  n_held bigint;
BEGIN
  PERFORM privacy._purge_check(only_table);
  FOR pass IN SELECT policy, p.tenant_id, array_agg(target) FILTER (WHERE kind = 'rows') AS targets,
                     count(*) FILTER (WHERE kind = 'drop' AND privacy._partition_expired(policy, target))::int AS drops
                FROM privacy._purge_passes(only_table) p GROUP BY 1, 2 ORDER BY policy::oid, 2 NULLS FIRST LOOP
    SELECT * INTO pol FROM privacy.retention_policies r WHERE r.table_name = pass.policy;
    EXECUTE format('SELECT %s', privacy._keep_sql(pol.table_name, pass.tenant_id)) INTO keep;
    held := privacy._held_sql(pol, 'x', pass.tenant_id);
    rows_expired := 0;
    rows_held := 0;
    FOR i IN 1 .. coalesce(cardinality(pass.targets), 0) LOOP
      EXECUTE format('SELECT count(*) FILTER (WHERE NOT (%1$s)), count(*) FILTER (WHERE %1$s) FROM ONLY %2$s x WHERE %3$s',
                     held, pass.targets[i], privacy._expired_sql(pol, pass.tenant_id, 'x', false))
        INTO n_exp, n_held;
      rows_expired := rows_expired + n_exp;
      rows_held := rows_held + n_held;
    END LOOP;
    table_name := pass.policy;
    tenant_id := pass.tenant_id;
    cutoff := now() - keep;
    partitions_expired := CASE WHEN pass.tenant_id IS NULL THEN pass.drops ELSE 0 END;
    RETURN NEXT;
  END LOOP;
END $$;
COMMENT ON FUNCTION privacy.purge_preview(regclass) IS
  'dry run: per table and tenant, the rows a purge would delete now, the expired rows kept by a hold, and whole partitions it would drop';
REVOKE ALL ON FUNCTION privacy.purge_preview(regclass) FROM PUBLIC;

-- Changes to the retention configuration are audited like every other configuration table:
-- names of changed columns, never values.
SELECT privacy._audit_config_table('privacy.tenants');
SELECT privacy._audit_config_table('privacy.region_retention');
SELECT privacy._audit_config_table('privacy.retention_policies');
SELECT privacy._audit_config_table('privacy.legal_holds');
