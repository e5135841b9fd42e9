-- Encryption: envelopes bound to the verified tenant, key versions, the trigger, pseudonyms and
-- shredding. Ciphertexts are random: the output shows sizes, header bytes and booleans.
\set VERBOSITY terse
SELECT privacy.master_key_id() ~ '^[0-9a-f]{16}$' AS master_key_configured;

-- No verified context: refused.
SELECT privacy.encrypt('secret');
SELECT privacy.decrypt('\x7076010100000001'::bytea);

SELECT privacy.set_context('crypto_acme', 'u1', scope => 'session');
CREATE TABLE crypto_env AS SELECT privacy.encrypt('Ana''s diagnosis') AS e;
SELECT length(e) - length('Ana''s diagnosis') AS overhead, substring(e FROM 1 FOR 8) AS header FROM crypto_env;
SELECT privacy.decrypt(e) FROM crypto_env;
SELECT privacy.encrypt('x') <> privacy.encrypt('x') AS nonce_is_random;
SELECT privacy.decrypt(privacy.encrypt('')) = '' AS empty_round_trip;
SELECT privacy.decrypt(privacy.encrypt('ünïcødé ✓')) AS utf8_round_trip;
-- Tampering with any byte fails authentication; malformed values are named as such.
SELECT privacy.decrypt(set_byte(e, 20, get_byte(e, 20) # 1)) FROM crypto_env;
SELECT privacy.decrypt(set_byte(e, length(e) - 1, get_byte(e, length(e) - 1) # 1)) FROM crypto_env;
SELECT privacy.decrypt(set_byte(e, 7, 9)) FROM crypto_env;          -- a version the tenant lacks
SELECT privacy.decrypt('\x00112233'::bytea);                       -- not an envelope
SELECT privacy.decrypt(set_byte(e, 2, 2)) FROM crypto_env;          -- format version 2
SELECT privacy.decrypt_bytea(privacy.encrypt('bytes')) = 'bytes'::bytea AS decrypt_bytea;

-- Another tenant: the envelope fails authentication, as if it were tampered with.
SELECT privacy.set_context('crypto_globex', 'u2', scope => 'session');
SELECT length(privacy.encrypt('globex data')) AS globex_len;
SELECT privacy.decrypt(e) FROM crypto_env;
SELECT privacy.logout();
SELECT privacy.decrypt(e) FROM crypto_env;

-- Keys: one data key and one pseudonym key per tenant, wrapped, behind a keyring-dir secret.
SELECT tenant_id, kind, version, length(wrapped) AS wrapped_len, secret_id ~ '^[0-9a-f]{32}$' AS has_secret,
       master_key_id = privacy.master_key_id() AS current_master
FROM privacy.tenant_keys WHERE tenant_id LIKE 'crypto_%' ORDER BY 1, 2, 3;

-- Rotation of the tenant key: new values use version 2, old values stay readable.
SELECT privacy.rotate_tenant_key('crypto_acme');
SELECT privacy.rotate_tenant_key('crypto_nobody');
SELECT privacy.set_context('crypto_acme', 'u1', scope => 'session');
SELECT get_byte(privacy.encrypt('new'), 7) AS new_version, privacy.decrypt(e) AS old_value FROM crypto_env;

-- Pseudonyms: deterministic per tenant and domain.
CREATE TABLE crypto_ps AS SELECT privacy.pseudonymize('ana@example.com', 'email') AS a1,
  privacy.pseudonymize('ana@example.com', 'email') AS a2, privacy.pseudonymize('ana@example.com', 'crm') AS a3;
SELECT privacy.set_context('crypto_globex', 'u2', scope => 'session');
SELECT a1 = a2 AS deterministic, a1 <> a3 AS per_domain, a1 ~ '^[0-9a-f]{64}$' AS hex,
       a1 <> privacy.pseudonymize('ana@example.com', 'email') AS per_tenant FROM crypto_ps;

-- The trigger encrypts named bytea columns and keeps the tenant's own envelopes.
CREATE TABLE crypto_notes (id int, note bytea, plain text);
CREATE TRIGGER enc BEFORE INSERT OR UPDATE ON crypto_notes
  FOR EACH ROW EXECUTE FUNCTION privacy.encrypt_trigger('note');
SELECT privacy.set_context('crypto_acme', 'u1', scope => 'session');
INSERT INTO crypto_notes VALUES (1, convert_to('call me at 555-0100', 'UTF8'), 'a');
INSERT INTO crypto_notes SELECT 2, e, 'b' FROM crypto_env;
INSERT INTO crypto_notes VALUES (3, NULL, 'c');
SELECT id, substring(note FROM 1 FOR 2) AS magic, privacy.decrypt(note) FROM crypto_notes ORDER BY id;
SELECT n.note = c.e AS envelope_kept FROM crypto_notes n, crypto_env c WHERE n.id = 2;
UPDATE crypto_notes SET plain = 'a2' WHERE id = 1;
UPDATE crypto_notes SET note = 'replaced'::bytea WHERE id = 3;
SELECT id, privacy.decrypt(note) FROM crypto_notes ORDER BY id;
SELECT privacy.set_context('crypto_globex', 'u2', scope => 'session');
INSERT INTO crypto_notes SELECT 4, e, 'copied' FROM crypto_env;     -- another tenant's envelope
SELECT privacy.logout();
INSERT INTO crypto_notes VALUES (5, 'x'::bytea, 'no context');
CREATE TABLE crypto_bad (t text);
CREATE TRIGGER enc BEFORE INSERT ON crypto_bad FOR EACH ROW EXECUTE FUNCTION privacy.encrypt_trigger('t');
INSERT INTO crypto_bad VALUES ('x');

-- Shredding: every key of the tenant, pseudonym key included.
SELECT privacy.shred_tenant('crypto_acme');
SELECT kind, version, wrapped IS NULL AS shredded, shredded_at IS NOT NULL AS dated
FROM privacy.tenant_keys WHERE tenant_id = 'crypto_acme' ORDER BY 1, 2;
SELECT privacy.set_context('crypto_acme', 'u1', scope => 'session');
SELECT privacy.decrypt(e) FROM crypto_env;
SELECT privacy.decrypt(note) FROM crypto_notes WHERE id = 1;
SELECT privacy.encrypt('after shred');
SELECT privacy.pseudonymize('ana@example.com', 'email');
SELECT privacy.shred_tenant('crypto_acme') AS shredded_again;
-- globex is untouched.
SELECT privacy.set_context('crypto_globex', 'u2', scope => 'session');
SELECT privacy.decrypt(privacy.encrypt('still here'));
SELECT privacy.logout();
DROP TABLE crypto_env, crypto_ps, crypto_notes, crypto_bad;
