-- Triggers of every SQLSTATE docs/sqlstates.md lists: run by test/docs/run_docs.py, which checks
-- that the last error of each section has that SQLSTATE and the hint the page shows (an empty
-- hint cell: no hint). A section starts with "-- CODE"; "-- skip: reason" leaves a code untested
-- here, saying where it is tested. Everything before the first section is the setup, run once in
-- a fresh database, as a superuser; psql variables: fixture_url, docs_tmp.
SELECT privacy.create_roles() IS NOT NULL;
CREATE ROLE sq_plain;
CREATE ROLE sq_purger IN ROLE privacy_purger;
CREATE TABLE sq_t (id int, body text, n int);
GRANT SELECT, INSERT ON sq_t TO sq_plain;
CREATE TABLE sq_ret (id int, created_at timestamptz);
CREATE TABLE sq_parent (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE sq_child (parent_id int REFERENCES sq_parent);
CREATE TABLE sq_other (id int);
CREATE TABLE sq_prot (id int, tenant_id text NOT NULL, created_at timestamptz NOT NULL);
SELECT privacy.protect('sq_prot');
SELECT privacy.set_retention('sq_prot', 'created_at', '1 day', 'tenant_id');
GRANT USAGE ON SCHEMA public TO privacy_purger;
\set secret 'sqlstates-test-secret-0123456789abcdef'
SELECT privacy.add_signing_key('sq', 'HS256', :'secret');
SELECT privacy.add_signing_key('sq_old', 'HS256', :'secret');
SELECT privacy.revoke_signing_key('sq_old');
SELECT privacy.add_signing_key('sq_later', 'HS256', :'secret', not_before => '2100-01-01');
INSERT INTO privacy.rules (name, entity_type, pattern, action) VALUES ('sq_block', 'SQBLOCK', 'SQSECRET-[0-9]+', 'BLOCK');
INSERT INTO privacy.tenants (tenant_id, region, ai_opt_in) VALUES ('acme', 'EU', true), ('acme_rl', 'EU', true);
INSERT INTO privacy.provider_limits (tenant_id, burst_subject, burst_tenant) VALUES ('acme_rl', 1, 1);
SELECT privacy.register_provider('sq', 'openai-compatible', :'fixture_url', 'm', 'EU', timeout_ms => 400, max_retries => 0);
SELECT privacy.register_provider('sq_off', 'openai-compatible', :'fixture_url', 'm', 'EU', enabled => false);
SELECT privacy.register_provider('sq_us', 'openai-compatible', :'fixture_url', 'm', 'US');
SELECT privacy.register_provider('sq_closed', 'openai-compatible', 'http://127.0.0.1:9', 'm', 'EU');
SELECT privacy.register_provider('sq_keyed', 'openai', :'fixture_url', 'm', 'EU', api_key => 'sk-sqlstates-0123456789abcdef');
UPDATE privacy.providers SET api_key_wrapped = set_byte(api_key_wrapped, 20, get_byte(api_key_wrapped, 20) # 1)
 WHERE name = 'sq_keyed';
SELECT privacy.set_context('acme', 'u1', region => 'EU', scope => 'session');
CREATE TABLE sq_vals (label text, e bytea);
INSERT INTO sq_vals SELECT 'acme', privacy.encrypt('a value');
SELECT privacy.register_subject_table('sq_t', 'body', tenant_column => 'n');

-- PV000
SELECT privacy._selftest_raise('std_exception');

-- PV001
-- skip: the test cluster preloads pg_privacy; test/tap/001_load_and_restart.pl checks PV001 without it

-- PV101
INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('sq_bad', 'SQBAD', '(');

-- PV102
CREATE TRIGGER sq_redact BEFORE INSERT ON sq_t FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('body');
INSERT INTO sq_t VALUES (1, 'my code is SQSECRET-42');
DROP TRIGGER sq_redact ON sq_t;

-- PV201
SELECT privacy.authenticate('not-a-token');

-- PV202
SELECT privacy.authenticate('eyJhbGciOiJub25lIiwia2lkIjoic3EifQ.eyJ0ZW5hbnRfaWQiOiJhY21lIn0.');

-- PV203
SELECT privacy.authenticate(privacy.sign_token('{"tenant_id": "acme", "sub": "u", "exp": 4102444800}', 'nope', 'HS256', :'secret'));

-- PV204
SELECT privacy.authenticate(privacy.sign_token('{"tenant_id": "acme", "sub": "u", "exp": 4102444800}', 'sq_old', 'HS256', :'secret'));

-- PV205
SELECT privacy.authenticate(privacy.sign_token('{"tenant_id": "acme", "sub": "u", "exp": 4102444800}', 'sq', 'HS256',
                                               'another-secret-0123456789abcdef-0123'));

-- PV206
SELECT privacy.authenticate(privacy.sign_token('{"tenant_id": "acme", "sub": "u", "exp": 1000}', 'sq', 'HS256', :'secret'));

-- PV207
SELECT privacy.authenticate(privacy.sign_token('{"tenant_id": "acme", "sub": "u", "nbf": 4102444000, "exp": 4102444800}', 'sq', 'HS256', :'secret'));

-- PV208
SET privacy.jwt_issuer = 'https://issuer.example';
SELECT privacy.authenticate(privacy.sign_token('{"tenant_id": "acme", "sub": "u", "exp": 4102444800, "iss": "https://other.example"}', 'sq', 'HS256', :'secret'));
RESET privacy.jwt_issuer;

-- PV209
SET privacy.jwt_audience = 'chat-app';
SELECT privacy.authenticate(privacy.sign_token('{"tenant_id": "acme", "sub": "u", "exp": 4102444800, "aud": "other"}', 'sq', 'HS256', :'secret'));
RESET privacy.jwt_audience;

-- PV210
SELECT privacy.authenticate(repeat('a', 9000));

-- PV211
SELECT privacy.authenticate('eyJhbGciOiJSUzI1NiIsImtpZCI6InNxIn0.eyJ0ZW5hbnRfaWQiOiJhY21lIn0.c2ln');

-- PV212
SELECT privacy.authenticate(privacy.sign_token('{"sub": "u", "exp": 4102444800}', 'sq', 'HS256', :'secret'));

-- PV213
SELECT privacy.authenticate(privacy.sign_token('{"tenant_id": "acme", "sub": "u", "exp": 4102444800}', 'sq_later', 'HS256', :'secret'));

-- PV214
SELECT privacy.add_signing_key('sq_short', 'HS256', 'too short');

-- PV215
SELECT privacy.classify('sq_other', 'id', 'CONFIDENTIAL');
ALTER TABLE sq_other RENAME COLUMN id TO ident;

-- PV216
SELECT privacy.set_context('acme', 'u1', region => 'EU', scope => 'session');
DECLARE sq_held CURSOR WITH HOLD FOR SELECT 1;

-- PV301
TRUNCATE privacy.audit_log;

-- PV302
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT privacy.audit_seal();
ROLLBACK;

-- PV303
SELECT privacy.audit('sq_ret');
INSERT INTO sq_ret VALUES (1, now());
SELECT privacy.audit_seal() > 0;
BEGIN;
SELECT privacy.audit_maintenance(true, 'sqlstates: a record changed');
UPDATE privacy.audit_log SET action = 'CHANGED' WHERE id = (SELECT min(id) FROM privacy.audit_log);
COMMIT;
SELECT privacy.audit_purge('0 seconds');

-- PV304
BEGIN;
DELETE FROM privacy.audit_settings;
SELECT privacy.audit_hmac('x');
ROLLBACK;

-- PV305
CREATE TABLE sq_aud (id int);
SELECT privacy.audit('sq_aud');
CREATE INDEX sq_queue_idx ON privacy.audit_queue (qid);
INSERT INTO sq_aud VALUES (1);
DROP INDEX privacy.sq_queue_idx;
SELECT privacy.unaudit('sq_aud');

-- PV401
SELECT privacy.set_retention('sq_ret', 'created_at', '-1 day');

-- PV402
SELECT privacy.drop_retention('sq_ret');

-- PV403
SET ROLE sq_purger;
SELECT * FROM privacy.purge_preview();
RESET ROLE;

-- PV404
SELECT privacy.set_retention('sq_parent', 'created_at', '1 day');
INSERT INTO sq_parent VALUES (1, now() - interval '2 days');
INSERT INTO sq_child VALUES (1);
CALL privacy.purge('sq_parent');

-- PV405
SELECT privacy.set_retention_child('sq_other', 'sq_parent');

-- PV406
SELECT privacy.release_hold(999999);

-- PV601
SELECT privacy.set_context('acme', 'u1', region => 'EU', scope => 'session');
SELECT privacy.provider_call('sq', '{"nope": true}');

-- PV602
SELECT privacy.provider_call('nope', '{"messages": [{"role": "user", "content": "hi"}]}');

-- PV603
SELECT privacy.provider_call('sq_off', '{"messages": [{"role": "user", "content": "hi"}]}');

-- PV604
SELECT privacy.logout();
SELECT privacy.provider_call('sq', '{"messages": [{"role": "user", "content": "hi"}]}');
SELECT privacy.set_context('acme', 'u1', region => 'EU', scope => 'session');

-- PV605
SELECT privacy.provider_call('sq_us', '{"messages": [{"role": "user", "content": "hi"}]}');

-- PV606
SELECT privacy.set_context('acme_rl', 'u1', region => 'EU', scope => 'session');
SELECT privacy.provider_call('sq', '{"messages": [{"role": "user", "content": "hi"}]}') IS NOT NULL;
SELECT privacy.provider_call('sq', '{"messages": [{"role": "user", "content": "hi"}]}');
SELECT privacy.set_context('acme', 'u1', region => 'EU', scope => 'session');

-- PV607
SELECT privacy.provider_call('sq', '{"messages": [{"role": "user", "content": "the code is SQSECRET-7"}]}');

-- PV608
SELECT privacy.register_provider('sq_bad', 'smoke-signals', 'http://127.0.0.1:9', 'm', 'EU');

-- PV610
SELECT privacy.provider_call('sq_closed', '{"messages": [{"role": "user", "content": "hi"}]}');

-- PV611
\set ctl `curl -fsS -X POST ':fixture_url/__control' -d '{"mode": "hang", "count": 1}'`
SELECT privacy.provider_call('sq', '{"messages": [{"role": "user", "content": "hi"}]}');

-- PV612
-- skip: a statement_timeout or pg_cancel_backend during a call surfaces as 57014 (test/pgtap/60_provider.sql, test/tap/070_provider_cancel.pl); PV612 only when the interrupt was consumed before the call returned

-- PV613
\set ctl `curl -fsS -X POST ':fixture_url/__control' -d '{"mode": "endless", "count": 1}'`
SELECT privacy.provider_call('sq', '{"messages": [{"role": "user", "content": "hi"}]}');

-- PV614
\set ctl `curl -fsS -X POST ':fixture_url/__control' -d '{"mode": "status=500", "count": 1}'`
SELECT privacy.provider_call('sq', '{"messages": [{"role": "user", "content": "hi"}]}');

-- PV615
\set ctl `curl -fsS -X POST ':fixture_url/__control' -d '{"mode": "malformed", "count": 1}'`
SELECT privacy.provider_call('sq', '{"messages": [{"role": "user", "content": "hi"}]}');

-- PV616
-- skip: the fixture has no mode answering 2xx with an error object; test/unit/provider_response_test.cpp checks PV616

-- PV701
SELECT privacy.decrypt('\x0001'::bytea);

-- PV702
SELECT privacy.decrypt(set_byte(e, 2, 9)) FROM sq_vals;

-- PV703
SELECT privacy.decrypt(set_byte(e, length(e) - 1, get_byte(e, length(e) - 1) # 1)) FROM sq_vals;

-- PV704
SELECT privacy.set_context('sq_gone', 'u1', scope => 'session');
INSERT INTO sq_vals SELECT 'sq_gone', privacy.encrypt('soon gone');
SELECT privacy.shred_tenant('sq_gone');
SELECT privacy.decrypt(e) FROM sq_vals WHERE label = 'sq_gone';
SELECT privacy.set_context('acme', 'u1', region => 'EU', scope => 'session');

-- PV705
SELECT * FROM privacy.rotate_master_key('/nonexistent/master.key');

-- PV706
\set open_key :docs_tmp/open.key
SELECT format('umask 022; cat > %s', :'open_key') AS write_cmd \gset
COPY (SELECT repeat('ab', 32)) TO PROGRAM :'write_cmd';
SELECT * FROM privacy.rotate_master_key(:'open_key');

-- PV707
SELECT privacy.provider_call('sq_keyed', '{"messages": [{"role": "user", "content": "hi"}]}');

-- PV708
SELECT privacy.rotate_tenant_key('sq_nokeys');

-- PV709
SELECT privacy.set_context('sq_broken', 'u1', scope => 'session');
INSERT INTO sq_vals SELECT 'sq_broken', privacy.encrypt('its secret file is damaged');
SELECT format('truncate -s 10 %s/%s.key', current_setting('privacy.keyring_dir'), secret_id) AS damage
  FROM privacy.tenant_keys WHERE tenant_id = 'sq_broken' LIMIT 1 \gset
COPY (SELECT 1) TO PROGRAM :'damage';
\c :docs_db
SELECT privacy.set_context('sq_broken', 'u2', scope => 'session');
SELECT privacy.decrypt(e) FROM sq_vals WHERE label = 'sq_broken';
SELECT privacy.set_context('acme', 'u1', region => 'EU', scope => 'session');

-- PV710
SET privacy.max_subject_keys = 1;
SELECT privacy.encrypt('x', 'sq_subject_1');
SELECT privacy.encrypt('x', 'sq_subject_2');
RESET privacy.max_subject_keys;

-- PV801
SELECT privacy.register_subject_table('sq_t', 'body', 'shred', tenant_column => 'n');

-- PV802
SELECT privacy.unregister_subject_table('sq_ret');

-- PV803
SELECT privacy.place_hold('acme', 'u9', 'sqlstates: a claim') > 0;
SELECT privacy.erase_subject('u9', tenant => 'acme');

-- PV901
DROP EXTENSION pg_privacy CASCADE;

-- PV951
SET privacy.cluster_context = 'made.up';

-- PV952
-- skip: only a coordinator seals a context; test/unit/tenancy_cluster_context_test.cpp checks the expiry and its error

-- PV953
-- skip: raised where Citus is installed; test/citus/t/010_context.pl checks it on a coordinator

-- PV954
-- skip: needs a Citus worker whose configuration differs; test/citus/t/020_config_redaction.pl checks it

-- PV955
-- skip: needs a Citus worker that fails to apply the configuration; not reproduced by a test (80_cluster.sql raises it)

-- PV956
-- skip: needs a Citus worker; test/citus/t/040_crypto.pl checks it

-- PV957
-- skip: needs a Citus distributed table; test/citus/t/060_retention.pl checks it

-- PV958
-- skip: needs a Citus shard that refuses the change; not reproduced by a test (80_cluster.sql raises it)

-- 54000
-- skip: a value over 1 GB needs over 1 GB of memory; test/unit/crypto_envelope_test.cpp checks the limit

-- 22021
CREATE TABLE sq_bin (tenant_id text, b bytea);
CREATE TRIGGER sq_enc BEFORE INSERT ON sq_bin FOR EACH ROW EXECUTE FUNCTION privacy.encrypt_trigger('b');
INSERT INTO sq_bin VALUES ('acme', '\xff00ff'::bytea);
SELECT privacy.decrypt(b) FROM sq_bin;

-- 42501
SET ROLE sq_plain;
SELECT privacy.set_context('acme', 'u1');
RESET ROLE;

-- 53200
SELECT privacy._selftest_raise('bad_alloc');

-- 0A000
SELECT privacy.authenticate(privacy.sign_token('{"tenant_id": "acme", "sub": "u", "exp": 4102444800}', 'sq', 'HS256', :'secret'), 'session');

-- 22023
SELECT privacy.audit('sq_t', 'everything');

-- 42804
CREATE TRIGGER sq_redact_int BEFORE INSERT ON sq_t FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('n');
INSERT INTO sq_t VALUES (2, 'x', 3);
DROP TRIGGER sq_redact_int ON sq_t;

-- 42703
CREATE TRIGGER sq_redact_none BEFORE INSERT ON sq_t FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('nosuch');
INSERT INTO sq_t VALUES (3, 'x', 3);
DROP TRIGGER sq_redact_none ON sq_t;

-- 39P01
CREATE TRIGGER sq_redact_after AFTER INSERT ON sq_t FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('body');
INSERT INTO sq_t VALUES (4, 'x', 3);
DROP TRIGGER sq_redact_after ON sq_t;

-- 42602
SET privacy.no_such_setting = 'x';

-- 2D000
BEGIN;
CALL privacy.purge();
ROLLBACK;
