-- The SQL surface of audit: audit()/unaudit() and their errors, what a record holds per action
-- and values mode, sealing, verification, the head, append-only refusals, maintenance, purge
-- with its checkpoint, and configuration and DDL records. No time, xid or hash is printed.
\set SHOW_CONTEXT never

-- audit(): the values mode is checked, only tables are audited, and a second call is harmless.
CREATE TABLE reg_msgs (id int PRIMARY KEY, tenant_id text, body text, n int);
SELECT privacy.audit('reg_msgs', values_mode => 'plain');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW reg_msgs_v AS SELECT * FROM reg_msgs;
SELECT privacy.audit('reg_msgs_v');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.audit('privacy.rules');
SELECT privacy.unaudit('reg_msgs');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.audit('reg_msgs');
SELECT privacy.audit('reg_msgs');
SELECT tgname, tgtype FROM pg_trigger WHERE tgrelid = 'reg_msgs'::regclass ORDER BY 1;
SELECT table_name, values_mode FROM privacy.audited_tables;

-- Start from an empty log (sealed, then purged): later ids are printed relative to it.
SELECT privacy.audit_seal() > 0 AS sealed_setup;
SELECT privacy.audit_purge('0 seconds') > 0 AS purged_setup;
SELECT privacy.audit_seal() AS sealed_purge_record;
SELECT id AS base FROM privacy.audit_head() \gset

-- 'none' (the default): the key and the names of changed columns, never a value.
INSERT INTO reg_msgs VALUES (1, 'acme', 'mail ana@example.com', 5), (2, 'acme', 'plain text', NULL);
UPDATE reg_msgs SET body = 'mail bob@example.org' WHERE id = 1;
UPDATE reg_msgs SET n = n WHERE id = 1;
DELETE FROM reg_msgs WHERE id = 2;
TRUNCATE reg_msgs;
SELECT kind, action, table_name, pk, changed_columns, row_values, tenant, subject, role
  FROM privacy.audit_queue ORDER BY qid;

-- 'redacted': values through the redaction engine. 'hmac': keys and values as keyed HMACs.
SELECT privacy.audit('reg_msgs', 'redacted');
INSERT INTO reg_msgs VALUES (3, 'acme', 'call +1 415 555 0100 or mail ana@example.com', 7);
DELETE FROM reg_msgs WHERE id = 3;
SELECT privacy.audit('reg_msgs', 'hmac');
INSERT INTO reg_msgs VALUES (4, 'acme', 'ana@example.com', NULL);
SELECT action, pk, row_values FROM privacy.audit_queue WHERE pk->>'id' = '3' ORDER BY qid;
SELECT pk->>'id' = privacy.audit_hmac('4') AS pk_is_hmac,
       row_values->>'body' = privacy.audit_hmac('ana@example.com') AS body_is_hmac,
       row_values::text LIKE '%ana@%' AS shows_value
  FROM privacy.audit_queue WHERE kind = 'dml' AND action = 'INSERT' ORDER BY qid DESC LIMIT 1;

-- Sealing moves the queue into the chain; the chain verifies; the head is the last record.
SELECT privacy.audit_seal() > 0 AS sealed;
SELECT count(*) AS left_in_queue FROM privacy.audit_queue;
SELECT ok, checked > 0 AS checked_some, first_bad_id, reason FROM privacy.audit_verify();
SELECT h.id = (SELECT max(id) FROM privacy.audit_log) AS head_is_last, length(h.hash) AS hash_hex_length
  FROM privacy.audit_head() h;
SELECT id AS head_id, hash AS head_hash FROM privacy.audit_head() \gset
SELECT ok FROM privacy.audit_verify(head_id => :head_id, head_hash => :'head_hash');
SELECT ok, checked FROM privacy.audit_verify(from_id => :base + 3, to_id => :base + 5);
SELECT privacy.audit_verify(head_id => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.audit_verify(head_id => 1, head_hash => 'zz');
\echo :LAST_ERROR_SQLSTATE
SELECT prev_hash = (SELECT hash FROM privacy.audit_checkpoints ORDER BY id DESC LIMIT 1) AS chains_from_checkpoint
  FROM privacy.audit_log ORDER BY id LIMIT 1;

-- Append-only, even for a superuser, unless the audited maintenance switch is on.
UPDATE privacy.audit_log SET role = 'someone else' WHERE id = :base + 1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM privacy.audit_log WHERE id = :base + 1;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE privacy.audit_log;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO privacy.audit_log SELECT * FROM privacy.audit_log WHERE id = :base + 1;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO reg_msgs VALUES (5, 'acme', 'queued', NULL);
DELETE FROM privacy.audit_queue;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE privacy.audit_queue;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM privacy.audit_checkpoints;
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.audit_maintenance(true, NULL);
\echo :LAST_ERROR_SQLSTATE
CREATE ROLE reg_audit_app;
SET ROLE reg_audit_app;
SELECT privacy.audit_maintenance(true, 'not mine');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The switch lets a change through, is recorded, and ends with its transaction; the verifier
-- then names the changed record.
BEGIN;
SELECT privacy.audit_maintenance(true, 'regression test of tampering');
UPDATE privacy.audit_log SET role = 'someone else' WHERE id = :base + 2;
COMMIT;
UPDATE privacy.audit_log SET role = 'again' WHERE id = :base + 2;
\echo :LAST_ERROR_SQLSTATE
SELECT ok, first_bad_id - :base AS first_bad, reason FROM privacy.audit_verify();
SELECT kind, action, detail FROM privacy.audit_queue WHERE kind = 'maintenance';
\set VERBOSITY terse
SELECT privacy.audit_purge('0 seconds');
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SELECT privacy.audit_maintenance(true, 'undo the regression test''s tampering');
UPDATE privacy.audit_log SET role = current_user WHERE id = :base + 2;
SELECT privacy.audit_maintenance(false, 'done');
UPDATE privacy.audit_log SET role = 'x' WHERE id = :base + 2;
ROLLBACK;
BEGIN;
SELECT privacy.audit_maintenance(true, 'undo the regression test''s tampering');
UPDATE privacy.audit_log SET role = current_user WHERE id = :base + 2;
COMMIT;
SELECT ok FROM privacy.audit_verify();

-- Purge: a prefix goes, a checkpoint keeps verification possible, a record says so.
SELECT privacy.audit_seal() > 0 AS sealed;
SELECT privacy.audit_purge('-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT privacy.audit_purge('1 day') AS purged_nothing_recent;
SELECT privacy.audit_purge('0 seconds') > 0 AS purged;
SELECT count(*) AS left_in_log FROM privacy.audit_log;
SELECT c.id = (SELECT max(id) FROM privacy.audit_checkpoints) AS head_at_checkpoint
  FROM privacy.audit_head() h JOIN privacy.audit_checkpoints c ON c.id = h.id;
SELECT ok, checked FROM privacy.audit_verify();
SELECT kind, action, detail - 'checkpoint_id' - 'purged' AS detail FROM privacy.audit_queue WHERE kind = 'retention';
SELECT privacy.audit_seal() AS sealed;
SELECT ok, checked FROM privacy.audit_verify();
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT privacy.audit_seal();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- Configuration changes and DDL are recorded, without values or statement text.
INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('reg-ticket', 'TICKET', 'TCK-[0-9]{6}');
SELECT privacy.add_signing_key('reg-audit-key', 'HS256', 'regress-audit-shared-secret-0123456789abcdef');
DELETE FROM privacy.rules WHERE name = 'reg-ticket';
DELETE FROM privacy.signing_keys WHERE kid = 'reg-audit-key';
ALTER TABLE reg_msgs ADD COLUMN note text;
DROP VIEW reg_msgs_v;
SELECT kind, action, table_name, changed_columns, row_values, detail FROM privacy.audit_queue
 WHERE kind IN ('config', 'ddl') ORDER BY qid;
SELECT count(*) AS records_with_secret FROM privacy.audit_queue
 WHERE row(privacy.audit_queue.*)::text LIKE '%regress-audit-shared-secret%' OR row(privacy.audit_queue.*)::text LIKE '%TCK-%';

-- Reading: a tenant sees its own records through its verified context; the auditor sees all.
BEGIN;
SELECT privacy.set_context('acme', 'u1');
INSERT INTO reg_msgs VALUES (6, 'acme', 'in a context', NULL);
COMMIT;
SELECT privacy.audit_seal() > 0 AS sealed;
GRANT SELECT ON privacy.audit_log TO reg_audit_app;
GRANT privacy_middleware TO reg_audit_app;
SET ROLE reg_audit_app;
SELECT count(*) AS without_context FROM privacy.audit_log;
BEGIN;
SELECT privacy.set_context('acme', 'u1');
SELECT DISTINCT tenant, subject, action, table_name FROM privacy.audit_log;
SELECT table_name, action, records FROM privacy.audit_by_table;
ROLLBACK;
RESET ROLE;
GRANT privacy_auditor TO reg_audit_app;
SET ROLE reg_audit_app;
SELECT count(DISTINCT coalesce(tenant, '-')) > 1 AS auditor_sees_all FROM privacy.audit_log;
SELECT ok FROM privacy.audit_verify();
RESET ROLE;
REVOKE privacy_auditor FROM reg_audit_app;

-- Partitioned tables: PostgreSQL clones the row trigger to each partition; audit() gives each
-- current partition its own TRUNCATE trigger. Rows are recorded under the partition's name.
CREATE TABLE reg_part (id int PRIMARY KEY, body text) PARTITION BY RANGE (id);
CREATE TABLE reg_part_1 PARTITION OF reg_part FOR VALUES FROM (0) TO (100);
SELECT privacy.audit('reg_part');
INSERT INTO reg_part VALUES (1, 'x');
TRUNCATE reg_part_1;
SELECT kind, action, table_name, pk FROM privacy.audit_queue
 WHERE kind = 'dml' AND table_name LIKE 'public.reg_part%' ORDER BY qid;
SELECT privacy.unaudit('reg_part');
SELECT count(*) AS triggers_left FROM pg_trigger
 WHERE tgrelid IN ('reg_part'::regclass, 'reg_part_1'::regclass) AND tgname LIKE 'privacy_audit%';
DROP TABLE reg_part;

-- unaudit(): the triggers go, the registry row goes; dropping an audited table unregisters it.
SELECT privacy.unaudit('reg_msgs');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'reg_msgs'::regclass;
SELECT privacy.audit('reg_msgs');
DROP TABLE reg_msgs;
SELECT count(*) AS registered FROM privacy.audited_tables;
REVOKE privacy_middleware FROM reg_audit_app;
REVOKE SELECT ON privacy.audit_log FROM reg_audit_app;
DROP ROLE reg_audit_app;
