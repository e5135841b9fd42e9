-- Subject rights: the registry and its validation, per-subject keys, export (JSON and CSV,
-- tenant-scoped, encrypted values opened, audit records included) and erasure across several
-- registered tables (delete, anonymize, keep), legal holds, crypto-shredding of the subject's
-- key (seen through a copy outside the registry), audit pseudonymization, idempotence, and
-- that a rolled-back erasure destroys nothing.
\set ON_ERROR_STOP 1
\set QUIET 1

-- Setup, as superuser.
DROP SCHEMA IF EXISTS sxsuite CASCADE;
CREATE SCHEMA sxsuite;
CREATE TABLE sxsuite.accounts (id text PRIMARY KEY, tenant_id text NOT NULL, email text,
                               display_name text NOT NULL, bio text, num int NOT NULL DEFAULT 0);
CREATE TABLE sxsuite.messages (id serial PRIMARY KEY, tenant_id text NOT NULL,
                               user_id text NOT NULL REFERENCES sxsuite.accounts, body text, secret bytea);
CREATE TABLE sxsuite.invoices (id serial PRIMARY KEY, tenant_id text NOT NULL, customer text NOT NULL, amount numeric);
CREATE TABLE sxsuite.by_number (id serial PRIMARY KEY, tenant_id text NOT NULL, person bigint NOT NULL);
CREATE TABLE sxsuite.copies (label text, e bytea);  -- a copy the registry does not know (a backup)
CREATE VIEW sxsuite.v AS SELECT * FROM sxsuite.accounts;
DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'sxsuite_officer') THEN
    EXECUTE 'DROP OWNED BY sxsuite_officer'; DROP ROLE sxsuite_officer;
  END IF;
END $$;
DROP ROLE IF EXISTS sxsuite_app;
-- Keys of an earlier run in the same database (a developer's): start from none.
DELETE FROM privacy.tenant_keys WHERE tenant_id LIKE 'sx\_%';
CREATE ROLE sxsuite_app;
CREATE ROLE sxsuite_officer;
GRANT USAGE ON SCHEMA sxsuite TO sxsuite_app, sxsuite_officer;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA sxsuite TO sxsuite_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA sxsuite TO sxsuite_app;
GRANT EXECUTE ON FUNCTION privacy.export_subject(text, text, text), privacy.erase_subject(text, text),
                          privacy.shred_subject(text, text) TO sxsuite_officer;

SELECT plan(79);

-- 1. The registry.
SELECT lives_ok($$SELECT privacy.register_subject_table('sxsuite.messages', 'user_id')$$,
                'a table is registered with erasure delete by default');
SELECT lives_ok($$SELECT privacy.register_subject_table('sxsuite.accounts', 'id', 'anonymize',
                    anonymize => '{"email": "null", "bio": "redact"}')$$, 'a table is registered with erasure anonymize');
SELECT is((SELECT anonymize FROM privacy.subject_tables WHERE table_name = 'sxsuite.accounts'::regclass),
          '{"id": "pseudonym", "bio": "redact", "email": "null"}'::jsonb,
          'the subject column of an anonymized table becomes the pseudonym unless named');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.invoices', 'customer', 'keep')$$, 'PV801', NULL,
                 'erasure keep needs a legal reason (PV801)');
SELECT lives_ok($$SELECT privacy.register_subject_table('sxsuite.invoices', 'customer', 'keep',
                    legal_reason => 'tax law: 10 years')$$, 'erasure keep with a legal reason');
SELECT lives_ok($$SELECT privacy.register_subject_table('sxsuite.by_number', 'person')$$,
                'a table whose subject column is a number');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.messages', 'nope')$$, '42703', NULL,
                 'an unknown subject column is refused');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.messages', 'user_id', tenant_column => 'org')$$,
                 '42703', NULL, 'an unknown tenant column is refused');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.messages', 'user_id', 'shred')$$, 'PV801', NULL,
                 'an unknown erasure is refused');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.accounts', 'id', 'anonymize', anonymize => '{"email": "zap"}')$$,
                 'PV801', NULL, 'an unknown anonymization is refused');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.accounts', 'id', 'anonymize', anonymize => '{"display_name": "null"}')$$,
                 'PV801', NULL, 'a NOT NULL column cannot become null');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.accounts', 'id', 'anonymize', anonymize => '{"num": "redact"}')$$,
                 'PV801', NULL, 'redact needs a text column');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.accounts', 'id', 'anonymize', anonymize => '{"tenant_id": "null"}')$$,
                 'PV801', NULL, 'the tenant column cannot be anonymized');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.accounts', 'id', 'anonymize', anonymize => '{"id": "redact"}')$$,
                 'PV801', NULL, 'the subject column cannot be redacted');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.by_number', 'person', 'anonymize', anonymize => '{}')$$,
                 'PV801', NULL, 'a number subject column cannot take a pseudonym');
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.v', 'id')$$, '42809', NULL, 'a view is refused');
SELECT throws_ok($$SELECT privacy.unregister_subject_table('sxsuite.copies')$$, 'PV802', NULL,
                 'unregistering a table that is not registered (PV802)');
SELECT is((SELECT count(*)::int FROM privacy.subject_tables WHERE table_name::text LIKE 'sxsuite.%'), 4,
          'the refused registrations changed nothing');
SET ROLE sxsuite_app;
SELECT throws_ok($$SELECT privacy.register_subject_table('sxsuite.copies', 'label')$$, '42501', NULL,
                 'the application cannot register tables');
SELECT throws_ok($$SELECT * FROM privacy.subject_tables$$, '42501', NULL, 'nor read the registry');
RESET ROLE;

-- 2. Per-subject keys, written by the application in each person's context.
SELECT privacy.set_context('sx_acme', 'sx_u1', scope => 'session');
SET ROLE sxsuite_app;
INSERT INTO sxsuite.accounts VALUES ('sx_u1', 'sx_acme', 'ana@example.com', 'Ana', 'mail me at ana@example.com'),
                                    ('sx_u2', 'sx_acme', 'bo@example.com', 'Bo', 'hello');
INSERT INTO sxsuite.messages (tenant_id, user_id, body, secret) VALUES
  ('sx_acme', 'sx_u1', 'first', privacy.encrypt('card 4111 1111 1111 1111', 'sx_u1')),
  ('sx_acme', 'sx_u1', 'second', privacy.encrypt('tenant-wide value')),
  ('sx_acme', 'sx_u2', 'from bo', privacy.encrypt('bo secret', 'sx_u2'));
INSERT INTO sxsuite.invoices (tenant_id, customer, amount) VALUES ('sx_acme', 'sx_u1', 42);
INSERT INTO sxsuite.copies SELECT 'u1', secret FROM sxsuite.messages WHERE body = 'first';
INSERT INTO sxsuite.copies SELECT 'u2', secret FROM sxsuite.messages WHERE body = 'from bo';
INSERT INTO sxsuite.copies SELECT 'u3', privacy.encrypt('u3 value', 'sx_u3');
SELECT is(privacy.decrypt(e), 'card 4111 1111 1111 1111', 'a subject''s value round-trips') FROM sxsuite.copies WHERE label = 'u1';
SELECT is(length(privacy.encrypt('abc', 'sx_u1')), 3 + 37 + 32, 'a subject envelope names its key by a 32-byte reference');
SELECT throws_ok($$SELECT privacy.encrypt('x', '')$$, '22023', NULL, 'an empty subject id is refused');
RESET ROLE;
SELECT privacy.set_context('sx_globex', 'sx_u1', scope => 'session');
SET ROLE sxsuite_app;
INSERT INTO sxsuite.accounts VALUES ('sx_g1', 'sx_globex', 'ana@globex.example', 'Ana at Globex', NULL);
SELECT throws_ok($$SELECT privacy.decrypt(e) FROM sxsuite.copies WHERE label = 'u1'$$, 'PV703',
                 'encrypted value failed authentication',
                 'another tenant does not have the subject''s key: the same error as any value not its own (PV703)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM privacy.tenant_keys WHERE tenant_id = 'sx_acme' AND kind = 2), 3,
          'one key per subject');
SELECT is((SELECT count(*)::int FROM privacy.tenant_keys t WHERE t::text LIKE '%sx_u%'), 0,
          'no key row holds a subject id');

-- 2b. Master key rotation re-wraps subject keys too (each under its own secret file).
SELECT current_setting('privacy.keyring_file') AS old_keyring \gset
SELECT regexp_replace(:'old_keyring', '[^/]*$', 'subject_rotated.key') AS new_keyring \gset
SELECT format('umask 077; cat > %s', :'new_keyring') AS write_cmd \gset
COPY (SELECT md5(random()::text) || md5(random()::text)) TO PROGRAM :'write_cmd';
ALTER SYSTEM SET privacy.keyring_file = :'new_keyring';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT privacy.set_context('sx_acme', 'sx_u1', scope => 'session');
SELECT throws_ok($$SELECT privacy.decrypt(e) FROM sxsuite.copies WHERE label = 'u1'$$, 'PV707', NULL,
                 'under a new master key the subject key is refused until re-wrapped');
SELECT ok((SELECT rewrapped >= 3 AND unreadable = 0 FROM privacy.rotate_master_key(:'old_keyring')
             WHERE database = current_database() AND secret = 'subject key'),
          'rotate_master_key re-wraps the subject keys');
SELECT is(privacy.decrypt(e), 'card 4111 1111 1111 1111', 'and the subject''s value reads again') FROM sxsuite.copies WHERE label = 'u1';
ALTER SYSTEM RESET privacy.keyring_file;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT ok((SELECT rewrapped >= 3 FROM privacy.rotate_master_key(:'new_keyring')
            WHERE database = current_database() AND secret = 'subject key'), 'rotation back to the original master key');
SELECT is(privacy.decrypt(e), 'bo secret', 'values still decrypt') FROM sxsuite.copies WHERE label = 'u2';
SELECT privacy.logout();

-- 3. Export.
SELECT privacy.set_context('sx_acme', 'sx_officer', scope => 'session');
SET ROLE sxsuite_app;
SELECT throws_ok($$SELECT * FROM privacy.export_subject('sx_u1')$$, '42501', NULL,
                 'the application role has no EXECUTE on export_subject');
RESET ROLE;
SELECT privacy.logout();
SET ROLE sxsuite_officer;
SELECT throws_ok($$SELECT * FROM privacy.export_subject('sx_u1')$$, '42501', NULL,
                 'export needs a verified tenant context');
RESET ROLE;
SELECT privacy.set_context('sx_acme', 'sx_officer', scope => 'session');
SET ROLE sxsuite_officer;
SELECT throws_ok($$SELECT * FROM privacy.export_subject('sx_u1', tenant => 'sx_globex')$$, '42501', NULL,
                 'an officer cannot name another tenant than the verified one');
SELECT throws_ok($$SELECT * FROM privacy.export_subject('sx_u1', 'xml')$$, '22023', NULL, 'an unknown format is refused');
CREATE TEMP TABLE export_json AS SELECT string_agg(c, E'\n')::jsonb AS doc FROM privacy.export_subject('sx_u1') c;
SELECT is((SELECT doc->>'subject' FROM export_json), 'sx_u1', 'the JSON export is one document about the subject');
SELECT is((SELECT jsonb_array_length(t->'rows') FROM export_json, jsonb_array_elements(doc->'tables') t
            WHERE t->>'table' = 'sxsuite.messages'), 2, 'it holds the subject''s two messages');
SELECT ok((SELECT doc @> '{"tables": [{"table": "sxsuite.messages", "rows": [{"secret": "card 4111 1111 1111 1111"}]}]}'
             FROM export_json), 'encrypted values are exported opened');
SELECT ok((SELECT doc @> '{"tables": [{"table": "sxsuite.invoices", "erasure": "keep", "rows": [{"amount": 42}]}]}'
             FROM export_json), 'rows of every registered table are included');
SELECT ok((SELECT doc::text NOT LIKE '%sx_u2%' AND doc::text NOT LIKE '%Globex%' FROM export_json),
          'nothing about another subject, nor the same id in another tenant');
SELECT ok((SELECT jsonb_array_length(doc->'audit') > 0 FROM export_json), 'the audit records about the subject are included');
SELECT is((SELECT c FROM privacy.export_subject('sx_u1', 'csv') c LIMIT 1), 'source,record,field,value', 'the CSV export has a header');
SELECT ok(EXISTS (SELECT FROM privacy.export_subject('sx_u1', 'csv') c
                   WHERE c = '"sxsuite.accounts",1,"bio","mail me at ana@example.com"'),
          'and one quoted line per field');
RESET ROLE;
SELECT is((SELECT string_agg(c, E'\n')::jsonb->>'tenant' FROM privacy.export_subject('sx_g1', tenant => 'sx_globex') c),
          'sx_globex', 'a superuser may export from another tenant');

-- 3b. A large export goes through the result store on disk: 20,000 rows with work_mem at 64 kB.
CREATE TABLE sxsuite.events (id int, tenant_id text, user_id text, what text);
INSERT INTO sxsuite.events SELECT g, 'sx_acme', 'sx_u9', repeat('event ', 20) FROM generate_series(1, 20000) g;
SELECT privacy.register_subject_table('sxsuite.events', 'user_id');
SET work_mem = '64kB';
SELECT is((SELECT count(*)::int FROM privacy.export_subject('sx_u9') c WHERE c LIKE '%"what"%'), 20000,
          'a 20,000-row export streams with a small work_mem');
RESET work_mem;
SELECT privacy.unregister_subject_table('sxsuite.events');

-- 4. Erasure refused under a legal hold.
SELECT privacy.place_hold('sx_acme', 'sx_u1', 'litigation') AS hold_id \gset
SET ROLE sxsuite_officer;
SELECT throws_ok($$SELECT privacy.erase_subject('sx_u1')$$, 'PV803', NULL, 'an active legal hold refuses erasure (PV803)');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM sxsuite.messages WHERE user_id = 'sx_u1'), 2, 'and nothing was erased');
SELECT privacy.release_hold(:hold_id);

-- 5. A rolled-back erasure destroys nothing: the key file is deleted only at commit.
CREATE FUNCTION sxsuite.erase_then_fail(s text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM privacy.erase_subject(s);
  RAISE EXCEPTION 'changed my mind';
END $$;
SELECT throws_ok($$SELECT sxsuite.erase_then_fail('sx_u2')$$, 'P0001', 'changed my mind', 'an erasure inside a failed subtransaction');
SELECT is(privacy.decrypt(e), 'bo secret', 'leaves the subject''s key intact') FROM sxsuite.copies WHERE label = 'u2';

-- 6. Erasure.
SET ROLE sxsuite_officer;
CREATE TEMP TABLE erased AS SELECT privacy.erase_subject('sx_u1') AS r;
RESET ROLE;
SELECT is((SELECT r->'tables' FROM erased),
          '{"sxsuite.messages": {"deleted": 2}, "sxsuite.accounts": {"anonymized": 1},
            "sxsuite.invoices": {"kept": 1, "legal_reason": "tax law: 10 years"}, "sxsuite.by_number": {"deleted": 0}}'::jsonb,
          'erase_subject reports what it did per table');
SELECT is((SELECT (r->>'subject_keys_shredded')::int FROM erased), 1, 'and the subject key it shredded');
SELECT is((SELECT count(*)::int FROM sxsuite.messages WHERE user_id = 'sx_u1'), 0, 'the subject''s messages are deleted');
SELECT results_eq($$SELECT id, email, bio FROM sxsuite.accounts WHERE tenant_id = 'sx_acme' AND display_name = 'Ana'$$,
                  $$VALUES (privacy.audit_hmac('sx_u1'), NULL::text, 'mail me at [EMAIL_REDACTED]'::text)$$,
                  'the account is anonymized: pseudonym, null, redacted');
SELECT is((SELECT count(*)::int FROM sxsuite.invoices WHERE customer = 'sx_u1'), 1, 'kept rows stay, for their legal reason');
SELECT privacy.set_context('sx_acme', 'sx_u2', scope => 'session');
SELECT throws_ok($$SELECT privacy.decrypt(e) FROM sxsuite.copies WHERE label = 'u1'$$, 'PV704', NULL,
                 'a copy the registry does not know is unreadable: the key is shredded (PV704)');
SELECT throws_ok($$SELECT privacy.encrypt('late write', 'sx_u1')$$, 'PV704', NULL, 'an erased subject stays erased');
SELECT is(privacy.decrypt(e), 'bo secret', 'another subject is untouched') FROM sxsuite.copies WHERE label = 'u2';
SELECT is((SELECT email FROM sxsuite.accounts WHERE id = 'sx_g1'), 'ana@globex.example', 'another tenant is untouched');
SELECT is((SELECT count(*)::int FROM privacy.audit_queue
            WHERE kind = 'subject' AND action = 'ERASE' AND detail->>'tenant_id' = 'sx_acme'
              AND detail->'tables'->'sxsuite.messages'->>'deleted' = '2' AND detail::text NOT LIKE '%sx_u1%'), 1, 'one audit record with the counts, naming the subject by its pseudonym');
SELECT is((SELECT count(*)::int FROM (SELECT subject FROM privacy.audit_log WHERE tenant = 'sx_acme'
                                      UNION ALL SELECT subject FROM privacy.audit_queue WHERE tenant = 'sx_acme') a
            WHERE subject = 'sx_u1'), 0, 'no audit record names the subject any more');
SELECT is((SELECT count(*)::int FROM privacy.legal_holds WHERE subject = 'sx_u1'), 0,
          'the released legal hold names the subject by its pseudonym');
SELECT privacy.audit_seal();
SELECT is((SELECT ok FROM privacy.audit_verify()), true, 'the audit chain still verifies');

-- 7. Twice is harmless.
SELECT is((SELECT r - 'tables' - 'subject_pseudonym' - 'tenant_id' FROM (SELECT privacy.erase_subject('sx_u1', 'sx_acme') r) x),
          '{"subject_keys_shredded": 0, "audit_records_pseudonymized": 0, "legal_holds_pseudonymized": 0}'::jsonb,
          'a second erasure finds nothing left to do');

-- 7b. A person erasing themselves: the records their own context writes meanwhile (the key row,
-- the ERASE record) are pseudonymized too.
SELECT privacy.set_context('sx_acme', 'sx_u4', scope => 'session');
INSERT INTO sxsuite.accounts VALUES ('sx_u4', 'sx_acme', 'cy@example.com', 'Cy', NULL);
SET ROLE sxsuite_officer;
SELECT is(privacy.erase_subject('sx_u4')->'tables'->'sxsuite.accounts'->>'anonymized', '1', 'a person can erase themselves');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM (SELECT subject FROM privacy.audit_log UNION ALL SELECT subject FROM privacy.audit_queue) a
            WHERE subject = 'sx_u4'), 0, 'and no audit record names them, not even the erasure''s own');

-- 8. shred_subject alone, and the secret file.
SELECT count(*) AS files_before FROM pg_ls_dir(current_setting('privacy.keyring_dir')) \gset
SET ROLE sxsuite_officer;
SELECT is(privacy.shred_subject('sx_u3'), 1::bigint, 'shred_subject destroys the subject''s key');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_ls_dir(current_setting('privacy.keyring_dir'))), (:files_before - 1)::bigint,
          'and deletes its secret file when the transaction commits');
SELECT throws_ok($$SELECT privacy.decrypt(e) FROM sxsuite.copies WHERE label = 'u3'$$, 'PV704', NULL,
                 'its values are gone');
SELECT privacy.logout();

-- 10. Table code runs as the table's owner, security-restricted, never as the extension owner.
CREATE TABLE sxsuite.owned (id int, tenant_id text, user_id text);
ALTER TABLE sxsuite.owned OWNER TO sxsuite_app;
CREATE TABLE sxsuite.who_ran (who text);
ALTER TABLE sxsuite.who_ran OWNER TO sxsuite_app;
CREATE FUNCTION sxsuite.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sxsuite.who_ran VALUES (current_user);
  IF OLD.id = 1 THEN EXECUTE 'ALTER ROLE sxsuite_app SUPERUSER'; END IF;
  RETURN OLD;
END $$;
ALTER FUNCTION sxsuite.escalate() OWNER TO sxsuite_app;
CREATE TRIGGER escalate BEFORE DELETE ON sxsuite.owned FOR EACH ROW EXECUTE FUNCTION sxsuite.escalate();
SELECT privacy.register_subject_table('sxsuite.owned', 'user_id');
INSERT INTO sxsuite.owned VALUES (1, 'sx_acme', 'sx_u7'), (2, 'sx_acme', 'sx_u8');
SELECT privacy.set_context('sx_acme', 'sx_officer', scope => 'session');
SET ROLE sxsuite_officer;
SELECT throws_ok($$SELECT privacy.erase_subject('sx_u7')$$, '42501', NULL, 'a trigger that tries to become superuser fails the erasure');
RESET ROLE;
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'sxsuite_app'), false, 'and the table owner did not become superuser');
SELECT is((SELECT count(*)::int FROM sxsuite.owned WHERE user_id = 'sx_u7'), 1, 'nothing was erased');
SET ROLE sxsuite_officer;
SELECT is(privacy.erase_subject('sx_u8')->'tables'->'sxsuite.owned'->>'deleted', '1', 'another subject''s erasure runs the trigger');
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT who) FROM sxsuite.who_ran), ARRAY['sxsuite_app']::name[]::text[],
          'as the table''s owner, not the extension''s');
SELECT privacy.unregister_subject_table('sxsuite.owned');

-- 11. Ids are compared in the column's own type, without truncation or normalization; rows
-- held by a retention hold column are kept; a value sealed for another person stays closed.
CREATE TABLE sxsuite.codes (id int, tenant_id text, code char(4), n int, held boolean DEFAULT false, e bytea,
                            created_at timestamptz DEFAULT now());
SELECT privacy.register_subject_table('sxsuite.codes', 'code');
INSERT INTO sxsuite.codes (id, tenant_id, code) VALUES (1, 'sx_acme', 'C012');
SELECT is((SELECT count(*)::int FROM privacy.export_subject('C0123') c WHERE c LIKE '%"code"%'), 0,
          'a longer id does not match a char(4) column by truncation');
SELECT is((SELECT count(*)::int FROM privacy.export_subject('C012') c WHERE c LIKE '%"code"%'), 1, 'the id itself does');
SELECT privacy.unregister_subject_table('sxsuite.codes');
SELECT privacy.register_subject_table('sxsuite.codes', 'n');
UPDATE sxsuite.codes SET n = 42;
SELECT is((SELECT count(*)::int FROM privacy.export_subject('042') c WHERE c LIKE '%"code"%'), 0,
          'the id 042 does not match the number 42');
SELECT privacy.unregister_subject_table('sxsuite.codes');
SELECT privacy.set_retention('sxsuite.codes', 'created_at', '30 days', tenant_column => 'tenant_id', hold_column => 'held');
SELECT privacy.register_subject_table('sxsuite.codes', 'code');
INSERT INTO sxsuite.codes (id, tenant_id, code, held, e) VALUES
  (2, 'sx_acme', 'H001', true, NULL), (3, 'sx_acme', 'H001', false, privacy.encrypt('for H002 only', 'H002'));
SELECT ok((SELECT string_agg(c, E'\n')::jsonb @> '{"tables": [{"table": "sxsuite.codes", "rows": [{"id": 3, "e": null}]}]}'
             FROM privacy.export_subject('H001') c), 'a value sealed for another subject is not opened in this export');
SELECT is(privacy.erase_subject('H001')->'tables'->'sxsuite.codes', '{"deleted": 1, "held": 1}'::jsonb,
          'rows held by the retention hold column are kept and counted');
SELECT privacy.drop_retention('sxsuite.codes');
SELECT privacy.logout();

-- 9. A dropped table leaves the registry.
DROP TABLE sxsuite.by_number;
SELECT is((SELECT count(*)::int FROM privacy.subject_tables WHERE table_name::text LIKE 'sxsuite.%'), 4,
          'a dropped table is unregistered');

SELECT * FROM finish();
DROP SCHEMA sxsuite CASCADE;
DROP OWNED BY sxsuite_officer;
DROP ROLE sxsuite_app;
DROP ROLE sxsuite_officer;
