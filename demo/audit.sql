-- Demo, audit: the messages table is audited; the application writes as a verified tenant; the
-- records are sealed into the hash chain and verify; a superuser then tampers with one record
-- (through the audited maintenance switch) and the verifier names it.
\set secret 'demo-issuer-shared-secret-0123456789abcdef'
\echo '--- audit the messages (no values) and the users (values as keyed HMACs)'
SELECT privacy.audit('demo.messages');
SELECT privacy.audit('demo.users', values_mode => 'hmac');
SELECT table_name, values_mode FROM privacy.audited_tables ORDER BY 1;
SELECT privacy.audit_seal() AS sealed_setup_records;

\echo '--- the application writes as acme, through its verified token'
SELECT privacy.sign_token(jsonb_build_object('tenant_id', 'acme', 'sub', 'user-17',
         'exp', extract(epoch FROM now())::bigint + 600), 'demo-issuer', 'HS256', :'secret') AS acme_token \gset
SET ROLE demo_app;
BEGIN;
SELECT privacy.authenticate(:'acme_token') AS tenant;
INSERT INTO demo.messages (conversation_id, role, body, created_at)
  SELECT min(conversation_id), 'user', 'my email is ana.martin@acme.example', now() FROM demo.conversations;
UPDATE demo.messages SET body = body || ' (edited)'
 WHERE message_id = (SELECT max(message_id) FROM demo.messages);
COMMIT;
RESET ROLE;

\echo '--- queued records: who, in which tenant, what, which row and columns; no value'
SELECT tenant, subject, role, action, table_name, pk, changed_columns, row_values
  FROM privacy.audit_queue WHERE kind = 'dml' ORDER BY qid;

\echo '--- sealed into the chain; the chain verifies; the head is exported for safekeeping'
SELECT privacy.audit_seal() AS sealed;
SELECT * FROM privacy.audit_verify();
SELECT id AS head_id, hash AS head_hash FROM privacy.audit_head() \gset
\echo exported head: :head_id :head_hash
SELECT table_name, action, records FROM privacy.audit_by_table WHERE table_name = 'demo.messages' ORDER BY 2;

\echo '--- a superuser tampers with the UPDATE record (the maintenance switch records itself)'
\set ON_ERROR_STOP 0
UPDATE privacy.audit_log SET subject = 'someone-else' WHERE kind = 'dml' AND action = 'UPDATE';
\echo SQLSTATE :LAST_ERROR_SQLSTATE (refused without the switch)
\set ON_ERROR_STOP 1
BEGIN;
SELECT privacy.audit_maintenance(true, 'demo: show that tampering is caught');
UPDATE privacy.audit_log SET subject = 'someone-else'
 WHERE id = (SELECT max(id) FROM privacy.audit_log WHERE kind = 'dml' AND action = 'UPDATE');
COMMIT;
\echo '--- the verifier names the changed record'
SELECT v.*, l.action, l.table_name FROM privacy.audit_verify() v JOIN privacy.audit_log l ON l.id = v.first_bad_id;
SELECT privacy.audit_seal() AS sealed;
SELECT action, detail FROM privacy.audit_log WHERE kind = 'maintenance' ORDER BY id;
