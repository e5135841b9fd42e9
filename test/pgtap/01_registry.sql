-- The one registration point (src/pg/registry.cpp): docs/install.md's settings table matches the
-- registered settings row for row, and no other source file registers a hook, callback or setting.
-- Reads the repository's files through psql backticks (pg_prove runs from the repository root).
\set settings_doc `awk '/^## Settings/ { f = 1 } /^## Upgrading/ { f = 0 } f && /^[|] .privacy[.]/' docs/install.md`
\set registration_sites `grep -rlE '(ProcessUtility|planner|needs_fmgr|fmgr|Executor(Start|Run|Finish|End|CheckPerms)|emit_log|shmem_request|shmem_startup|post_parse_analyze|object_access|ClientAuthentication|ExplainOneQuery|set_rel_pathlist|set_join_pathlist|create_upper_paths|get_relation_info)_hook *=[^=]|Register(Sub)?XactCallback|RegisterResourceReleaseCallback|CacheRegister[A-Za-z]+Callback|DefineCustom[A-Za-z]+Variable|MarkGUCPrefixReserved|(^|[^_a-z])(on_proc_exit|on_shmem_exit|before_shmem_exit) *[(]' --include='*.cpp' --include='*.hpp' src/pg | grep -v '^src/pg/registry[.]cpp$' | sort | tr '\n' ' '`
BEGIN;
SELECT plan(6);

CREATE TEMP TABLE doc_settings AS
SELECT trim(BOTH ' `' FROM split_part(line, '|', 2)) AS name,
       trim(BOTH ' `' FROM split_part(line, '|', 3)) AS dflt,
       trim(split_part(line, '|', 4)) AS context,
       trim(split_part(line, '|', 5)) AS doc
FROM regexp_split_to_table(:'settings_doc', E'\n') AS line
WHERE line <> '';

-- Defaults as the docs write them: units folded in (8192 kB is 8MB), an empty string is "empty".
CREATE TEMP TABLE code_settings AS
SELECT name,
       CASE WHEN boot_val = '' THEN 'empty'
            WHEN unit = 'kB' THEN CASE WHEN boot_val::bigint % 1024 = 0 THEN (boot_val::bigint / 1024) || 'MB'
                                       ELSE boot_val || 'kB' END
            WHEN unit IN ('s', 'ms') THEN boot_val || unit
            ELSE boot_val END AS dflt,
       context, short_desc AS doc
FROM pg_settings WHERE name LIKE 'privacy.%';

SELECT cmp_ok((SELECT count(*) FROM code_settings), '>=', 29::bigint, 'every setting of the table is registered');
SELECT set_eq('SELECT name FROM doc_settings', 'SELECT name FROM code_settings',
              'docs/install.md lists exactly the registered settings');
SELECT is_empty($$SELECT name FROM doc_settings GROUP BY name HAVING count(*) > 1$$,
                'docs/install.md lists each setting once');
SELECT set_eq('SELECT name, dflt, context, doc FROM doc_settings',
              'SELECT name, dflt, context, doc FROM code_settings',
              'each setting''s default, context and description in docs/install.md are the registered ones');
SELECT throws_ok($$SET privacy.no_such_setting = 'x'$$, '42602', NULL,
                 'the privacy prefix is reserved after the table is registered');
SELECT is(:'registration_sites'::text, ''::text,
          'hooks, callbacks and settings are registered only in src/pg/registry.cpp');

SELECT * FROM finish();
ROLLBACK;
