-- Subject rights: the registry of tables that hold a person's data, export of everything held
-- about one person, and erasure in one transaction (docs/subject-rights.md).

-- One row per table holding subjects' data: which column names the subject, which the tenant,
-- and what erasure does to the subject's rows there. anonymize maps column names to 'null',
-- 'redact' (privacy.redact) or 'pseudonym' (privacy.audit_hmac of the subject id).
CREATE TABLE privacy.subject_tables (
  table_name     regclass PRIMARY KEY,
  subject_column name NOT NULL,
  tenant_column  name NOT NULL,
  erasure        text NOT NULL CHECK (erasure IN ('delete', 'anonymize', 'keep')),
  anonymize      jsonb CHECK (jsonb_typeof(anonymize) = 'object'),
  legal_reason   text,
  registered_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((erasure = 'anonymize') = (anonymize IS NOT NULL)),
  CHECK ((erasure = 'keep') = (legal_reason IS NOT NULL))
);
COMMENT ON TABLE privacy.subject_tables IS
  'subject registry: register_subject_table() writes it; export_subject() and erase_subject() read it';
REVOKE ALL ON privacy.subject_tables FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.subject_tables', '');
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.subject_tables
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();
SELECT privacy._audit_config_table('privacy.subject_tables');

-- A dropped table leaves the registry with it.
CREATE FUNCTION privacy._subject_tables_drop() RETURNS event_trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM privacy.subject_tables
   WHERE table_name::oid IN (SELECT objid FROM pg_event_trigger_dropped_objects() WHERE object_type = 'table');
END $$;
REVOKE ALL ON FUNCTION privacy._subject_tables_drop() FROM PUBLIC;
CREATE EVENT TRIGGER privacy_subject_tables_drop ON sql_drop EXECUTE FUNCTION privacy._subject_tables_drop();

CREATE FUNCTION privacy.register_subject_table(tbl regclass, subject_column name,
    erasure text DEFAULT 'delete', tenant_column name DEFAULT 'tenant_id',
    anonymize jsonb DEFAULT NULL, legal_reason text DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  typ regtype;
  nn boolean;
  k text;
  how text;
  plan jsonb := '{}';
BEGIN
  IF tbl IS NULL OR subject_column IS NULL OR tenant_column IS NULL OR erasure IS NULL THEN
    RAISE EXCEPTION 'table, subject column, tenant column and erasure are required'
      USING ERRCODE = 'PV801', HINT = 'tenant_column defaults to tenant_id; erasure to delete.';
  END IF;
  IF (SELECT relkind FROM pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION '% is not a table', tbl
      USING ERRCODE = '42809', HINT = 'Register the table a view reads from.';
  END IF;
  IF erasure NOT IN ('delete', 'anonymize', 'keep') THEN
    RAISE EXCEPTION 'unknown erasure "%"', erasure
      USING ERRCODE = 'PV801', HINT = 'Erasure is delete, anonymize or keep.';
  END IF;
  PERFORM privacy._require_column(tbl, subject_column, 'subject');
  PERFORM privacy._require_column(tbl, tenant_column, 'tenant');
  IF subject_column = tenant_column THEN
    RAISE EXCEPTION 'the subject column and the tenant column are the same column'
      USING ERRCODE = 'PV801';
  END IF;
  IF erasure = 'keep' AND (legal_reason IS NULL OR btrim(legal_reason) = '') THEN
    RAISE EXCEPTION 'erasure keep needs a legal reason'
      USING ERRCODE = 'PV801', HINT = 'Say why the rows must be kept: legal_reason => ''tax records, 10 years''.';
  END IF;
  IF erasure <> 'keep' AND legal_reason IS NOT NULL THEN
    RAISE EXCEPTION 'a legal reason is only for erasure keep' USING ERRCODE = 'PV801';
  END IF;
  IF erasure <> 'anonymize' AND anonymize IS NOT NULL THEN
    RAISE EXCEPTION 'anonymize is only for erasure anonymize' USING ERRCODE = 'PV801';
  END IF;
  IF erasure = 'anonymize' THEN
    IF anonymize IS NOT NULL AND jsonb_typeof(anonymize) <> 'object' THEN
      RAISE EXCEPTION 'anonymize must be a JSON object of column names'
        USING ERRCODE = 'PV801', HINT = 'For example {"email": "null", "body": "redact"}.';
    END IF;
    plan := coalesce(anonymize, '{}');
    IF NOT plan ? subject_column THEN
      plan := plan || jsonb_build_object(subject_column, 'pseudonym');
    END IF;
    FOR k, how IN SELECT key, value #>> '{}' FROM jsonb_each(plan) LOOP
      typ := privacy._require_column(tbl, k::name, 'anonymized');
      nn := (SELECT attnotnull FROM pg_attribute WHERE attrelid = tbl AND attname = k);
      IF k = tenant_column THEN
        RAISE EXCEPTION 'the tenant column cannot be anonymized'
          USING ERRCODE = 'PV801', HINT = 'The rows stay in their tenant; anonymize the columns about the person.';
      END IF;
      IF how IS NULL OR how NOT IN ('null', 'redact', 'pseudonym') THEN
        RAISE EXCEPTION 'column "%": unknown anonymization', k
          USING ERRCODE = 'PV801', HINT = 'Each column maps to "null", "redact" or "pseudonym".';
      END IF;
      IF how = 'null' AND nn THEN
        RAISE EXCEPTION 'column "%" of relation % is NOT NULL: it cannot be anonymized to null', k, tbl
          USING ERRCODE = 'PV801', HINT = 'Use "pseudonym" or "redact", or erasure delete.';
      END IF;
      IF how IN ('redact', 'pseudonym') AND typ NOT IN ('text'::regtype, 'character varying'::regtype) THEN
        RAISE EXCEPTION 'column "%" of relation % has type %: "%" needs text', k, tbl, typ, how
          USING ERRCODE = 'PV801', HINT = 'Use "null" for other types, or erasure delete.';
      END IF;
      IF how = 'pseudonym' AND typ = 'character varying'::regtype
         AND (SELECT atttypmod FROM pg_attribute WHERE attrelid = tbl AND attname = k) BETWEEN 0 AND 67 THEN
        RAISE EXCEPTION 'column "%" of relation % is too short for a pseudonym (64 characters)', k, tbl
          USING ERRCODE = 'PV801';
      END IF;
      IF how = 'redact' AND k = subject_column THEN
        RAISE EXCEPTION 'the subject column cannot be anonymized by redaction'
          USING ERRCODE = 'PV801', HINT = 'Redaction may leave an id as it is: use "pseudonym" or "null".';
      END IF;
    END LOOP;
  END IF;
  INSERT INTO privacy.subject_tables AS s (table_name, subject_column, tenant_column, erasure, anonymize, legal_reason)
  VALUES (tbl, subject_column, tenant_column, erasure, CASE WHEN erasure = 'anonymize' THEN plan END,
          CASE WHEN erasure = 'keep' THEN legal_reason END)
  ON CONFLICT (table_name) DO UPDATE
     SET subject_column = EXCLUDED.subject_column, tenant_column = EXCLUDED.tenant_column,
         erasure = EXCLUDED.erasure, anonymize = EXCLUDED.anonymize, legal_reason = EXCLUDED.legal_reason;
END $$;
COMMENT ON FUNCTION privacy.register_subject_table(regclass, name, text, name, jsonb, text) IS
  'registers a table holding subjects'' data: its subject and tenant columns and what erasure does there (delete, anonymize, keep)';
REVOKE ALL ON FUNCTION privacy.register_subject_table(regclass, name, text, name, jsonb, text) FROM PUBLIC;

CREATE FUNCTION privacy.unregister_subject_table(tbl regclass) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  DELETE FROM privacy.subject_tables WHERE table_name = tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION '% is not a registered subject table', tbl
      USING ERRCODE = 'PV802', HINT = 'SELECT table_name FROM privacy.subject_tables lists them.';
  END IF;
END $$;
REVOKE ALL ON FUNCTION privacy.unregister_subject_table(regclass) FROM PUBLIC;

-- The type a value is compared in: a domain's base type, with its typmod (char(8) stays
-- char(8)). Comparing in the base type runs no domain CHECK, which is user code.
CREATE FUNCTION privacy._subject_base_type(tbl regclass, col name) RETURNS text
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  t oid;
  m int;
  k char;
BEGIN
  SELECT a.atttypid, a.atttypmod INTO t, m FROM pg_attribute a
   WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
  IF t IS NULL THEN RETURN NULL; END IF;
  LOOP
    SELECT typtype INTO k FROM pg_type WHERE oid = t;
    EXIT WHEN k <> 'd';
    SELECT typbasetype, typtypmod INTO t, m FROM pg_type WHERE oid = t;
  END LOOP;
  RETURN format_type(t, m);
END $$;
REVOKE ALL ON FUNCTION privacy._subject_base_type(regclass, name) FROM PUBLIC;

-- The registered tables, children before the registered tables they reference (so that a
-- delete never trips a foreign key), then by name; with the WHERE clause that finds a
-- subject's rows ($1 subject, $2 tenant, compared in each column's base type so that indexes
-- serve), or NULL when the subject id or the tenant id is not a value of that type that reads
-- back as itself ('042' in an integer column, 'C0001234' in char(4)): no row of that table is
-- the subject's then. hold_clause selects the rows held by the table's retention hold column.
CREATE FUNCTION privacy._subject_plan(subj text, ten text)
  RETURNS TABLE (table_name regclass, erasure text, anonymize jsonb, legal_reason text, subject_column name,
                 where_clause text, hold_clause text, bytea_columns name[])
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  r record;
  st text;
  tt text;
  ok boolean;
  hold name;
BEGIN
  FOR r IN
    WITH RECURSIVE refs(child, parent, depth) AS (
      SELECT c.conrelid, c.confrelid, 1 FROM pg_constraint c
       WHERE c.contype = 'f' AND c.conrelid <> c.confrelid
         AND c.conrelid IN (SELECT s.table_name FROM privacy.subject_tables s)
         AND c.confrelid IN (SELECT s.table_name FROM privacy.subject_tables s)
      UNION
      SELECT r2.child, c.confrelid, r2.depth + 1 FROM refs r2 JOIN pg_constraint c ON c.conrelid = r2.parent
       WHERE c.contype = 'f' AND c.conrelid <> c.confrelid AND r2.depth < 32
         AND c.confrelid IN (SELECT s.table_name FROM privacy.subject_tables s))
    SELECT s.*, coalesce((SELECT max(depth) FROM refs WHERE child = s.table_name), 0) AS depth
      FROM privacy.subject_tables s
     ORDER BY depth DESC, s.table_name::text
  LOOP
    st := privacy._subject_base_type(r.table_name, r.subject_column);
    tt := privacy._subject_base_type(r.table_name, r.tenant_column);
    IF st IS NULL OR tt IS NULL THEN
      RAISE EXCEPTION 'registered subject table % lost its subject or tenant column', r.table_name
        USING ERRCODE = 'PV801', HINT = 'Register the table again with privacy.register_subject_table().';
    END IF;
    BEGIN
      EXECUTE format('SELECT $1::%s::text = $1 AND $2::%s::text = $2', st, tt) INTO ok USING subj, ten;
    EXCEPTION WHEN data_exception THEN
      ok := false;
    END;
    SELECT p.hold_column INTO hold FROM privacy.retention_policies p WHERE p.table_name = r.table_name;
    table_name := r.table_name;
    erasure := r.erasure;
    anonymize := r.anonymize;
    legal_reason := r.legal_reason;
    subject_column := r.subject_column;
    where_clause := CASE WHEN ok THEN format('%I = $1::%s AND %I = $2::%s', r.subject_column, st, r.tenant_column, tt) END;
    hold_clause := CASE WHEN hold IS NOT NULL THEN format('%I IS TRUE', hold) END;
    bytea_columns := ARRAY(SELECT a.attname FROM pg_attribute a
                            WHERE a.attrelid = r.table_name AND a.attnum > 0 AND NOT a.attisdropped
                              AND (a.atttypid = 'bytea'::regtype
                                   OR privacy._subject_base_type(r.table_name, a.attname) = 'bytea')
                            ORDER BY a.attnum);
    RETURN NEXT;
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy._subject_plan(text, text) FROM PUBLIC;

-- A CSV field: always quoted, quotes doubled; NULL is the empty unquoted field.
CREATE FUNCTION privacy._csv(v text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN v IS NULL THEN '' ELSE '"' || replace(v, '"', '""') || '"' END
$$;
REVOKE ALL ON FUNCTION privacy._csv(text) FROM PUBLIC;

-- Runs `query` as the owner of `tbl`, security-restricted (see subject_fn.cpp): the rows (a
-- SELECT's first column) or, with dml, the number of rows processed.
CREATE FUNCTION privacy._as_table_owner(tbl regclass, query text, dml boolean, subj text, ten text, pseud text)
  RETURNS SETOF text
  AS 'MODULE_PATHNAME', 'pgp_as_table_owner' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._as_table_owner(regclass, text, boolean, text, text, text) FROM PUBLIC;

-- The one number a statement run by _as_table_owner() gives: rows processed, or a count(*).
CREATE FUNCTION privacy._as_table_owner_count(tbl regclass, query text, dml boolean, subj text, ten text, pseud text)
  RETURNS bigint
  LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
  SELECT x::bigint FROM privacy._as_table_owner(tbl, query, dml, subj, ten, pseud) x
$$;
REVOKE ALL ON FUNCTION privacy._as_table_owner_count(regclass, text, boolean, text, text, text) FROM PUBLIC;

-- The export document, one chunk per row: JSON ({"format", "subject", "tenant", "exported_at",
-- "tables": [{"table", "erasure", "rows": [...]}], "audit": [...]}, chunks joined by newlines)
-- or CSV (source,record,field,value). Rows are read as each table's owner; encrypted values
-- are then opened for the tenant and the subject (NULL when their key was shredded or they are
-- another subject's). Called as the owner by privacy.export_subject().
CREATE FUNCTION privacy._export_subject(subj text, fmt text, ten text) RETURNS SETOF text
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  p record;
  doc text;
  j jsonb;
  col name;
  n bigint;
  first_table boolean := true;
  first_row boolean;
BEGIN
  IF fmt IS NULL OR fmt NOT IN ('json', 'csv') THEN
    RAISE EXCEPTION 'unknown export format "%"', fmt
      USING ERRCODE = '22023', HINT = 'The format is json or csv.';
  END IF;
  IF fmt = 'json' THEN
    RETURN NEXT '{"format": "pg_privacy subject export 1", "subject": ' || to_json(subj)::text
             || ', "tenant": ' || to_json(ten)::text || ', "exported_at": ' || to_json(now())::text
             || ', "tables": [';
  ELSE
    RETURN NEXT 'source,record,field,value';
  END IF;
  PERFORM privacy._progress('reading the registered tables', NULL, 0, (SELECT count(*) FROM privacy.subject_tables));
  FOR p IN SELECT * FROM privacy._subject_plan(subj, ten) LOOP
    PERFORM privacy._progress(NULL, p.table_name::text, privacy._count_of('tables'), NULL);  -- privacy.progress
    IF fmt = 'json' THEN
      RETURN NEXT CASE WHEN first_table THEN '' ELSE ', ' END || '{"table": ' || to_json(p.table_name::text)::text
               || ', "erasure": ' || to_json(p.erasure)::text || ', "rows": [';
      first_table := false;
    END IF;
    IF p.where_clause IS NOT NULL THEN
      first_row := true;
      n := 0;
      FOR doc IN SELECT * FROM privacy._as_table_owner(p.table_name,
                   format('SELECT to_jsonb(t.*)::text FROM %s t WHERE %s', p.table_name, p.where_clause),
                   false, subj, ten, NULL) LOOP
        n := n + 1;
        j := doc::jsonb;
        FOREACH col IN ARRAY p.bytea_columns LOOP
          IF j->>col IS NOT NULL THEN
            j := jsonb_set(j, ARRAY[col::text],
                   coalesce(to_jsonb(privacy._export_bytea(decode(substr(j->>col, 3), 'hex'), ten, subj)), 'null'));
          END IF;
        END LOOP;
        -- Read as the table's owner; shown to the caller as the caller may read it: classified
        -- columns the caller's verified roles do not allow are masked (tenancy.md).
        j := privacy._classified_mask(j, p.table_name);
        IF fmt = 'json' THEN
          RETURN NEXT CASE WHEN first_row THEN '' ELSE ', ' END || j::text;
          first_row := false;
        ELSE
          RETURN QUERY SELECT privacy._csv(p.table_name::text) || ',' || n || ',' || privacy._csv(e.key) || ','
                              || privacy._csv(e.value)
                         FROM jsonb_each_text(j) e;
        END IF;
      END LOOP;
      PERFORM privacy._count('rows', n);
    END IF;
    PERFORM privacy._count('tables', 1);
    IF fmt = 'json' THEN
      RETURN NEXT ']}';
    END IF;
  END LOOP;
  PERFORM privacy._progress('reading the audit records', NULL, privacy._count_of('tables'), NULL);
  IF fmt = 'json' THEN
    RETURN NEXT '], "audit": [';
  END IF;
  -- Audit records about the person (metadata only: the log holds no values in 'none' mode),
  -- sealed or still queued.
  first_row := true;
  n := 0;
  FOR doc IN
    SELECT jsonb_build_object('id', a.id, 'at', a.at, 'action', a.action, 'kind', a.kind,
                              'table', a.table_name, 'changed_columns', a.changed_columns, 'role', a.role)::text
      FROM (SELECT l.id, l.at, l.action, l.kind, l.table_name, l.changed_columns, l.role, 0 AS o, l.id AS k
              FROM privacy.audit_log l WHERE l.tenant = ten AND l.subject = subj
            UNION ALL
            SELECT NULL, q2.at, q2.action, q2.kind, q2.table_name, q2.changed_columns, q2.role, 1, q2.qid
              FROM privacy.audit_queue q2 WHERE q2.tenant = ten AND q2.subject = subj) a
     ORDER BY a.o, a.k
  LOOP
    n := n + 1;
    IF fmt = 'json' THEN
      RETURN NEXT CASE WHEN first_row THEN '' ELSE ', ' END || doc;
      first_row := false;
    ELSE
      RETURN QUERY SELECT privacy._csv('privacy.audit_log') || ',' || n || ',' || privacy._csv(e.key) || ','
                          || privacy._csv(e.value)
                     FROM jsonb_each_text(doc::jsonb) e;
    END IF;
  END LOOP;
  PERFORM privacy._count('audit_records', n);
  IF fmt = 'json' THEN
    RETURN NEXT ']}';
  END IF;
END $$;
REVOKE ALL ON FUNCTION privacy._export_subject(text, text, text) FROM PUBLIC;

CREATE FUNCTION privacy.export_subject(subject text, format text DEFAULT 'json', tenant text DEFAULT NULL)
  RETURNS SETOF text
  AS 'MODULE_PATHNAME', 'pgp_export_subject' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.export_subject(text, text, text) IS
  'every row about the subject in the registered tables and the audit records about them, as one JSON or CSV document in chunks (join them with newlines)';
REVOKE ALL ON FUNCTION privacy.export_subject(text, text, text) FROM PUBLIC;

-- The subject's key destroyed, and one audit record (the subject by its pseudonym only).
CREATE FUNCTION privacy._shred_subject(subj text, ten text) RETURNS bigint
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE n bigint;
BEGIN
  n := privacy._shred_subject_key(ten, subj);
  PERFORM privacy._audit_record('crypto', 'SHRED_SUBJECT', NULL,
            jsonb_build_object('tenant_id', ten, 'subject_pseudonym', privacy.audit_hmac(subj), 'keys', n));
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION privacy._shred_subject(text, text) FROM PUBLIC;

CREATE FUNCTION privacy.shred_subject(subject text, tenant text DEFAULT NULL) RETURNS bigint
  AS 'MODULE_PATHNAME', 'pgp_shred_subject' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.shred_subject(text, text) IS
  'destroys the subject''s key: what privacy.encrypt(value, subject) sealed becomes unreadable everywhere; the subject stays shredded';
REVOKE ALL ON FUNCTION privacy.shred_subject(text, text) FROM PUBLIC;

-- Erasure in the caller's transaction: refused under an active legal hold; each registered
-- table as registered; the subject's key shredded; the subject id in audit records and in
-- released legal holds replaced by its pseudonym; one audit record with the counts. Called as
-- the owner by privacy.erase_subject().
CREATE FUNCTION privacy._erase_subject(subj text, ten text) RETURNS jsonb
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  p record;
  pseud text := privacy.audit_hmac(subj);
  tables jsonb := '{}';
  sets text;
  wh text;
  n bigint;
  held bigint;
  keys bigint;
  audited bigint;
  holds bigint;
  result jsonb;
  con text;
  code text;
BEGIN
  -- place_hold() takes this lock exclusively: a hold placed meanwhile either is seen here or
  -- waits for this erasure to commit.
  PERFORM pg_advisory_xact_lock_shared(privacy._hold_lock_key());
  IF EXISTS (SELECT FROM privacy.legal_holds h
              WHERE h.released_at IS NULL AND (h.tenant_id IS NULL OR h.tenant_id = ten)
                AND (h.subject IS NULL OR h.subject = subj)) THEN
    RAISE EXCEPTION 'the subject is under a legal hold'
      USING ERRCODE = 'PV803', DETAIL = 'An active legal hold covers this subject or its whole tenant; nothing was erased.',
            HINT = 'Release the hold (privacy.release_hold) when the legal reason ends, then erase.';
  END IF;
  PERFORM privacy._progress('erasing in the registered tables', NULL, 0, (SELECT count(*) FROM privacy.subject_tables));
  FOR p IN SELECT * FROM privacy._subject_plan(subj, ten) LOOP
    PERFORM privacy._progress(NULL, p.table_name::text, privacy._count_of('tables'), NULL);  -- privacy.progress
    n := 0;
    held := NULL;
    IF p.where_clause IS NOT NULL THEN
      wh := p.where_clause || CASE WHEN p.hold_clause IS NULL THEN '' ELSE ' AND NOT ' || p.hold_clause END;
      BEGIN
        IF p.erasure = 'delete' THEN
          n := privacy._as_table_owner_count(p.table_name,
                  format('DELETE FROM %s WHERE %s', p.table_name, wh), true, subj, ten, pseud);
        ELSIF p.erasure = 'anonymize' THEN
          SELECT string_agg(format('%I = %s', e.key,
                   CASE e.value #>> '{}' WHEN 'null' THEN 'NULL' WHEN 'redact' THEN format('privacy.redact(%I)', e.key)
                        ELSE '$3' END), ', ')
            INTO sets FROM jsonb_each(p.anonymize) e;
          n := privacy._as_table_owner_count(p.table_name,
                  format('UPDATE %s SET %s WHERE %s', p.table_name, sets, wh), true, subj, ten, pseud);
        ELSE
          n := privacy._as_table_owner_count(p.table_name,
                  format('SELECT count(*)::text FROM %s WHERE %s', p.table_name, p.where_clause), false, subj, ten, pseud);
        END IF;
        IF p.hold_clause IS NOT NULL AND p.erasure <> 'keep' THEN
          held := privacy._as_table_owner_count(p.table_name,
                     format('SELECT count(*)::text FROM %s WHERE %s AND %s', p.table_name, p.where_clause, p.hold_clause),
                     false, subj, ten, pseud);
        END IF;
      EXCEPTION WHEN integrity_constraint_violation THEN
        -- The constraint's own message names the key values (the subject id): re-raised
        -- without them.
        GET STACKED DIAGNOSTICS con = CONSTRAINT_NAME, code = RETURNED_SQLSTATE;
        RAISE EXCEPTION 'erasure in % is blocked by constraint "%"', p.table_name, con
          USING ERRCODE = code, DETAIL = 'Nothing was erased.',
                HINT = 'Register the tables that reference it (erasure delete runs children first), or give the foreign key ON DELETE/ON UPDATE CASCADE.';
      END;
    END IF;
    PERFORM privacy._count('tables', 1);
    PERFORM privacy._count(CASE p.erasure WHEN 'delete' THEN 'rows_deleted' WHEN 'anonymize' THEN 'rows_anonymized'
                                ELSE 'rows_kept' END, n);
    PERFORM privacy._count('rows_held', coalesce(held, 0));
    tables := tables || jsonb_build_object(p.table_name::text,
                jsonb_build_object(CASE p.erasure WHEN 'delete' THEN 'deleted' WHEN 'anonymize' THEN 'anonymized'
                                   ELSE 'kept' END, n)
                || CASE WHEN p.erasure = 'keep' THEN jsonb_build_object('legal_reason', p.legal_reason) ELSE '{}' END
                || CASE WHEN held IS NOT NULL THEN jsonb_build_object('held', held) ELSE '{}' END);
  END LOOP;
  keys := privacy._shred_subject_key(ten, subj);
  UPDATE privacy.legal_holds SET subject = pseud
   WHERE subject = subj AND tenant_id = ten AND released_at IS NOT NULL;
  GET DIAGNOSTICS holds = ROW_COUNT;
  -- Last among the changes: the records the steps above queued are pseudonymized too (when the
  -- person erases themselves, their verified context is the subject of those records).
  audited := privacy._audit_erase_subject(ten, subj);
  PERFORM privacy._progress('shredding the key, pseudonymizing the audit log', NULL, privacy._count_of('tables'), NULL);
  PERFORM privacy._count('subject_keys_shredded', keys);
  PERFORM privacy._count('audit_records_pseudonymized', audited);
  result := jsonb_build_object('tenant_id', ten, 'subject_pseudonym', pseud, 'tables', tables,
                               'subject_keys_shredded', keys, 'audit_records_pseudonymized', audited,
                               'legal_holds_pseudonymized', holds);
  PERFORM privacy._audit_record('subject', 'ERASE', NULL, result);
  IF privacy.current_tenant() IS NOT DISTINCT FROM ten AND privacy.current_subject() IS NOT DISTINCT FROM subj THEN
    PERFORM privacy._audit_erase_subject(ten, subj);  -- the ERASE record itself
  END IF;
  RETURN result;
END $$;
REVOKE ALL ON FUNCTION privacy._erase_subject(text, text) FROM PUBLIC;

CREATE FUNCTION privacy.erase_subject(subject text, tenant text DEFAULT NULL) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'pgp_erase_subject' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.erase_subject(text, text) IS
  'erases the subject in one transaction: registered tables per their erasure, the subject key shredded, audit records pseudonymized, one audit record with counts; harmless twice';
REVOKE ALL ON FUNCTION privacy.erase_subject(text, text) FROM PUBLIC;
