-- Each leak of issue 18, closed: jsonb secret keys (one path for redact_jsonb, the trigger and the
-- audit), provider request members (stop, model) against the fixture, classified values in
-- constraint errors, statistics, the audit log, subject exports and partitions created later,
-- holdable cursors and session scope, uniform decrypt errors, privacy.findings scoping, the
-- subject-key bound, and the audit queue's relation check.
\set ON_ERROR_STOP 1
\set QUIET 1
\getenv url PGP_FIXTURE_URL
\getenv record PGP_FIXTURE_RECORD

DROP SCHEMA IF EXISTS lk CASCADE;
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['lk_app', 'lk_auditor', 'lk_officer', 'lk_owner'] LOOP
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('DROP OWNED BY %I', r);
      EXECUTE format('DROP ROLE %I', r);
    END IF;
  END LOOP;
END $$;
DELETE FROM privacy.providers WHERE name LIKE 'lk\_%';
DELETE FROM privacy.tenants WHERE tenant_id LIKE 'lk\_%';
DELETE FROM privacy.tenant_keys WHERE tenant_id LIKE 'lk\_%';
DELETE FROM privacy.subject_key_counts WHERE tenant_id LIKE 'lk\_%';
CREATE SCHEMA lk;
CREATE ROLE lk_app;
CREATE ROLE lk_auditor IN ROLE privacy_auditor;
CREATE ROLE lk_officer;
GRANT USAGE ON SCHEMA lk TO lk_app, lk_officer, lk_auditor;
GRANT EXECUTE ON FUNCTION privacy.export_subject(text, text, text) TO lk_officer;

-- Reads the detail of the error a statement raises, as the caller (GET STACKED DIAGNOSTICS sees
-- the error before any log hook does).
CREATE FUNCTION lk.detail_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RETURN d;
END $$;
CREATE FUNCTION lk.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT EXECUTE ON FUNCTION lk.detail_of(text), lk.error_of(text) TO PUBLIC;

SELECT plan(49);

-- 1. jsonb: secret-named keys, one path for redact_jsonb, the redaction trigger and the audit.
\set doc '{"password": "hunter2", "Api-Key": "k-123", "nested": {"client_secret": "s3", "list": [{"TOKEN": 12345}]}, "credentials": {"user": "u", "pass": "p"}, "note": "write to ana@example.com", "is_admin": true, "pwd": null, "max_tokens": 100}'
SELECT is(privacy.redact_jsonb(:'doc'),
          '{"pwd": null, "note": "write to [EMAIL_REDACTED]", "nested": {"list": [{"TOKEN": "[SECRET_REDACTED]"}], "client_secret": "[SECRET_REDACTED]"}, "Api-Key": "[SECRET_REDACTED]", "is_admin": true, "password": "[SECRET_REDACTED]", "max_tokens": 100, "credentials": "[SECRET_REDACTED]"}'::jsonb,
          'redact_jsonb replaces values under secret-named keys whole (any case or separator), keeps booleans, nulls and counters');
CREATE TABLE lk.docs (id int PRIMARY KEY, body jsonb);
CREATE TRIGGER redact BEFORE INSERT OR UPDATE ON lk.docs FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('body');
CREATE TABLE lk.docs_raw (id int PRIMARY KEY, body jsonb);
SELECT privacy.audit('lk.docs_raw', 'redacted') \gset
INSERT INTO lk.docs VALUES (1, :'doc');
INSERT INTO lk.docs_raw VALUES (1, :'doc');
SELECT is((SELECT body FROM lk.docs), privacy.redact_jsonb(:'doc'), 'the redaction trigger writes what redact_jsonb returns');
SELECT is((SELECT (row_values->>'body')::jsonb FROM privacy.audit_queue WHERE table_name = 'lk.docs_raw' ORDER BY qid DESC LIMIT 1),
          privacy.redact_jsonb(:'doc'), 'the audit''s redacted copy holds what redact_jsonb returns');

-- 2. Provider requests: stop goes through redaction, the model is the provider's or allow-listed.
SELECT privacy.register_provider('lk_prov', 'openai', :'url', 'gpt-suite', 'EU', api_key => 'sk-lk-0123456789abcdefghijKLMN',
                                 allowed_models => ARRAY['gpt-allowed']) \gset
INSERT INTO privacy.tenants (tenant_id, region, ai_opt_in) VALUES ('lk_acme', 'EU', true);
BEGIN;
SELECT privacy.set_context('lk_acme', 'u1', '{}', 'EU') \gset
SELECT privacy.provider_call('lk_prov', '{"messages": [{"role": "user", "content": "lk-stop-marker"}], "stop": ["END", "mail lk.stop@example.com"]}') \gset
SELECT throws_ok($$SELECT privacy.provider_call('lk_prov', '{"messages": [{"role": "user", "content": "hi"}], "model": "gpt-elsewhere"}')$$,
                 'PV601', 'request member "model" names a model this provider does not allow',
                 'a request naming a model the provider does not allow is refused (PV601)');
SELECT is(privacy.provider_call('lk_prov', '{"messages": [{"role": "user", "content": "lk-model-marker"}], "model": "gpt-allowed"}')->>'model',
          'gpt-allowed', 'a model of the provider''s allowed_models is sent');
COMMIT;
SELECT ok((SELECT bool_or(l LIKE '%lk-stop-marker%' AND l LIKE '%[EMAIL_REDACTED]%' AND l NOT LIKE '%lk.stop@example.com%')
             FROM regexp_split_to_table(pg_read_file(:'record'), E'\n') l),
          'the fixture received the stop sequences redacted');
SELECT ok((SELECT bool_or(l LIKE '%lk-model-marker%' AND l LIKE '%"model":"gpt-allowed"%')
             FROM regexp_split_to_table(pg_read_file(:'record'), E'\n') l),
          'the fixture received the allowed model');
SELECT ok(NOT (SELECT bool_or(l LIKE '%gpt-elsewhere%') FROM regexp_split_to_table(pg_read_file(:'record'), E'\n') l),
          'the refused model never reached the provider');

-- 3. Classification wherever a value surfaces.
CREATE TABLE lk.people (id int PRIMARY KEY, tenant_id text NOT NULL DEFAULT 'lk_acme', user_id text,
                        name text CHECK (length(name) < 20), ssn text UNIQUE);
CREATE TABLE lk.badges (id int PRIMARY KEY, ssn text REFERENCES lk.people (ssn));
SELECT privacy.audit('lk.people', 'redacted') \gset
SELECT privacy.classify('lk.people', 'ssn', 'RESTRICTED', ARRAY['hr']) \gset
INSERT INTO lk.people SELECT g, 'lk_acme', 'lk_u' || (g % 3), 'person ' || g, '900-00-' || lpad(g::text, 4, '0')
  FROM generate_series(1, 300) g;
INSERT INTO lk.badges VALUES (1, '900-00-0001');
GRANT SELECT, INSERT, UPDATE, DELETE ON lk.people TO lk_app;
SET ROLE lk_app;
SELECT is(lk.detail_of($$UPDATE lk.people SET name = repeat('x', 30) WHERE id = 1$$),
          '[detail withheld by pg_privacy: the table has classified columns this reader may not see]',
          'a CHECK violation''s detail ("Failing row contains") does not reach a reader who may not see ssn, even in PL/pgSQL');
SELECT is(lk.detail_of($$DELETE FROM lk.people WHERE id = 1$$),
          '[detail withheld by pg_privacy: the table has classified columns this reader may not see]',
          'nor a foreign key violation''s "Key (ssn)=(...)"');
SELECT is(lk.detail_of($$UPDATE lk.people SET ssn = NULL, name = repeat('y', 40) WHERE id = 2$$),
          '[detail withheld by pg_privacy: the table has classified columns this reader may not see]',
          'nor when the statement does not touch ssn itself');
RESET ROLE;
BEGIN;
SELECT privacy.set_context('lk_acme', 'hr1', ARRAY['hr']) \gset
SET LOCAL ROLE lk_app;
SELECT alike(lk.detail_of($$UPDATE lk.people SET name = repeat('x', 30) WHERE id = 1$$), 'Failing row contains%',
            'a reader allowed to see ssn (verified role hr) gets the detail');
COMMIT;
-- Statistics.
ANALYZE lk.people;
SELECT is((SELECT count(*)::int FROM pg_statistic WHERE starelid = 'lk.people'::regclass
              AND staattnum = (SELECT attnum FROM pg_attribute WHERE attrelid = 'lk.people'::regclass AND attname = 'ssn')),
          0, 'ANALYZE collects no statistics for a classified column (its target is 0)');
SELECT ok((SELECT count(*) FROM pg_statistic WHERE starelid = 'lk.people'::regclass) > 0,
          'the other columns keep theirs');
SET ROLE lk_app;
SELECT is_empty($$SELECT most_common_vals::text, histogram_bounds::text FROM pg_stats
                  WHERE schemaname = 'lk' AND tablename = 'people' AND attname = 'ssn'$$,
                'pg_stats shows no values of the classified column');
RESET ROLE;
SELECT throws_ok($$ALTER TABLE lk.people ALTER COLUMN ssn SET STATISTICS 100$$, 'PV215', NULL,
                 'turning a classified column''s statistics back on is refused (PV215)');
CREATE TABLE lk.later (id int, ssn text);
INSERT INTO lk.later SELECT g, 'x' || g FROM generate_series(1, 50) g;
ANALYZE lk.later;
SELECT privacy.classify('lk.later', 'ssn', 'CONFIDENTIAL') \gset
SELECT is((SELECT count(*)::int FROM pg_stats WHERE schemaname = 'lk' AND tablename = 'later' AND attname = 'ssn'), 0,
          'classify() deletes the statistics collected before');
SELECT privacy.unclassify('lk.later', 'ssn') \gset
ANALYZE lk.later;
SELECT is((SELECT count(*)::int FROM pg_stats WHERE schemaname = 'lk' AND tablename = 'later' AND attname = 'ssn'), 1,
          'unclassify() turns them back on');
-- The audit log.
UPDATE lk.people SET name = 'renamed' WHERE id = 3;
SELECT is((SELECT row_values->>'ssn' FROM privacy.audit_queue WHERE table_name = 'lk.people' AND action = 'INSERT'
            ORDER BY qid LIMIT 1), '****', 'the audit''s redacted values hold a classified column masked');
SELECT is((SELECT count(*)::int FROM privacy.audit_queue WHERE table_name = 'lk.people'
              AND (row_values::text LIKE '%900-00-%' OR pk::text LIKE '%900-00-%')), 0,
          'no classified value is in any audit record of the table');
CREATE TABLE lk.by_ssn (ssn text PRIMARY KEY, note text);
SELECT privacy.audit('lk.by_ssn') \gset
SELECT privacy.classify('lk.by_ssn', 'ssn', 'CONFIDENTIAL') \gset
INSERT INTO lk.by_ssn VALUES ('555-12-3456', 'n');
SELECT is((SELECT pk->>'ssn' FROM privacy.audit_queue WHERE table_name = 'lk.by_ssn' ORDER BY qid DESC LIMIT 1),
          '***-**-3456', 'a classified primary key is written masked (values_mode none)');
-- Subject exports.
SELECT privacy.register_subject_table('lk.people', 'user_id') \gset
BEGIN;
SELECT privacy.set_context('lk_acme', 'officer', ARRAY['support']) \gset
SET LOCAL ROLE lk_officer;
SELECT ok((SELECT string_agg(c, E'\n') FROM privacy.export_subject('lk_u1') c) LIKE '%"ssn": "****"%',
          'an export shows a classified column masked to an officer whose roles do not allow it');
SELECT ok((SELECT string_agg(c, E'\n') FROM privacy.export_subject('lk_u1') c) NOT LIKE '%900-00-%',
          'and no stored value of it');
COMMIT;
BEGIN;
SELECT privacy.set_context('lk_acme', 'officer', ARRAY['hr']) \gset
SET LOCAL ROLE lk_officer;
SELECT ok((SELECT string_agg(c, E'\n') FROM privacy.export_subject('lk_u1') c) LIKE '%"ssn": "900-00-%',
          'an officer whose verified roles allow the column exports it');
COMMIT;
-- Export and erasure read registered tables as stored (ids must compare as stored), but a
-- trigger of such a table, the table owner's own code, is not exempt from classification.
CREATE ROLE lk_owner;
GRANT USAGE ON SCHEMA lk TO lk_owner;
GRANT SELECT ON lk.people TO lk_owner;
CREATE TABLE lk.reg (id int PRIMARY KEY, tenant_id text NOT NULL, user_id text NOT NULL);
CREATE TABLE lk.loot (seen text);
CREATE FUNCTION lk.grab() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lk.loot SELECT ssn FROM lk.people WHERE id = 5;
  RETURN OLD;
END $$;
CREATE TRIGGER grab BEFORE DELETE ON lk.reg FOR EACH ROW EXECUTE FUNCTION lk.grab();
ALTER TABLE lk.reg OWNER TO lk_owner;
ALTER TABLE lk.loot OWNER TO lk_owner;
INSERT INTO lk.reg VALUES (1, 'lk_acme', 'lk_r1'), (2, 'lk_acme', 'lk_r1'), (3, 'lk_acme', 'lk_r2');
SELECT privacy.classify('lk.reg', 'user_id', 'RESTRICTED') \gset
SELECT privacy.register_subject_table('lk.reg', 'user_id') \gset
GRANT EXECUTE ON FUNCTION privacy.erase_subject(text, text) TO lk_officer;
BEGIN;
SELECT privacy.set_context('lk_acme', 'officer', ARRAY['support']) \gset
SET LOCAL ROLE lk_officer;
SELECT is((privacy.erase_subject('lk_r1')->'tables'->'lk.reg'->>'deleted')::int, 2,
          'erasure finds a subject''s rows by a classified subject column of a table a non-superuser owns');
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT seen) FROM lk.loot), ARRAY['****'],
          'the table owner''s trigger, run by the erasure, reads another classified table masked');
ROLLBACK;

-- Foreign-key checks compare stored keys of a classified column (they return no value).
CREATE TABLE lk.parent (ssn text PRIMARY KEY);
CREATE TABLE lk.child (id int, ssn text REFERENCES lk.parent);
ALTER TABLE lk.parent OWNER TO lk_owner;
ALTER TABLE lk.child OWNER TO lk_owner;
INSERT INTO lk.parent VALUES ('111-22-3333');
SELECT privacy.classify('lk.parent', 'ssn', 'RESTRICTED') \gset
SET ROLE lk_owner;
SELECT lives_ok($$INSERT INTO lk.child VALUES (1, '111-22-3333')$$,
                'a foreign key to a classified column of a non-superuser''s table still finds the stored key');
SELECT throws_ok($$INSERT INTO lk.child VALUES (2, '999-99-9999')$$, '23503', NULL, 'and still refuses a missing one');
RESET ROLE;

-- Partitions created after classify().
CREATE TABLE lk.events (id int, at date, ssn text) PARTITION BY RANGE (at);
CREATE TABLE lk.events_2025 PARTITION OF lk.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT privacy.classify('lk.events', 'ssn', 'RESTRICTED') \gset
CREATE TABLE lk.events_2026 PARTITION OF lk.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE lk.events_old (id int, ssn text, at date);  -- another column order
ALTER TABLE lk.events ATTACH PARTITION lk.events_old FOR VALUES FROM ('2000-01-01') TO ('2025-01-01');
INSERT INTO lk.events VALUES (1, '2026-05-01', '111-22-3333'), (2, '2010-01-01', '444-55-6666');
GRANT USAGE ON SCHEMA lk TO lk_app;
GRANT SELECT ON lk.events, lk.events_2026, lk.events_old TO lk_app;
SET ROLE lk_app;
SELECT is((SELECT ssn FROM lk.events_2026), '****', 'a partition created after classify() is read masked directly');
SELECT is((SELECT ssn FROM lk.events_old), '****', 'so is one attached later, whatever its column order');
RESET ROLE;

-- 4. Holdable cursors and session scope.
BEGIN;
SELECT privacy.set_context('lk_acme', 'u1') \gset
SELECT throws_ok($$DECLARE c CURSOR WITH HOLD FOR SELECT 1$$, 'PV216', NULL,
                 'a holdable cursor cannot be declared under a tenant context (PV216)');
ROLLBACK;
BEGIN;
DECLARE lk_held CURSOR WITH HOLD FOR SELECT id FROM lk.people;
SELECT throws_ok($$SELECT privacy.set_context('lk_acme', 'u1')$$, 'PV216', NULL,
                 'nor a context set while a holdable cursor of the transaction is open (its query runs at COMMIT)');
CLOSE lk_held;
SELECT lives_ok($$SELECT privacy.set_context('lk_acme', 'u1')$$, 'once it is closed, the context may be set');
ROLLBACK;
BEGIN;
DECLARE lk_held2 CURSOR WITH HOLD FOR SELECT 1;
COMMIT;
BEGIN;
SELECT lives_ok($$SELECT privacy.set_context('lk_acme', 'u1')$$,
                'a holdable cursor of an earlier transaction holds rows read without a context: no refusal');
ROLLBACK;
CLOSE lk_held2;
SELECT throws_ok($$SELECT privacy.authenticate('x.y.z', 'session')$$, '0A000', 'session-scoped authentication is turned off',
                 'authenticate(..., ''session'') is off by default');
SELECT is(current_setting('privacy.authenticate_session_scope'), 'off', 'privacy.authenticate_session_scope defaults to off');

-- 5. One SQLSTATE for every value that is not the reader's.
BEGIN;
SELECT privacy.set_context('lk_globex', 'g1') \gset
SELECT privacy.encrypt('globex secret') AS gx, privacy.encrypt('about g1', 'g1') AS gs \gset
-- A tenant with no key at all.
SELECT privacy.set_context('lk_newco', 'n1') \gset
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', :'gx'), 'PV703', 'encrypted value failed authentication',
                 'another tenant''s value, read by a tenant with no keys: PV703 (was PV708)');
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', :'gs'), 'PV703', 'encrypted value failed authentication',
                 'another tenant''s subject value, read by a tenant with no keys: PV703');
SELECT privacy.set_context('lk_acme', 'u1') \gset
SELECT privacy.encrypt('acme has keys now') \gset
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', :'gx'), 'PV703', 'encrypted value failed authentication',
                 'another tenant''s value, read by a tenant with keys: the same PV703');
SELECT throws_ok(format('SELECT privacy.decrypt(%L::bytea)', :'gs'), 'PV703', 'encrypted value failed authentication',
                 'another tenant''s subject value, read by a tenant with keys: the same PV703');
ROLLBACK;

-- 6. privacy.findings shows a reader their own tenant only.
SELECT privacy.reset_finding_stats() \gset
BEGIN;
SELECT privacy.set_context('lk_acme', 'u1') \gset
SELECT privacy.redact('mail ana@example.com') \gset
SELECT privacy.set_context('lk_globex', 'g1') \gset
SELECT privacy.redact('mail bob@example.com and carl@example.com') \gset
COMMIT;
SET ROLE lk_app;
SELECT is_empty($$SELECT * FROM privacy.findings$$, 'without a verified context a reader sees no findings');
RESET ROLE;
BEGIN;
SELECT privacy.set_context('lk_acme', 'u1') \gset
SET LOCAL ROLE lk_app;
SELECT set_eq($$SELECT tenant_id, entity_type, findings FROM privacy.findings WHERE findings > 0$$,
              $$VALUES ('lk_acme', 'EMAIL', 1::bigint)$$, 'a tenant''s reader sees that tenant''s counts only');
COMMIT;
SET ROLE lk_auditor;
SELECT set_eq($$SELECT tenant_id, findings FROM privacy.findings WHERE findings > 0$$,
              $$VALUES ('lk_acme', 1::bigint), ('lk_globex', 2::bigint)$$, 'privacy_auditor sees every tenant');
RESET ROLE;

-- 7. Subject keys are created within privacy.max_subject_keys.
SET privacy.max_subject_keys = 3;
BEGIN;
SELECT privacy.set_context('lk_bound', 'u1') \gset
SELECT count(privacy.encrypt('x', 'lk_s' || g)) FROM generate_series(1, 3) g \gset
SELECT throws_ok($$SELECT privacy.encrypt('x', 'lk_s4')$$, 'PV710', 'subject key limit reached',
                 'a subject key past the bound is refused (PV710)');
SELECT lives_ok($$SELECT privacy.encrypt('y', 'lk_s2')$$, 'a subject that has its key still encrypts');
SELECT throws_ok($$SELECT privacy.encrypt('x', 'victim-' || g) FROM generate_series(1, 300) g$$, 'PV710', NULL,
                 'the mass creation of issue 18 stops at the bound');
ROLLBACK;
BEGIN;
SELECT privacy.set_context('lk_bound', 'u1') \gset
SELECT lives_ok($$SELECT privacy.encrypt('x', 'lk_s' || g) FROM generate_series(1, 3) g$$,
                'keys created in a rolled-back transaction are not counted');
ROLLBACK;
RESET privacy.max_subject_keys;

-- 8. The audit queue's direct insert checks the relation it writes.
BEGIN;
CREATE INDEX lk_queue_idx ON privacy.audit_queue (qid);
SELECT throws_ok($$INSERT INTO lk.docs_raw VALUES (2, '{}')$$, 'PV305', 'pg_privacy''s audit queue has an unexpected shape',
                 'an index added to the queue stops the writer (PV305) instead of being left out of date');
ROLLBACK;
SELECT lives_ok($$INSERT INTO lk.docs_raw VALUES (3, '{}')$$, 'without it the writer works again');

SELECT * FROM finish();
