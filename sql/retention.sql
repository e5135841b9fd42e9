-- The SQL surface of retention: tenants and regions, set_retention and its errors, legal holds,
-- purge_preview, CALL privacy.purge(), children, partitions, the history, RLS and the errors.
\set SHOW_CONTEXT never

-- Keep periods: US 7 days, EU 30 days; initech overrides to 90 days; 'stray' is not listed.
INSERT INTO privacy.region_retention VALUES ('US', '7 days'), ('EU', '30 days');
INSERT INTO privacy.tenants (tenant_id, region) VALUES ('acme', 'US'), ('globex', 'EU');
INSERT INTO privacy.tenants (tenant_id, region, retention) VALUES ('initech', 'EU', '90 days');
\set VERBOSITY terse
INSERT INTO privacy.tenants (tenant_id, retention) VALUES ('bad', '-1 day');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO privacy.region_retention VALUES ('APAC', '0 days');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

CREATE TABLE reg_msgs (id int PRIMARY KEY, tenant_id text, subject text, held boolean NOT NULL DEFAULT false,
                       body text, created_at timestamptz NOT NULL);
CREATE INDEX ON reg_msgs (tenant_id, created_at);
-- Each tenant has a message 3, 10, 45 and 100 days old, from subjects s1..s4.
INSERT INTO reg_msgs
SELECT row_number() OVER (), t, 's' || d.n, false, 'hello', now() - make_interval(days => d.age)
  FROM unnest(ARRAY['acme', 'globex', 'initech', 'stray']) t,
       unnest(ARRAY[3, 10, 45, 100]) WITH ORDINALITY d(age, n);

-- set_retention: validation errors, each with its SQLSTATE.
SELECT privacy.set_retention('reg_msgs', 'created_at', '0 days');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.set_retention('reg_msgs', 'created_at', '60 days', batch_size => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.set_retention('reg_msgs', 'no_such', '60 days');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.set_retention('reg_msgs', 'body', '60 days');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.set_retention('reg_msgs', 'created_at', '60 days', 'tenant_id', 'body');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW reg_view AS SELECT * FROM reg_msgs;
SELECT privacy.set_retention('reg_view', 'created_at', '60 days');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.drop_retention('reg_msgs');
\echo :LAST_ERROR_SQLSTATE

-- Idempotent: the second call updates the first.
SELECT privacy.set_retention('reg_msgs', 'created_at', '20 days', 'tenant_id');
SELECT privacy.set_retention('reg_msgs', 'created_at', '60 days', 'tenant_id', 'held', 2, 'subject');
SELECT table_name, time_column, keep, tenant_column, hold_column, subject_column, batch_size, parent
  FROM privacy.retention_policies;
SELECT table_name, tenant_id, region, keep, keep_source, cutoff IS NOT NULL AS has_cutoff
  FROM privacy.retention ORDER BY tenant_id NULLS FIRST;

-- Legal holds: one held row, one held subject (within globex), one held tenant.
UPDATE reg_msgs SET held = true WHERE tenant_id = 'acme' AND subject = 's4';
SELECT privacy.place_hold('globex', 's3', 'litigation 17') AS subject_hold \gset
SELECT privacy.place_hold(NULL, NULL, 'nothing');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.place_hold('acme', NULL, '');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.place_hold('stray', NULL, 'audit') AS tenant_hold \gset
SELECT tenant_id, subject, reason, released_at IS NULL AS active FROM privacy.legal_holds ORDER BY id;

-- Dry run: what would go, per tenant; nothing is deleted.
SELECT table_name, tenant_id, keep, rows_expired, rows_held, partitions_expired
  FROM privacy.purge_preview() ORDER BY tenant_id NULLS FIRST;
SELECT count(*) AS rows_before FROM reg_msgs;

-- The purge commits after every batch, so it cannot run inside a transaction block.
BEGIN;
CALL privacy.purge();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

CALL privacy.purge();
SELECT tenant_id, array_agg(round(extract(epoch FROM now() - created_at) / 86400)::int ORDER BY created_at DESC) AS ages_kept
  FROM reg_msgs GROUP BY 1 ORDER BY 1;
SELECT table_name, tenant_id, rows_deleted, partitions_dropped, status, error
  FROM privacy.purge_runs ORDER BY tenant_id NULLS FIRST, run_id;

-- Releasing the holds lets those rows expire.
SELECT privacy.release_hold(:subject_hold);
SELECT privacy.release_hold(:subject_hold);
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.release_hold(:tenant_hold);
CALL privacy.purge('reg_msgs');
SELECT tenant_id, count(*) FROM reg_msgs GROUP BY 1 ORDER BY 1;

-- Children: messages of a conversation go with it; a held message keeps its conversation.
CREATE TABLE reg_conv (id int PRIMARY KEY, tenant_id text NOT NULL, created_at date NOT NULL);
CREATE INDEX ON reg_conv (created_at);
CREATE TABLE reg_conv_msg (id int PRIMARY KEY, conv_id int NOT NULL REFERENCES reg_conv, held boolean DEFAULT false);
CREATE TABLE reg_conv_note (id int PRIMARY KEY, msg_id int NOT NULL REFERENCES reg_conv_msg);
INSERT INTO reg_conv SELECT i, 'globex', current_date - i * 20 FROM generate_series(1, 4) i;
INSERT INTO reg_conv_msg SELECT c * 10 + k, c, c = 3 AND k = 1 FROM generate_series(1, 4) c, generate_series(1, 2) k;
INSERT INTO reg_conv_note SELECT id, id FROM reg_conv_msg;
SELECT privacy.set_retention('reg_conv', 'created_at', '30 days', 'tenant_id');
SELECT privacy.set_retention_child('reg_conv_msg', 'reg_msgs');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.set_retention_child('reg_conv_note', 'reg_conv');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.set_retention_child('reg_conv_msg', 'reg_conv', 'held');
SELECT privacy.set_retention_child('reg_conv_note', 'reg_conv_msg');
SELECT privacy.set_retention_child('reg_conv', 'reg_conv_note');
\echo :LAST_ERROR_SQLSTATE
SELECT table_name, parent, keep_source FROM privacy.retention WHERE parent IS NOT NULL ORDER BY 1;
CALL privacy.purge('reg_conv');
SELECT (SELECT array_agg(id ORDER BY id) FROM reg_conv) AS convs,
       (SELECT array_agg(id ORDER BY id) FROM reg_conv_msg) AS msgs,
       (SELECT array_agg(id ORDER BY id) FROM reg_conv_note) AS notes;

-- An unregistered child with a plain foreign key fails its pass, recorded with its SQLSTATE.
SELECT privacy.drop_retention('reg_conv');
SELECT count(*) AS child_policies_left FROM privacy.retention_policies WHERE parent IS NOT NULL;
SELECT privacy.set_retention('reg_conv', 'created_at', '30 days', 'tenant_id');
UPDATE reg_conv SET created_at = created_at - 100;
CALL privacy.purge('reg_conv');
\echo :LAST_ERROR_SQLSTATE
SELECT tenant_id, status, error FROM privacy.purge_runs WHERE table_name = 'public.reg_conv' AND status = 'failed';

-- Partitions by the time column: whole expired partitions are dropped, unless they hold a
-- held row; the rest is purged row by row.
CREATE TABLE reg_events (id int, tenant_id text, held boolean DEFAULT false, at timestamptz NOT NULL)
  PARTITION BY RANGE (at);
CREATE TABLE reg_events_2000 PARTITION OF reg_events FOR VALUES FROM ('2000-01-01') TO ('2001-01-01');
CREATE TABLE reg_events_2001 PARTITION OF reg_events FOR VALUES FROM ('2001-01-01') TO ('2002-01-01');
CREATE TABLE reg_events_now PARTITION OF reg_events FOR VALUES FROM ('2002-01-01') TO (MAXVALUE);
CREATE INDEX ON reg_events (at);
INSERT INTO reg_events SELECT i, 'acme', false, '2000-03-01'::timestamptz + i * interval '1 day' FROM generate_series(1, 5) i;
INSERT INTO reg_events SELECT i, 'acme', i = 2, '2001-03-01'::timestamptz + i * interval '1 day' FROM generate_series(1, 5) i;
INSERT INTO reg_events SELECT i, 'acme', false, now() - i * interval '1 day' FROM generate_series(1, 5) i;
SELECT privacy.set_retention('reg_events', 'at', '30 days', 'tenant_id', 'held');
SELECT table_name, tenant_id, rows_expired, rows_held, partitions_expired
  FROM privacy.purge_preview('reg_events') WHERE rows_expired > 0 OR partitions_expired > 0;
CALL privacy.purge('reg_events');
SELECT tableoid::regclass AS partition, count(*) FROM reg_events GROUP BY 1 ORDER BY 1;
SELECT tenant_id, rows_deleted, partitions_dropped, status FROM privacy.purge_runs
 WHERE table_name = 'public.reg_events' ORDER BY partitions_dropped DESC, tenant_id;

-- Row-level security: a role that cannot see every row is refused rather than purging a part.
CREATE TABLE reg_protected (id int, tenant_id text NOT NULL, created_at timestamptz NOT NULL);
SELECT privacy.protect('reg_protected');
SELECT privacy.set_retention('reg_protected', 'created_at', '1 day', 'tenant_id');
CREATE ROLE reg_purger;
GRANT USAGE ON SCHEMA privacy TO reg_purger;
GRANT EXECUTE ON ALL ROUTINES IN SCHEMA privacy TO reg_purger;
GRANT SELECT ON ALL TABLES IN SCHEMA privacy TO reg_purger;
GRANT INSERT, UPDATE ON privacy.purge_runs TO reg_purger;
GRANT USAGE ON SEQUENCE privacy.purge_runs_run_id_seq TO reg_purger;
-- SELECT ... FOR UPDATE SKIP LOCKED needs UPDATE as well as DELETE.
GRANT SELECT, UPDATE, DELETE ON reg_protected TO reg_purger;
INSERT INTO reg_protected VALUES (1, 'stray', now() - interval '3 days'), (2, 'globex', now());
SET ROLE reg_purger;
CALL privacy.purge();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM privacy.purge_preview();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- With BYPASSRLS the same role purges every tenant's expired rows.
ALTER ROLE reg_purger BYPASSRLS;
SET ROLE reg_purger;
CALL privacy.purge('reg_protected');
RESET ROLE;
SELECT id, tenant_id FROM reg_protected;
CREATE TABLE reg_unregistered (id int);
SELECT * FROM privacy.purge_preview('reg_unregistered');
\echo :LAST_ERROR_SQLSTATE
CALL privacy.purge('reg_unregistered');
\echo :LAST_ERROR_SQLSTATE

-- Clean up (later files run in the same database).
DROP OWNED BY reg_purger;
DROP ROLE reg_purger;
SELECT privacy.unprotect('reg_protected');
DELETE FROM privacy.retention_policies;
DELETE FROM privacy.legal_holds;
DELETE FROM privacy.tenants;
DELETE FROM privacy.region_retention;
DELETE FROM privacy.purge_runs;
DROP VIEW reg_view;
DROP TABLE reg_msgs, reg_conv_note, reg_conv_msg, reg_conv, reg_events, reg_protected, reg_unregistered;
