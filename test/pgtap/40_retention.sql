-- Retention suite: keep periods per tenant, region and table (and changes to them), legal holds
-- of every kind, foreign keys (the user's cascade and children registered under a parent),
-- partitions dropped or kept, the dry run, the history, RLS, and scheduling with pg_cron.
-- Not wrapped in one transaction: CALL privacy.purge() commits after every batch.
\set ON_ERROR_STOP 1
\set QUIET 1

DROP SCHEMA IF EXISTS rsuite CASCADE;
CREATE SCHEMA rsuite;
DELETE FROM privacy.retention_policies;
DELETE FROM privacy.legal_holds;
DELETE FROM privacy.tenants;
DELETE FROM privacy.region_retention;
DELETE FROM privacy.purge_runs;
INSERT INTO privacy.region_retention VALUES ('US', '7 days'), ('EU', '30 days');
INSERT INTO privacy.tenants (tenant_id, region) VALUES ('acme', 'US'), ('globex', 'EU'), ('hooli', 'EU');
INSERT INTO privacy.tenants (tenant_id, region, retention) VALUES ('initech', 'EU', '90 days');

-- Messages of four tenants (one unlisted), each 3, 10, 45 and 100 days old, plus a row one
-- hour short of the US period. mark says what the test expects of each row.
CREATE TABLE rsuite.msgs (id serial PRIMARY KEY, tenant_id text NOT NULL, subject text, held boolean NOT NULL DEFAULT false,
                          created_at timestamptz NOT NULL, mark text);
CREATE INDEX ON rsuite.msgs (tenant_id, created_at);
INSERT INTO rsuite.msgs (tenant_id, subject, created_at, mark)
SELECT t, 'u' || a, now() - make_interval(days => a), t || '/' || a
  FROM unnest(ARRAY['acme', 'globex', 'initech', 'stray', 'hooli']) t, unnest(ARRAY[3, 10, 45, 100]) a;
INSERT INTO rsuite.msgs (tenant_id, created_at, mark) VALUES ('acme', now() - interval '7 days' + interval '1 hour', 'acme/edge');
INSERT INTO rsuite.msgs (tenant_id, created_at, mark) SELECT 'acme', now() - interval '20 days', 'acme/bulk' FROM generate_series(1, 5);
UPDATE rsuite.msgs SET held = true WHERE mark = 'acme/100';
-- Hooli: the whole tenant is held. Subject u45 is held everywhere; subject u100 only in globex.
SELECT privacy.place_hold('hooli', NULL, 'regulator request') AS hooli_hold \gset
SELECT privacy.place_hold(NULL, 'u45', 'litigation') AS u45_hold \gset
SELECT privacy.place_hold('globex', 'u100', 'litigation') AS globex_u100_hold \gset
SELECT privacy.set_retention('rsuite.msgs', 'created_at', '60 days', 'tenant_id', 'held', 2, 'subject');

-- A table without a tenant column uses its own period.
CREATE TABLE rsuite.logs (id int, at timestamp NOT NULL);
CREATE INDEX ON rsuite.logs (at);
INSERT INTO rsuite.logs SELECT i, localtimestamp - make_interval(days => i * 10) FROM generate_series(1, 5) i;
SELECT privacy.set_retention('rsuite.logs', 'at', '25 days');

-- The user's ON DELETE CASCADE, and children registered under a parent (two levels).
CREATE TABLE rsuite.conv (id int PRIMARY KEY, tenant_id text NOT NULL, created_at date NOT NULL);
CREATE INDEX ON rsuite.conv (created_at);
CREATE TABLE rsuite.conv_tags (conv_id int REFERENCES rsuite.conv ON DELETE CASCADE, tag text);
CREATE TABLE rsuite.conv_msgs (id int PRIMARY KEY, conv_id int NOT NULL REFERENCES rsuite.conv, held boolean NOT NULL DEFAULT false);
CREATE TABLE rsuite.conv_files (id int PRIMARY KEY, msg_id int NOT NULL REFERENCES rsuite.conv_msgs);
INSERT INTO rsuite.conv SELECT i, 'globex', current_date - i * 20 FROM generate_series(1, 4) i;
INSERT INTO rsuite.conv_tags SELECT i, 'tag' FROM generate_series(1, 4) i;
INSERT INTO rsuite.conv_msgs SELECT c * 10 + k, c, c = 4 AND k = 2 FROM generate_series(1, 4) c, generate_series(1, 3) k;
INSERT INTO rsuite.conv_files SELECT id, id FROM rsuite.conv_msgs;
SELECT privacy.set_retention('rsuite.conv', 'created_at', '5 days', batch_size => 1);
SELECT privacy.set_retention_child('rsuite.conv_msgs', 'rsuite.conv', 'held');
SELECT privacy.set_retention_child('rsuite.conv_files', 'rsuite.conv_msgs');

-- Range partitions on the time column: 2000 expired, 2001 expired but holds a held row,
-- 2002 expired for every tenant but initech (90 days), current ones are purged row by row.
CREATE TABLE rsuite.events (id int, tenant_id text NOT NULL, held boolean NOT NULL DEFAULT false, at timestamptz NOT NULL)
  PARTITION BY RANGE (at);
CREATE TABLE rsuite.events_2000 PARTITION OF rsuite.events FOR VALUES FROM ('2000-01-01') TO ('2001-01-01');
CREATE TABLE rsuite.events_2001 PARTITION OF rsuite.events FOR VALUES FROM ('2001-01-01') TO ('2002-01-01');
CREATE TABLE rsuite.events_recent PARTITION OF rsuite.events
  FOR VALUES FROM ('2002-01-01') TO (MAXVALUE);
CREATE INDEX ON rsuite.events (at);
INSERT INTO rsuite.events VALUES (1, 'acme', false, '2000-05-01'), (2, 'globex', false, '2000-06-01'),
  (3, 'acme', false, '2001-05-01'), (4, 'acme', true, '2001-06-01'),
  (5, 'acme', false, now() - interval '1 day'), (6, 'initech', false, now() - interval '20 days'),
  (7, 'acme', false, now() - interval '20 days');
SELECT privacy.set_retention('rsuite.events', 'at', '30 days', 'tenant_id', 'held');
CREATE TABLE rsuite.slices (id int, tenant_id text NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE rsuite.slices_old PARTITION OF rsuite.slices
  FOR VALUES FROM ('2000-01-01') TO ('2000-02-01');
CREATE TABLE rsuite.slices_60 PARTITION OF rsuite.slices
  FOR VALUES FROM ('2000-02-01') TO (date_trunc('day', now() - interval '60 days'));
CREATE TABLE rsuite.slices_rest PARTITION OF rsuite.slices
  FOR VALUES FROM (date_trunc('day', now() - interval '60 days')) TO (MAXVALUE);
CREATE INDEX ON rsuite.slices (at);
INSERT INTO rsuite.slices VALUES (1, 'acme', '2000-01-10'), (2, 'acme', now() - interval '70 days'),
  (3, 'initech', now() - interval '70 days');
SELECT privacy.set_retention('rsuite.slices', 'at', '30 days', 'tenant_id');

-- A history row left 'running' by a purger that no longer exists.
INSERT INTO privacy.purge_runs (table_name, tenant_id, rows_deleted, status, pid)
VALUES ('rsuite.msgs', 'acme', 3, 'running', 0);

CREATE TEMP TABLE counts_before AS
SELECT 'msgs' AS t, count(*) AS n FROM rsuite.msgs UNION ALL SELECT 'conv', count(*) FROM rsuite.conv
UNION ALL SELECT 'events', count(*) FROM rsuite.events;
CREATE TEMP TABLE preview AS SELECT * FROM privacy.purge_preview();

SELECT plan(37);

-- Dry run.
SELECT is((SELECT row(rows_expired, rows_held)::text FROM preview WHERE table_name = 'rsuite.msgs'::regclass AND tenant_id = 'acme'),
          '(6,2)', 'preview: acme (US, 7 days) has 6 messages expired and 2 expired but held');
SELECT is((SELECT rows_held FROM preview WHERE table_name = 'rsuite.msgs'::regclass AND tenant_id = 'hooli'), 2::bigint,
          'preview: the held tenant''s expired messages are reported as held');
SELECT is((SELECT partitions_expired FROM preview WHERE table_name = 'rsuite.events'::regclass AND tenant_id IS NULL), 1,
          'preview: one whole partition would be dropped');
SELECT set_eq($$SELECT 'msgs', count(*) FROM rsuite.msgs UNION ALL SELECT 'conv', count(*) FROM rsuite.conv
                UNION ALL SELECT 'events', count(*) FROM rsuite.events$$,
              'SELECT * FROM counts_before', 'preview deletes nothing');
SELECT is((SELECT count(*) FROM privacy.purge_runs WHERE status <> 'running'), 0::bigint,
          'preview writes no history');

CALL privacy.purge();

-- Periods.
SELECT set_eq($$SELECT mark FROM rsuite.msgs WHERE tenant_id = 'acme'$$, ARRAY['acme/3', 'acme/edge', 'acme/45', 'acme/100'],
              'US region: 7 days; the row one hour short of it, the held subject and the held row stay');
SELECT set_eq($$SELECT mark FROM rsuite.msgs WHERE tenant_id = 'globex'$$, ARRAY['globex/3', 'globex/10', 'globex/45', 'globex/100'],
              'EU region: 30 days; 45 (subject hold everywhere) and 100 (subject hold within globex) stay');
SELECT set_eq($$SELECT mark FROM rsuite.msgs WHERE tenant_id = 'initech'$$, ARRAY['initech/3', 'initech/10', 'initech/45'],
              'tenant override: 90 days');
SELECT set_eq($$SELECT mark FROM rsuite.msgs WHERE tenant_id = 'stray'$$, ARRAY['stray/3', 'stray/10', 'stray/45'],
              'a tenant not listed: the table''s 60 days');
SELECT set_eq($$SELECT mark FROM rsuite.msgs WHERE tenant_id = 'hooli'$$,
              ARRAY['hooli/3', 'hooli/10', 'hooli/45', 'hooli/100'], 'a held tenant keeps every row');
SELECT set_eq('SELECT id FROM rsuite.logs', ARRAY[1, 2], 'a table without tenant column: its own period (timestamp column)');

-- History.
SELECT is((SELECT rows_deleted FROM privacy.purge_runs WHERE table_name = 'rsuite.msgs' AND tenant_id = 'acme' AND status = 'done'),
          6::bigint, 'history: one run of acme counts its rows, batches of 2 added up');
SELECT is((SELECT rows_deleted FROM privacy.purge_runs WHERE table_name = 'rsuite.msgs' AND tenant_id = 'initech' AND status = 'done'),
          1::bigint, 'history: one run per table and tenant');
SELECT is((SELECT status FROM privacy.purge_runs WHERE pid = 0), 'interrupted',
          'a run left running by a purger that is gone is marked interrupted');
SELECT ok((SELECT bool_and(ended_at >= started_at) FROM privacy.purge_runs WHERE status = 'done'), 'finished runs have an end');
SELECT is((SELECT count(*) FROM privacy.purge_runs WHERE status = 'failed'), 0::bigint, 'no run failed');

-- Foreign keys.
SELECT set_eq('SELECT id FROM rsuite.conv', ARRAY[4], 'parent: expired conversations go, the one with a held message stays');
SELECT set_eq('SELECT conv_id FROM rsuite.conv_tags', ARRAY[4], 'the user''s ON DELETE CASCADE follows');
SELECT set_eq('SELECT id FROM rsuite.conv_msgs', ARRAY[41, 42, 43], 'registered children go with their parent');
SELECT set_eq('SELECT id FROM rsuite.conv_files', ARRAY[41, 42, 43], 'grandchildren too');
SELECT is((SELECT rows_deleted FROM privacy.purge_runs WHERE table_name = 'rsuite.conv'), 3::bigint,
          'batches of one parent row each');

-- Partitions.
SELECT ok(to_regclass('rsuite.events_2000') IS NULL, 'an expired partition without held rows is dropped');
SELECT set_eq('SELECT id FROM rsuite.events_2001', ARRAY[4], 'an expired partition with a held row is kept and purged row by row');
SELECT set_eq('SELECT id FROM rsuite.events_recent', ARRAY[5, 6], 'the current partition loses its expired row only');
SELECT is((SELECT partitions_dropped FROM privacy.purge_runs WHERE table_name = 'rsuite.events' AND tenant_id IS NULL), 1,
          'history counts the dropped partition');
SELECT ok(to_regclass('rsuite.slices_old') IS NULL, 'a partition older than every tenant''s period is dropped');
SELECT ok(to_regclass('rsuite.slices_60') IS NOT NULL, 'a partition within the longest tenant period (initech) is kept');
SELECT set_eq('SELECT id FROM rsuite.slices_60', ARRAY[3], 'and purged row by row: acme''s row goes, initech''s stays');

-- Configuration changes apply at the next purge; releasing a hold lets its rows go.
UPDATE privacy.region_retention SET keep = '5 days' WHERE region = 'EU';
SELECT privacy.release_hold(:u45_hold);
SELECT privacy.release_hold(:hooli_hold);
CALL privacy.purge('rsuite.msgs');
SELECT set_eq($$SELECT mark FROM rsuite.msgs WHERE tenant_id = 'globex'$$, ARRAY['globex/3', 'globex/100'],
              'a shorter region period applies at the next purge');
SELECT set_eq($$SELECT mark FROM rsuite.msgs WHERE tenant_id = 'hooli'$$, ARRAY['hooli/3'],
              'a released tenant hold lets its rows expire');
SELECT set_eq($$SELECT mark FROM rsuite.msgs WHERE tenant_id = 'acme'$$, ARRAY['acme/3', 'acme/edge', 'acme/100'],
              'a released subject hold lets its rows expire');

-- Row-level security: a role that would see only some tenants is refused.
CREATE TABLE rsuite.private (id int, tenant_id text NOT NULL, created_at timestamptz NOT NULL);
SELECT privacy.protect('rsuite.private');
SELECT privacy.set_retention('rsuite.private', 'created_at', '1 day', 'tenant_id');
DROP ROLE IF EXISTS rsuite_purger;
CREATE ROLE rsuite_purger;
GRANT USAGE ON SCHEMA privacy, rsuite TO rsuite_purger;
GRANT EXECUTE ON ALL ROUTINES IN SCHEMA privacy TO rsuite_purger;
GRANT SELECT ON ALL TABLES IN SCHEMA privacy TO rsuite_purger;
SET ROLE rsuite_purger;
SELECT throws_ok('CALL privacy.purge()', 'PV403', NULL, 'purge refuses a role subject to row-level security');
SELECT throws_ok('SELECT * FROM privacy.purge_preview()', 'PV403', NULL, 'and so does the preview');
RESET ROLE;
SELECT throws_ok($$SELECT privacy.set_retention('rsuite.msgs', 'created_at', '-1 day')$$, 'PV401', NULL,
                 'a negative period is refused');

-- pg_cron: the job is scheduled in this database from the cron database, and the command it
-- runs (a top-level CALL in a new session, as pg_cron runs it) purges.
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT format('host=%s port=%s user=postgres', split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port')) AS conn \gset
SELECT dblink_exec('dbname=postgres ' || :'conn', 'CREATE EXTENSION IF NOT EXISTS pg_cron');
SELECT jobid FROM dblink('dbname=postgres ' || :'conn',
  format($$SELECT cron.schedule_in_database('privacy-purge-pgtap', '*/5 * * * *', 'CALL privacy.purge()', %L)$$,
         current_database())) AS t(jobid bigint) \gset
SELECT is((SELECT row(schedule, command, database)::text FROM dblink('dbname=postgres ' || :'conn',
           'SELECT schedule, command, database FROM cron.job WHERE jobname = ''privacy-purge-pgtap''')
           AS t(schedule text, command text, database text)),
          row('*/5 * * * *', 'CALL privacy.purge()', current_database())::text,
          'pg_cron has the purge scheduled every 5 minutes in this database');
INSERT INTO rsuite.msgs (tenant_id, created_at, mark) VALUES ('acme', now() - interval '8 days', 'acme/cron');
SELECT dblink_exec('dbname=' || current_database() || ' ' || :'conn',
  (SELECT command FROM dblink('dbname=postgres ' || :'conn', 'SELECT command FROM cron.job WHERE jobname = ''privacy-purge-pgtap''')
     AS t(command text)));
SELECT is((SELECT count(*) FROM rsuite.msgs WHERE mark = 'acme/cron'), 0::bigint,
          'the scheduled command, run at top level in its own session, purges');
SELECT ok((SELECT u FROM dblink('dbname=postgres ' || :'conn', 'SELECT cron.unschedule(''privacy-purge-pgtap'')') AS t(u boolean)),
          'the job can be unscheduled');

SELECT * FROM finish();

SELECT privacy.unprotect('rsuite.private');
DROP SCHEMA rsuite CASCADE;
DROP OWNED BY rsuite_purger;
DROP ROLE rsuite_purger;
DELETE FROM privacy.retention_policies;
DELETE FROM privacy.legal_holds;
DELETE FROM privacy.tenants;
DELETE FROM privacy.region_retention;
DELETE FROM privacy.purge_runs;
