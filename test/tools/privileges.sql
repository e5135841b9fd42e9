-- Generates docs/privileges.md from the catalog: which role may call each routine of schema
-- privacy and use each of its tables and views. Defines pg_temp.privileges_markdown(); used by
-- scripts/privileges_doc.sh (writes the page) and test/pgtap/01_privileges.sql (compares it), so
-- the page cannot drift from what CREATE EXTENSION grants. Roles shown: PUBLIC, the roles whose
-- names start with privacy_ (the extension's) and pg_monitor; the owner and superusers
-- may do everything and are not listed.
CREATE FUNCTION pg_temp.privileges_grantees(acl aclitem[], owner oid, kind text, privs text[]) RETURNS text
  LANGUAGE sql STABLE AS $$
  SELECT coalesce(string_agg(DISTINCT CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE r.rolname::text END, ', '
                             ORDER BY CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE r.rolname::text END), '')
    FROM aclexplode(coalesce(acl, acldefault(kind::"char", owner))) e
    LEFT JOIN pg_roles r ON r.oid = e.grantee
   WHERE e.privilege_type = ANY (privs)
     AND (e.grantee = 0 OR r.rolname LIKE 'privacy\_%' OR r.rolname = 'pg_monitor')
$$;

CREATE FUNCTION pg_temp.privileges_markdown() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT concat_ws(E'\n',
    '# Who may call what',
    '',
    'Generated from the catalog of a fresh install by `bash scripts/privileges_doc.sh`: do not edit.',
    'The pgTAP suite (`test/pgtap/01_privileges.sql`) fails when this page and the catalog differ.',
    'Listed: `PUBLIC`, the roles whose names start with `privacy_` (created by `CREATE EXTENSION`)',
    'and `pg_monitor`. The extension''s owner and superusers may call everything. Every grant below',
    'comes from one definition, the view `privacy.role_grants` (`src/sql/0.4.0/85_roles.sql`),',
    'applied at install and again by `privacy.create_roles()` ([operations.md](operations.md#roles)).',
    '"runs as" is `definer` for SECURITY DEFINER routines (each pins `search_path`); C functions',
    'that act as the extension''s owner or a table''s owner switch inside, through one primitive',
    '([security.md](security.md#privilege-switch)).',
    '',
    '## Routines',
    '',
    '| routine | who may execute | runs as |',
    '|---|---|---|',
    (SELECT string_agg(format('| `%s` | %s | %s |', p.oid::regprocedure,
                              coalesce(nullif(pg_temp.privileges_grantees(p.proacl, p.proowner, 'f', ARRAY['EXECUTE']), ''),
                                       'owner only'),
                              CASE WHEN p.prosecdef THEN 'definer' ELSE 'caller' END),
                       E'\n' ORDER BY p.proname, p.oid::regprocedure::text)
       FROM pg_proc p WHERE p.pronamespace = 'privacy'::regnamespace),
    '',
    '## Tables and views',
    '',
    '| relation | kind | SELECT | INSERT, UPDATE, DELETE, TRUNCATE |',
    '|---|---|---|---|',
    (SELECT string_agg(format('| `%s` | %s | %s | %s |', c.oid::regclass,
                              CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'S' THEN 'sequence'
                                             WHEN 'p' THEN 'table' ELSE c.relkind::text END,
                              coalesce(nullif(pg_temp.privileges_grantees(c.relacl, c.relowner,
                                       CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END, ARRAY['SELECT']), ''), 'owner only'),
                              coalesce(nullif(pg_temp.privileges_grantees(c.relacl, c.relowner,
                                       CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END,
                                       ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']), ''), 'owner only')),
                       E'\n' ORDER BY c.relname)
       FROM pg_class c WHERE c.relnamespace = 'privacy'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')),
    '')
$$;
