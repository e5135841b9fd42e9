-- Subject rights: the registry, per-subject keys, export and erasure. Times, pseudonyms and
-- ciphertexts vary from run to run: the output masks or measures them.
\set VERBOSITY terse
CREATE TABLE subj_accounts (id text PRIMARY KEY, tenant_id text NOT NULL, email text, bio text);
CREATE TABLE subj_messages (id int PRIMARY KEY, tenant_id text NOT NULL, user_id text NOT NULL REFERENCES subj_accounts,
                            body text, secret bytea);
CREATE TABLE subj_invoices (id int PRIMARY KEY, tenant_id text NOT NULL, customer text NOT NULL, amount numeric);

-- The registry: delete (the default), anonymize named columns, keep with a legal reason.
SELECT privacy.register_subject_table('subj_messages', 'user_id');
SELECT privacy.register_subject_table('subj_accounts', 'id', 'anonymize', anonymize => '{"email": "null", "bio": "redact"}');
SELECT privacy.register_subject_table('subj_invoices', 'customer', 'keep', legal_reason => 'invoices: 10 years');
SELECT table_name, subject_column, tenant_column, erasure, anonymize, legal_reason
  FROM privacy.subject_tables ORDER BY table_name::text;
-- Refused registrations.
SELECT privacy.register_subject_table('subj_invoices', 'customer', 'keep');
SELECT privacy.register_subject_table('subj_invoices', 'customer', 'archive');
SELECT privacy.register_subject_table('subj_invoices', 'client');
SELECT privacy.register_subject_table('subj_accounts', 'id', 'anonymize', anonymize => '{"email": "hash"}');
SELECT privacy.register_subject_table('subj_accounts', 'id', 'anonymize', anonymize => '{"tenant_id": "null"}');
SELECT privacy.register_subject_table('subj_accounts', 'id', 'delete', anonymize => '{"email": "null"}');
SELECT privacy.unregister_subject_table('pg_class');

-- Per-subject keys: envelope kind 2, naming the key by a reference, not by the subject id.
SELECT privacy.set_context('subj_acme', 'ana', scope => 'session');
INSERT INTO subj_accounts VALUES ('ana', 'subj_acme', 'ana@example.com', 'write to ana@example.com'),
                                 ('bo', 'subj_acme', 'bo@example.com', 'hi');
INSERT INTO subj_messages VALUES (1, 'subj_acme', 'ana', 'hello', privacy.encrypt('Ana''s card 4111 1111 1111 1111', 'ana')),
                                 (2, 'subj_acme', 'bo', 'hi', privacy.encrypt('Bo''s note', 'bo'));
INSERT INTO subj_invoices VALUES (1, 'subj_acme', 'ana', 99.50);
SELECT id, get_byte(secret, 3) AS key_kind, get_byte(secret, 8) AS ref_len,
       length(secret) - length(privacy.decrypt(secret)) AS overhead, privacy.decrypt(secret)
  FROM subj_messages ORDER BY id;
SELECT privacy.encrypt('x', '');

-- Export: the chunks of one JSON document (the first one carries the time), or CSV.
SELECT c FROM privacy.export_subject('ana') WITH ORDINALITY AS e(c, n) WHERE n > 1 AND c NOT LIKE '{"at"%' AND c NOT LIKE ', {"at"%';
SELECT (string_agg(c, E'\n')::jsonb) - 'exported_at' - 'audit' AS doc FROM privacy.export_subject('ana') c;
SELECT jsonb_path_query_array(string_agg(c, E'\n')::jsonb, '$.audit[*].table') AS audit_tables FROM privacy.export_subject('ana') c;
SELECT c FROM privacy.export_subject('ana', 'csv') c WHERE c NOT LIKE '"privacy.audit_log"%';
SELECT privacy.export_subject('ana', 'xml');
SELECT string_agg(c, E'\n')::jsonb - 'exported_at' AS superuser_names_a_tenant FROM privacy.export_subject('ana', tenant => 'subj_other') c;
SELECT privacy.export_subject(NULL);

-- Erasure: refused under a legal hold; then one transaction, harmless twice.
SELECT privacy.place_hold('subj_acme', 'ana', 'dispute') AS hold \gset
SELECT privacy.erase_subject('ana');
SELECT privacy.release_hold(:hold);
SELECT r - 'subject_pseudonym' AS erased, r->>'subject_pseudonym' = privacy.audit_hmac('ana') AS pseudonym
  FROM privacy.erase_subject('ana') r;
SELECT id = privacy.audit_hmac('ana') AS id_pseudonymized, email, bio FROM subj_accounts WHERE id <> 'bo';
SELECT id, user_id FROM subj_messages ORDER BY id;
SELECT customer, amount FROM subj_invoices;
SELECT privacy.encrypt('late', 'ana');
SELECT (r->'tables') AS again, r->>'subject_keys_shredded' AS keys FROM privacy.erase_subject('ana') r;
SELECT privacy.decrypt(secret) FROM subj_messages WHERE user_id = 'bo';
SELECT privacy.shred_subject('bo');
SELECT privacy.decrypt(secret) FROM subj_messages WHERE user_id = 'bo';
SELECT privacy.logout();
SELECT privacy.erase_subject('bo');

DROP TABLE subj_messages, subj_accounts, subj_invoices;
SELECT count(*) AS registered_after_drop FROM privacy.subject_tables;
