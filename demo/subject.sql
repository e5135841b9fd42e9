-- Demo, subject rights: one globex user asks for their data and then for its erasure. The
-- registry says where a person's data lives; the export is one JSON document; the erasure
-- deletes, anonymizes or keeps per table, shreds the person's own key, and pseudonymizes them
-- in the audit log, in one transaction.
\echo '--- the registry: users, conversations (their messages cascade) and secrets deleted, feedback anonymized, invoices kept'
CREATE TABLE demo.user_secrets (id int PRIMARY KEY, tenant_id text NOT NULL, user_id bigint NOT NULL REFERENCES demo.users,
                                label text, secret bytea);
CREATE TABLE demo.invoices (id int PRIMARY KEY, tenant_id text NOT NULL, user_id bigint NOT NULL, amount numeric);
CREATE TABLE demo.secret_copies (id int, secret bytea);   -- stands for a copy nobody registered: a backup, a replica
CREATE TABLE demo.feedback (id int PRIMARY KEY, tenant_id text NOT NULL, author text NOT NULL, email text, comment text);
SELECT privacy.register_subject_table('demo.conversations', 'user_id');
SELECT privacy.register_subject_table('demo.user_secrets', 'user_id');
SELECT privacy.register_subject_table('demo.users', 'user_id');
SELECT privacy.register_subject_table('demo.feedback', 'author', 'anonymize',
         anonymize => '{"email": "null", "comment": "redact"}');
SELECT privacy.register_subject_table('demo.invoices', 'user_id', 'keep', legal_reason => 'tax law: invoices are kept 10 years');
SELECT table_name, subject_column, erasure, anonymize, legal_reason FROM privacy.subject_tables ORDER BY 1;

\echo '--- the person: the first globex user; the application seals their secret under their own key'
SELECT min(user_id) AS uid FROM demo.users WHERE tenant_id = 'globex' \gset
SELECT privacy.set_context('globex', :'uid', scope => 'session');
INSERT INTO demo.feedback VALUES (1, 'globex', :'uid', 'me@globex.example', 'Great bot! Call me on +49 30 1234567 about the upgrade.');
INSERT INTO demo.user_secrets VALUES (1, 'globex', :uid, 'card', privacy.encrypt('card 4000 0566 5566 5556', :'uid'));
INSERT INTO demo.invoices VALUES (1, 'globex', :uid, 49.00);
INSERT INTO demo.secret_copies SELECT id, secret FROM demo.user_secrets;
SELECT label, get_byte(secret, 3) AS key_kind, privacy.decrypt(secret) FROM demo.user_secrets;

\echo '--- export: one JSON document (here the tables part, with the encrypted value opened)'
SELECT privacy.set_context('globex', 'privacy-officer', scope => 'session');
SELECT jsonb_pretty(jsonb_build_object('tables', jsonb_path_query_array(doc,
         '$.tables[*] ? (@.table != "demo.conversations")'),
         'conversations', jsonb_array_length((jsonb_path_query_first(doc, '$.tables[*] ? (@.table == "demo.conversations")'))->'rows'),
         'audit_records', jsonb_array_length(doc->'audit')))
  FROM (SELECT string_agg(c, E'\n')::jsonb AS doc FROM privacy.export_subject(:'uid') c) e;
\echo '--- the same export as CSV (first lines)'
SELECT c AS csv FROM privacy.export_subject(:'uid', 'csv') c LIMIT 6;

\echo '--- a legal hold refuses the erasure (PV803); once released, the erasure runs'
SELECT privacy.place_hold('globex', :'uid', 'open support dispute') AS hold \gset
\set ON_ERROR_STOP 0
\set VERBOSITY verbose
SELECT privacy.erase_subject(:'uid');
\set VERBOSITY default
\set ON_ERROR_STOP 1
SELECT privacy.release_hold(:hold);
SELECT jsonb_pretty(privacy.erase_subject(:'uid')) AS erasure_report;

\echo '--- afterwards: rows deleted, the feedback anonymized, the invoice kept'
SELECT (SELECT count(*) FROM demo.users WHERE user_id = :uid) AS users,
       (SELECT count(*) FROM demo.conversations WHERE user_id = :uid) AS conversations,
       (SELECT count(*) FROM demo.user_secrets WHERE user_id = :uid) AS secrets,
       (SELECT count(*) FROM demo.invoices WHERE user_id = :uid) AS invoices_kept;
SELECT author = privacy.audit_hmac(:'uid') AS author_is_pseudonym, email, comment FROM demo.feedback;
\echo '--- the copy nobody registered is unreadable: the person''s key is shredded (PV704)'
\set ON_ERROR_STOP 0
\set VERBOSITY verbose
SELECT privacy.decrypt(secret) FROM demo.secret_copies;
\set VERBOSITY default
\set ON_ERROR_STOP 1
\echo '--- the audit log names the person only by pseudonym; one ERASE record holds the counts'
SELECT count(*) FILTER (WHERE subject = :'uid') AS records_naming_the_person,
       count(*) FILTER (WHERE subject = privacy.audit_hmac(:'uid')) AS records_under_the_pseudonym
  FROM (SELECT subject FROM privacy.audit_log WHERE tenant = 'globex'
        UNION ALL SELECT subject FROM privacy.audit_queue WHERE tenant = 'globex') a;
SELECT kind, action, detail->'tables' AS counts FROM privacy.audit_queue WHERE kind = 'subject';
\echo '--- a second erasure is harmless'
SELECT privacy.erase_subject(:'uid') - 'subject_pseudonym' - 'tenant_id' - 'tables' AS second_erasure;
SELECT privacy.logout();
