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
