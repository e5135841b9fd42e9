-- Tenancy: column classification. A reader whose verified roles are not allowed to see a
-- classified column reads its masked value; the planner inserts privacy._masked() around every
-- read of the column (src/pg/classify.cpp), so no query, view or function can skip it.

CREATE TABLE privacy.classified_columns (
  table_name    regclass NOT NULL,
  column_name   name NOT NULL,
  level         text NOT NULL CHECK (level IN ('PUBLIC', 'INTERNAL', 'CONFIDENTIAL', 'RESTRICTED')),
  allowed_roles text[] NOT NULL DEFAULT '{}' CHECK (array_position(allowed_roles, NULL) IS NULL),
  classified_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (table_name, column_name)
);
COMMENT ON TABLE privacy.classified_columns IS
  'column classification: readers whose verified roles are not allowed read masked values';
REVOKE ALL ON privacy.classified_columns FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.classified_columns', '');
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.classified_columns
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();

-- Called by plans, as the reader: PUBLIC keeps EXECUTE (they only ever hide data).
CREATE FUNCTION privacy._masked(value anyelement, level text, allowed_roles text[]) RETURNS anyelement
  AS 'MODULE_PATHNAME', 'pgp_masked' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy._masked(anyelement, text, text[]) IS
  'internal: the value, or its masked form when the reader may not see it (inserted by the planner)';
CREATE FUNCTION privacy._masked_row(value anyelement, relid oid) RETURNS anyelement
  AS 'MODULE_PATHNAME', 'pgp_masked_row' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy._masked_row(anyelement, oid) IS
  'internal: a whole-row value with the columns the reader may not see masked (inserted by the planner)';

-- Statistics of a classified column would show its values in pg_stats (most common values,
-- histogram) to every reader with SELECT: classify() deletes them and sets the column's
-- statistics target to 0, so ANALYZE collects none; a later SET STATISTICS is refused (PV215).
CREATE FUNCTION privacy._forget_column_stats(tbl regclass, col name) RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_forget_column_stats' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION privacy._forget_column_stats(regclass, name) FROM PUBLIC;

-- A row read as the table's owner (subject export), with the classified columns the caller of
-- pg_privacy may not see masked as a read would mask them.
CREATE FUNCTION privacy._classified_mask(row_value jsonb, tbl regclass) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'pgp_classified_mask' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION privacy._classified_mask(jsonb, regclass) FROM PUBLIC;

CREATE FUNCTION privacy.classify(tbl regclass, column_name name, level text,
    allowed_roles text[] DEFAULT '{}') RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  lvl text := upper(classify.level);
  t regclass;
BEGIN
  IF NOT privacy.preloaded() THEN
    RAISE EXCEPTION 'column classification requires pg_privacy in shared_preload_libraries'
      USING ERRCODE = 'PV001',
            HINT = 'Add pg_privacy to shared_preload_libraries in postgresql.conf and restart the server.';
  END IF;
  IF lvl IS NULL OR lvl NOT IN ('PUBLIC', 'INTERNAL', 'CONFIDENTIAL', 'RESTRICTED') THEN
    RAISE EXCEPTION 'invalid classification level'
      USING ERRCODE = '22023', HINT = 'The level is PUBLIC, INTERNAL, CONFIDENTIAL or RESTRICTED.';
  END IF;
  IF classify.allowed_roles IS NULL OR array_position(classify.allowed_roles, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'allowed_roles must be an array of role names without NULLs'
      USING ERRCODE = '22023', HINT = 'Pass ''{}'' to allow no role.';
  END IF;
  IF (SELECT relkind FROM pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '% is not a table', tbl
      USING ERRCODE = '42809', HINT = 'Classify the columns of the table a view reads from.';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = tbl AND attname = classify.column_name
                    AND attnum > 0 AND NOT attisdropped) THEN
    RAISE EXCEPTION 'column "%" of relation % does not exist', classify.column_name, tbl
      USING ERRCODE = '42703';
  END IF;
  -- The table and each partition: a query on a partition directly is planned against it alone.
  FOR t IN SELECT * FROM privacy._protect_targets(tbl) LOOP
    INSERT INTO privacy.classified_columns AS c (table_name, column_name, level, allowed_roles)
         VALUES (t, classify.column_name, lvl, classify.allowed_roles)
    ON CONFLICT ON CONSTRAINT classified_columns_pkey DO UPDATE
       SET level = EXCLUDED.level, allowed_roles = EXCLUDED.allowed_roles, classified_at = now();
    -- A Citus table's shards hold the rows and their statistics (80_cluster.sql).
    IF lvl <> 'PUBLIC' AND NOT privacy._cluster_column_statistics(t, classify.column_name, 0) THEN
      EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', t, classify.column_name);
      PERFORM privacy._forget_column_stats(t, classify.column_name);
    END IF;
  END LOOP;
END $$;
COMMENT ON FUNCTION privacy.classify(regclass, name, text, text[]) IS
  'classifies a column PUBLIC, INTERNAL, CONFIDENTIAL or RESTRICTED: readers whose verified roles are not in allowed_roles read it masked';
REVOKE ALL ON FUNCTION privacy.classify(regclass, name, text, text[]) FROM PUBLIC;

CREATE FUNCTION privacy.unclassify(tbl regclass, column_name name DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r record;
BEGIN
  FOR r IN DELETE FROM privacy.classified_columns c
            WHERE c.table_name IN (SELECT * FROM privacy._protect_targets(tbl))
              AND (unclassify.column_name IS NULL OR c.column_name = unclassify.column_name)
           RETURNING c.table_name, c.column_name LOOP
    -- Statistics come back with the next ANALYZE (classify() turned them off), unless the
    -- column stays classified through a parent table (PV215 then: they stay off).
    IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = r.table_name AND attname = r.column_name
                  AND attnum > 0 AND NOT attisdropped) THEN
      BEGIN
        IF NOT privacy._cluster_column_statistics(r.table_name, r.column_name, -1) THEN
          EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS -1', r.table_name, r.column_name);
        END IF;
      EXCEPTION WHEN SQLSTATE 'PV215' THEN
        NULL;
      END;
    END IF;
  END LOOP;
END $$;
COMMENT ON FUNCTION privacy.unclassify(regclass, name) IS
  'removes the classification of one column, or of every column of the table when column_name is NULL';
REVOKE ALL ON FUNCTION privacy.unclassify(regclass, name) FROM PUBLIC;

CREATE VIEW privacy.classified AS
SELECT c.table_name, c.column_name, c.level, c.allowed_roles, c.classified_at,
       privacy.preloaded() AS enforced
  FROM privacy.classified_columns c
 WHERE EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.table_name AND a.attname = c.column_name
                  AND a.attnum > 0 AND NOT a.attisdropped);
COMMENT ON VIEW privacy.classified IS
  'classified columns of existing tables; enforced is false when pg_privacy is not preloaded';
REVOKE ALL ON privacy.classified FROM PUBLIC;
