-- Encryption: round trips per tenant, ciphertext bound to its tenant (PV703), tampering, no
-- context, tenant key versions and master key rotation, shredding seen by this session and by
-- another one (dblink), pseudonyms, privileges of an application role, and the trigger.
\set ON_ERROR_STOP 1
\set QUIET 1

-- Setup, as superuser.
CREATE EXTENSION IF NOT EXISTS dblink;
DROP SCHEMA IF EXISTS cxsuite CASCADE;
CREATE SCHEMA cxsuite;
CREATE TABLE cxsuite.notes (id int PRIMARY KEY, tenant_id text NOT NULL, body bytea);
CREATE TRIGGER enc BEFORE INSERT OR UPDATE ON cxsuite.notes
  FOR EACH ROW EXECUTE FUNCTION privacy.encrypt_trigger('body');
CREATE TABLE cxsuite.vals (tenant_id text, label text, e bytea);
DROP ROLE IF EXISTS cxsuite_app;
CREATE ROLE cxsuite_app;
GRANT USAGE ON SCHEMA cxsuite TO cxsuite_app;
GRANT SELECT, INSERT, UPDATE ON cxsuite.notes, cxsuite.vals TO cxsuite_app;

SELECT plan(47);

-- 1. Round trips, as the application role, per tenant.
SELECT privacy.set_context('cx_acme', 'u1', scope => 'session');
SET ROLE cxsuite_app;
INSERT INTO cxsuite.vals SELECT 'cx_acme', 'v1', privacy.encrypt('acme secret');
SELECT is(privacy.decrypt(e), 'acme secret', 'acme decrypts its own value') FROM cxsuite.vals WHERE label = 'v1';
SELECT is(privacy.decrypt(privacy.encrypt(repeat('x', 100000))), repeat('x', 100000), 'a 100 kB value round-trips');
SELECT is(length(privacy.encrypt('abc')), 3 + 36, 'the envelope of a tenant key is 36 bytes longer');
RESET ROLE;
SELECT privacy.set_context('cx_globex', 'u2', scope => 'session');
SET ROLE cxsuite_app;
INSERT INTO cxsuite.vals SELECT 'cx_globex', 'g1', privacy.encrypt('globex secret');
SELECT is(privacy.decrypt(e), 'globex secret', 'globex decrypts its own value') FROM cxsuite.vals WHERE label = 'g1';

-- 2. Bound to the tenant.
SELECT throws_ok($$SELECT privacy.decrypt(e) FROM cxsuite.vals WHERE label = 'v1'$$, 'PV703', NULL,
                 'another tenant''s ciphertext fails authentication (PV703)');
INSERT INTO cxsuite.notes VALUES (2, 'cx_globex', 'globex note');
SELECT throws_ok($$UPDATE cxsuite.notes SET body = (SELECT e FROM cxsuite.vals WHERE label = 'v1') WHERE id = 2$$,
                 'PV703', NULL, 'a ciphertext copied into another tenant''s row is refused by the trigger');
UPDATE cxsuite.vals SET e = (SELECT e FROM cxsuite.vals WHERE label = 'v1') WHERE label = 'g1';
SELECT throws_ok($$SELECT privacy.decrypt(e) FROM cxsuite.vals WHERE label = 'g1'$$, 'PV703', NULL,
                 'a ciphertext copied into another tenant''s row (no trigger) does not decrypt there');
RESET ROLE;
SELECT privacy.set_context('cx_acme', 'u1', scope => 'session');
SET ROLE cxsuite_app;
SELECT throws_ok($$SELECT privacy.decrypt(set_byte(e, 12, get_byte(e, 12) # 128)) FROM cxsuite.vals WHERE label = 'v1'$$,
                 'PV703', NULL, 'a flipped ciphertext bit fails authentication');
SELECT throws_ok($$SELECT privacy.decrypt(set_byte(e, 7, 9)) FROM cxsuite.vals WHERE label = 'v1'$$,
                 'PV703', 'encrypted value failed authentication',
                 'a changed key version names a key the tenant does not have: the same error as any value not its own (PV703)');
SELECT throws_ok($$SELECT privacy.decrypt(substring(e FROM 1 FOR 20)) FROM cxsuite.vals WHERE label = 'v1'$$,
                 'PV701', NULL, 'a truncated value is malformed');
SELECT privacy.logout();
SELECT throws_ok($$SELECT privacy.decrypt(e) FROM cxsuite.vals WHERE label = 'v1'$$, '42501', NULL,
                 'decrypt without a verified context is refused');
SELECT throws_ok($$SELECT privacy.encrypt('x')$$, '42501', NULL, 'encrypt without a verified context is refused');
SELECT throws_ok($$SELECT privacy.pseudonymize('x', 'd')$$, '42501', NULL, 'pseudonymize without a verified context is refused');

-- 3. Privileges of the application role.
SELECT throws_ok($$SELECT * FROM privacy.tenant_keys$$, '42501', NULL, 'the app cannot read tenant_keys');
SELECT throws_ok($$SELECT privacy.shred_tenant('cx_globex')$$, '42501', NULL, 'the app cannot shred');
SELECT throws_ok($$SELECT privacy.rotate_tenant_key('cx_acme')$$, '42501', NULL, 'the app cannot rotate tenant keys');
SELECT throws_ok($$SELECT privacy.rotate_master_key('/tmp/x')$$, '42501', NULL, 'the app cannot rotate the master key');
SELECT throws_ok($$SELECT privacy.master_key_id()$$, '42501', NULL, 'the app cannot read the master key id');
RESET ROLE;

-- 4. The trigger.
SELECT privacy.set_context('cx_acme', 'u1', scope => 'session');
SET ROLE cxsuite_app;
INSERT INTO cxsuite.notes VALUES (1, 'cx_acme', convert_to('plain note', 'UTF8'));
SELECT is(substring(body FROM 1 FOR 3), '\x707601'::bytea, 'the trigger stores an envelope') FROM cxsuite.notes WHERE id = 1;
SELECT is(privacy.decrypt(body), 'plain note', 'which decrypts to what was written') FROM cxsuite.notes WHERE id = 1;
INSERT INTO cxsuite.notes SELECT 3, 'cx_acme', e FROM cxsuite.vals WHERE label = 'v1';
SELECT ok((SELECT n.body = v.e FROM cxsuite.notes n, cxsuite.vals v WHERE n.id = 3 AND v.label = 'v1'),
          'the tenant''s own envelope is stored as it is, not encrypted twice');
RESET ROLE;

-- 5. Tenant key versions.
SELECT is(privacy.rotate_tenant_key('cx_acme'), 2, 'rotate_tenant_key adds version 2');
SET ROLE cxsuite_app;
SELECT is(get_byte(privacy.encrypt('v2 value'), 7), 2, 'new values use the newest version');
INSERT INTO cxsuite.vals SELECT 'cx_acme', 'v2', privacy.encrypt('acme second');
SELECT is(privacy.decrypt(e), 'acme secret', 'a value of version 1 stays readable') FROM cxsuite.vals WHERE label = 'v1';
RESET ROLE;

-- 6. Master key rotation: a new keyring file, then re-wrap from the old one.
SELECT current_setting('privacy.keyring_file') AS old_keyring \gset
SELECT regexp_replace(:'old_keyring', '[^/]*$', 'rotated.key') AS new_keyring \gset
SELECT privacy.master_key_id() AS old_id \gset
-- Written by the server's user, mode 0600 (COPY TO a file would leave it 0644: refused, PV706).
SELECT format('umask 077; cat > %s', :'new_keyring') AS write_cmd \gset
COPY (SELECT md5(random()::text) || md5(random()::text)) TO PROGRAM :'write_cmd';
ALTER SYSTEM SET privacy.keyring_file = :'new_keyring';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT isnt(privacy.master_key_id(), :'old_id', 'the configured master key changed');
SELECT privacy.set_context('cx_acme', 'u1', scope => 'session');
SELECT throws_ok($$SELECT privacy.decrypt(e) FROM cxsuite.vals WHERE label = 'v1'$$, 'PV707', NULL,
                 'keys wrapped under the old master key are refused (PV707)');
SELECT results_eq($$SELECT sum(rewrapped)::bigint, sum(already_current)::bigint, sum(unreadable)::bigint
                      FROM privacy.rotate_master_key('$$ || :'old_keyring' || $$')
                     WHERE database = current_database() AND secret <> 'provider API key'$$,
                  $$SELECT (SELECT count(*) FROM privacy.tenant_keys WHERE wrapped IS NOT NULL), 0::bigint, 0::bigint$$,
                  'rotate_master_key re-wraps every key');
SELECT is((SELECT count(*) FROM privacy.tenant_keys WHERE wrapped IS NOT NULL AND master_key_id <> privacy.master_key_id()),
          0::bigint, 'every key names the new master key');
SELECT is(privacy.decrypt(e), 'acme secret', 'version 1 values decrypt after the master key rotation') FROM cxsuite.vals WHERE label = 'v1';
SELECT is(privacy.decrypt(e), 'acme second', 'version 2 values decrypt after the master key rotation') FROM cxsuite.vals WHERE label = 'v2';
SELECT is((SELECT sum(rewrapped)::bigint FROM privacy.rotate_master_key(:'old_keyring')), 0::bigint,
          'running the rotation again re-wraps nothing');
-- Back to the original master key, for the suites that follow.
ALTER SYSTEM RESET privacy.keyring_file;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT is(privacy.master_key_id(), :'old_id', 'the original master key is configured again');
SELECT ok((SELECT sum(rewrapped) > 0 FROM privacy.rotate_master_key(:'new_keyring') WHERE database = current_database()),
          'and rotation back re-wraps');
SELECT is(privacy.decrypt(e), 'acme secret', 'values still decrypt') FROM cxsuite.vals WHERE label = 'v1';

-- 7. Pseudonyms.
SELECT privacy.pseudonymize('ana@example.com', 'email') AS p_acme \gset
SELECT is(privacy.pseudonymize('ana@example.com', 'email'), :'p_acme', 'pseudonyms are deterministic');
SELECT isnt(privacy.pseudonymize('ana@example.com', 'crm'), :'p_acme', 'and differ across domains');
SELECT privacy.set_context('cx_globex', 'u2', scope => 'session');
SELECT isnt(privacy.pseudonymize('ana@example.com', 'email'), :'p_acme', 'and across tenants');

-- pgcrypto in the same backend: its internal pgp_encrypt()/pgp_decrypt() once resolved to
-- pg_privacy's exported symbols of the same names and crashed the server.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
SELECT is(pgp_sym_decrypt(pgp_sym_encrypt('with pgcrypto', 'pw'), 'pw'), 'with pgcrypto',
          'pgcrypto works in a backend that loaded pg_privacy');

-- The caller's search_path does not choose what runs as the extension's owner.
CREATE FUNCTION cxsuite.encode(bytea, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'shadowing function ran'; END $$;
SET search_path = cxsuite, pg_catalog, public;
SELECT privacy.set_context('cx_shadow', 'u1', scope => 'session');
SELECT lives_ok($$SELECT privacy.encrypt('x')$$, 'a shadowing encode() in the caller''s search_path is not called');
RESET search_path;

-- 8. Shredding, seen by this session and by another backend that has the keys cached.
SELECT dblink_connect('cx_other', format('host=%s port=%s dbname=%s user=%s',
  split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'),
  current_database(), current_user));
SELECT * FROM dblink('cx_other', $$SELECT privacy.set_context('cx_acme', 'u1', scope => 'session')::text$$) AS t(x text);
SELECT is((SELECT d FROM dblink('cx_other', $$SELECT privacy.decrypt(e) FROM cxsuite.vals WHERE label = 'v1'$$) AS t(d text)),
          'acme secret', 'the other session decrypts (and caches the key) before the shred');
SELECT is(privacy.shred_tenant('cx_acme'), 3::bigint, 'shred_tenant destroys both versions and the pseudonym key');
SELECT is((SELECT detail->>'keys' FROM privacy.audit_queue
            WHERE kind = 'crypto' AND action = 'SHRED_TENANT' AND detail->>'tenant_id' = 'cx_acme'),
          '3', 'shred_tenant writes one audit record with its count');
SELECT privacy.set_context('cx_acme', 'u1', scope => 'session');
SELECT throws_ok($$SELECT privacy.decrypt(e) FROM cxsuite.vals WHERE label = 'v1'$$, 'PV704', NULL,
                 'after the shred this session gets PV704');
SELECT throws_ok($$SELECT d FROM dblink('cx_other', 'SELECT privacy.decrypt(e) FROM cxsuite.vals WHERE label = ''v1''') AS t(d text)$$,
                 'PV704', NULL, 'and so does the other session, whose cached key was dropped');
SELECT throws_ok($$SELECT privacy.decrypt(body) FROM cxsuite.notes WHERE id = 1$$, 'PV704', NULL,
                 'values written through the trigger are gone too');
SELECT throws_ok($$SELECT privacy.pseudonymize('ana@example.com', 'email')$$, 'PV704', NULL,
                 'the pseudonym key is destroyed');
SELECT privacy.set_context('cx_globex', 'u2', scope => 'session');
SELECT is(privacy.decrypt(privacy.encrypt('still')), 'still', 'another tenant is untouched');
SELECT dblink_disconnect('cx_other');
SELECT privacy.logout();

SELECT * FROM finish();
DROP SCHEMA cxsuite CASCADE;
DROP ROLE cxsuite_app;
