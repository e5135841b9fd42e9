-- A canonical description of what pg_privacy installed in this database: member objects,
-- function definitions and grants, tables, columns, constraints, indexes, triggers, policies,
-- views and config tables. The upgrade harness diffs it between a fresh install and an update.
-- Ordering is by output column number on text columns ("ORDER BY 2::text" would sort by a constant).
\pset format unaligned
\pset tuples_only on
\pset null '<null>'
SELECT 'member', pg_describe_object(classid, objid, objsubid)
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_privacy')
 ORDER BY 2;
SELECT 'schema', nspname, nspacl FROM pg_namespace WHERE nspname = 'privacy';
SELECT 'function', p.oid::regprocedure::text, p.proacl, pg_get_functiondef(p.oid)
  FROM pg_proc p WHERE p.pronamespace = 'privacy'::regnamespace AND p.prokind IN ('f', 'p', 'w')
 ORDER BY 2;
SELECT 'aggregate', p.oid::regprocedure::text, p.proacl
  FROM pg_proc p WHERE p.pronamespace = 'privacy'::regnamespace AND p.prokind = 'a' ORDER BY 2;
SELECT 'relation', c.relname, c.relkind, c.relacl, c.relrowsecurity, c.relforcerowsecurity,
       c.relpersistence
  FROM pg_class c WHERE c.relnamespace = 'privacy'::regnamespace ORDER BY 2;
SELECT 'column', a.attrelid::regclass::text, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, a.attacl
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'privacy'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY 2, a.attnum;
SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'privacy'::regnamespace ORDER BY 2, 3;
SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE c.relnamespace = 'privacy'::regnamespace ORDER BY 2;
SELECT 'trigger', tgrelid::regclass::text, tgname, pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'privacy'::regnamespace AND NOT t.tgisinternal ORDER BY 2, 3;
SELECT 'policy', tablename, policyname, permissive, roles, cmd, qual, with_check
  FROM pg_policies WHERE schemaname = 'privacy' ORDER BY 2, 3;
SELECT 'view', viewname, definition FROM pg_views WHERE schemaname = 'privacy' ORDER BY 2;
SELECT 'type', t.typname, t.typtype FROM pg_type t
 WHERE t.typnamespace = 'privacy'::regnamespace AND t.typtype IN ('e', 'd', 'c')
   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind <> 'c')
 ORDER BY 2;
SELECT 'enum', t.typname, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
 WHERE t.typnamespace = 'privacy'::regnamespace ORDER BY 2, e.enumsortorder;
SELECT 'config', c::regclass::text, cond
  FROM pg_extension x, unnest(x.extconfig, x.extcondition) AS u(c, cond)
 WHERE x.extname = 'pg_privacy' ORDER BY 2;
SELECT 'event_trigger', evtname, evtevent, evtenabled, evttags
  FROM pg_event_trigger ORDER BY 2;
