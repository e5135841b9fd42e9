-- Demo, encryption: values encrypted under each tenant's own key, a ciphertext that fails in
-- another tenant, pseudonyms for analytics, the encrypting trigger, and crypto-shredding.
\echo '--- the master key comes from privacy.keyring_file; the database stores only wrapped keys'
SELECT privacy.master_key_id() AS master_key_id;

\echo '--- acme encrypts a note; the envelope is 36 bytes longer than the text and names its key'
SELECT privacy.set_context('acme', 'user-17', scope => 'session');
CREATE TABLE demo.secret_notes (id int, tenant_id text, note bytea);
INSERT INTO demo.secret_notes SELECT 1, 'acme', privacy.encrypt('Ana''s card ends in 4242');
SELECT id, length(note) AS bytes, substring(note FROM 1 FOR 8) AS header, privacy.decrypt(note) AS decrypted
FROM demo.secret_notes;

\echo '--- globex encrypts its own; acme''s ciphertext copied into globex''s row fails (PV703)'
SELECT privacy.set_context('globex', 'user-42', scope => 'session');
INSERT INTO demo.secret_notes SELECT 2, 'globex', privacy.encrypt('globex quarterly numbers');
INSERT INTO demo.secret_notes SELECT 3, 'globex', note FROM demo.secret_notes WHERE id = 1;
\set ON_ERROR_STOP 0
\set VERBOSITY verbose
SELECT privacy.decrypt(note) FROM demo.secret_notes WHERE id = 3;
\set VERBOSITY default
\set ON_ERROR_STOP 1
SELECT privacy.decrypt(note) AS globex_reads_its_own FROM demo.secret_notes WHERE id = 2;

\echo '--- pseudonyms: the same email gives the same pseudonym in a tenant, another in another tenant'
SELECT privacy.pseudonymize('ana@example.com', 'email') AS globex_pseudonym;
SELECT privacy.set_context('acme', 'user-17', scope => 'session');
SELECT privacy.pseudonymize('ana@example.com', 'email') AS acme_pseudonym,
       privacy.pseudonymize('ana@example.com', 'email') = privacy.pseudonymize('ana@example.com', 'email') AS stable;

\echo '--- the encrypting trigger: the application writes bytes, the table stores envelopes'
CREATE TABLE demo.diagnoses (id int, body bytea);
CREATE TRIGGER enc BEFORE INSERT OR UPDATE ON demo.diagnoses
  FOR EACH ROW EXECUTE FUNCTION privacy.encrypt_trigger('body');
INSERT INTO demo.diagnoses VALUES (1, convert_to('mild hypertension', 'UTF8'));
SELECT id, substring(body FROM 1 FOR 2) = 'pv'::bytea AS stored_encrypted, privacy.decrypt(body) FROM demo.diagnoses;

\echo '--- key rotation: version 2 for new values, version 1 values stay readable'
SELECT privacy.rotate_tenant_key('acme') AS new_version;
SELECT get_byte(privacy.encrypt('after rotation'), 7) AS version_used,
       (SELECT privacy.decrypt(note) FROM demo.secret_notes WHERE id = 1) AS old_value;
SELECT tenant_id, kind, version, length(wrapped) AS wrapped_bytes, secret_id IS NOT NULL AS outside_secret
FROM privacy.tenant_keys ORDER BY 1, 2, 3;

\echo '--- crypto-shredding acme: every copy of its ciphertext is unreadable (PV704), globex is untouched'
SELECT privacy.shred_tenant('acme') AS keys_destroyed;
\set ON_ERROR_STOP 0
\set VERBOSITY verbose
SELECT privacy.decrypt(note) FROM demo.secret_notes WHERE id = 1;
SELECT privacy.decrypt(body) FROM demo.diagnoses WHERE id = 1;
\set VERBOSITY default
\set ON_ERROR_STOP 1
SELECT privacy.set_context('globex', 'user-42', scope => 'session');
SELECT privacy.decrypt(note) AS globex_still_reads FROM demo.secret_notes WHERE id = 2;
SELECT privacy.logout();
