-- Audit suite: what is recorded per action and values mode, that 'none' never stores a value,
-- that 'redacted' stores no PII and 'hmac' proves a value, the append-only rules, every kind of
-- tampering caught with the right first_bad_id, purge with its checkpoint, tenant visibility,
-- and configuration and DDL records. Not one transaction: sealing and maintenance need commits.
\set ON_ERROR_STOP 1
\set QUIET 1

-- Setup, as superuser: a clean chain (everything so far sealed and purged), an audited table,
-- an application role in the trusted-middleware role (to set a context without tokens).
CREATE EXTENSION IF NOT EXISTS pgcrypto;
DROP SCHEMA IF EXISTS asuite CASCADE;
CREATE SCHEMA asuite;
CREATE TABLE asuite.msgs (id int PRIMARY KEY, tenant_id text, body text, note text);
DROP ROLE IF EXISTS asuite_app;
CREATE ROLE asuite_app IN ROLE privacy_middleware;
GRANT USAGE ON SCHEMA asuite TO asuite_app;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON asuite.msgs TO asuite_app;
SELECT privacy.audit('asuite.msgs');
-- Column names that text[] output quotes: the canonical text of changed_columns must follow it.
CREATE TABLE asuite.odd (id int PRIMARY KEY, "my col" text, "NULL" text, "a,b" text, "prénom" text);
SELECT privacy.audit('asuite.odd');
SELECT privacy.audit_seal();
SELECT privacy.audit_purge('0 seconds');
SELECT privacy.audit_seal();
SELECT id AS base FROM privacy.audit_head() \gset

-- The canonical encoding, rebuilt in plain SQL from docs/audit.md: what an outside verifier (or
-- a forger) computes. Tampering tests use it to forge records with valid hashes.
CREATE FUNCTION pg_temp.f(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN t IS NULL THEN '\xff'::bytea
              ELSE '\x00'::bytea || int8send(octet_length(convert_to(t, 'UTF8'))::bigint) || convert_to(t, 'UTF8') END
$$;
-- The subject is hashed as its keyed HMAC (hmac() of pgcrypto under the settings key), or as
-- stored once erased (the column then holds that HMAC).
CREATE FUNCTION pg_temp.canonical(l privacy.audit_log) RETURNS bytea LANGUAGE sql STABLE AS $$
  SELECT convert_to('pgp-audit-v2', 'UTF8') || '\x00'::bytea || pg_temp.f(l.id::text) || pg_temp.f(l.qid::text)
      || pg_temp.f(to_char(l.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) || pg_temp.f(l.xid::text)
      || pg_temp.f(l.tenant)
      || pg_temp.f(CASE WHEN l.subject_erased THEN l.subject
                        ELSE encode(hmac(convert_to(l.subject, 'UTF8'), (SELECT hmac_key FROM privacy.audit_settings), 'sha256'), 'hex') END)
      || pg_temp.f(l.role) || pg_temp.f(l.action)
      || pg_temp.f(l.kind) || pg_temp.f(l.table_name) || pg_temp.f(l.pk::text)
      || pg_temp.f(l.changed_columns::text) || pg_temp.f(l.row_values::text) || pg_temp.f(l.detail::text)
$$;
-- Recomputes prev_hash and hash of every record from `from_id` on (the maintenance switch must be on).
CREATE FUNCTION pg_temp.rechain(from_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r privacy.audit_log; prev bytea;
BEGIN
  SELECT hash INTO prev FROM privacy.audit_log WHERE id = from_id - 1;
  IF prev IS NULL THEN SELECT hash INTO prev FROM privacy.audit_checkpoints ORDER BY id DESC LIMIT 1; END IF;
  FOR r IN SELECT * FROM privacy.audit_log WHERE id >= from_id ORDER BY id LOOP
    r.prev_hash := prev;
    r.hash := sha256(prev || pg_temp.canonical(r));
    UPDATE privacy.audit_log SET prev_hash = r.prev_hash, hash = r.hash WHERE id = r.id;
    prev := r.hash;
  END LOOP;
END $$;
-- Every column of a row as text: what a search for a value would find.
CREATE FUNCTION pg_temp.log_contains(needle text) RETURNS bigint LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM privacy.audit_log l WHERE strpos(l::text, needle) > 0)
       + (SELECT count(*) FROM privacy.audit_queue q WHERE strpos(q::text, needle) > 0)
$$;
CREATE FUNCTION pg_temp.bad() RETURNS bigint LANGUAGE sql AS $$ SELECT first_bad_id FROM privacy.audit_verify() $$;

SELECT plan(92);

-- 1. 'none' mode, as the application with a verified context: who, what, which columns; no value.
SET ROLE asuite_app;
BEGIN;
SELECT privacy.set_context('acme', 'u-17');
INSERT INTO asuite.msgs VALUES (1, 'acme', 'SENTINEL-7f3a9c body', 'SENTINEL-7f3a9c note'), (2, 'acme', 'two', NULL);
UPDATE asuite.msgs SET body = 'SENTINEL-7f3a9c changed' WHERE id = 1;
DELETE FROM asuite.msgs WHERE id = 2;
COMMIT;
BEGIN;
SELECT privacy.set_context('globex', 'g-1');
INSERT INTO asuite.msgs VALUES (3, 'globex', 'SENTINEL-7f3a9c globex', NULL);
COMMIT;
RESET ROLE;
SELECT results_eq(
  $$SELECT action, tenant, subject, role, pk::text, changed_columns::text FROM privacy.audit_queue
     WHERE table_name = 'asuite.msgs' ORDER BY qid$$,
  $$VALUES ('INSERT', 'acme', 'u-17', 'asuite_app', '{"id": "1"}', '{id,tenant_id,body,note}'),
           ('INSERT', 'acme', 'u-17', 'asuite_app', '{"id": "2"}', '{id,tenant_id,body}'),
           ('UPDATE', 'acme', 'u-17', 'asuite_app', '{"id": "1"}', '{body}'),
           ('DELETE', 'acme', 'u-17', 'asuite_app', '{"id": "2"}', NULL),
           ('INSERT', 'globex', 'g-1', 'asuite_app', '{"id": "3"}', '{id,tenant_id,body}')$$,
  'none mode: action, tenant, subject, role, key and changed columns per row');
SELECT is((SELECT count(*) FROM privacy.audit_queue WHERE table_name = 'asuite.msgs' AND row_values IS NOT NULL),
          0::bigint, 'none mode: no row_values');
SELECT is(pg_temp.log_contains('SENTINEL-7f3a9c'), 0::bigint, 'none mode: the sentinel value is in no column of the queue');
SELECT cmp_ok(privacy.audit_seal(), '>=', 5::bigint, 'the sealer moves the queue into the log');
SELECT is(pg_temp.log_contains('SENTINEL-7f3a9c'), 0::bigint, 'none mode: the sentinel value is in no column of the log');
SELECT is((SELECT count(*) FROM privacy.audit_queue), 0::bigint, 'the queue is empty after sealing');
SELECT ok((SELECT bool_and(xid IS NOT NULL AND at IS NOT NULL) FROM privacy.audit_log), 'every record has a time and a transaction id');

-- 2. 'redacted': values through the redaction engine, no PII of a corpus-like sample.
SELECT privacy.audit('asuite.msgs', 'redacted');
INSERT INTO asuite.msgs VALUES
  (10, 'acme', 'Hi, I am Ana, mail me at ana.lopez@example.com or call +1 (415) 555-0134', 'card 4111 1111 1111 1111'),
  (11, 'acme', 'my SSN is 123-45-6789 and my IBAN DE89 3704 0044 0532 0130 00', 'key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD');
SELECT is(pg_temp.log_contains('ana.lopez@example.com') + pg_temp.log_contains('555-0134')
        + pg_temp.log_contains('4111 1111 1111 1111') + pg_temp.log_contains('123-45-6789')
        + pg_temp.log_contains('DE89 3704') + pg_temp.log_contains('sk-proj-abcdef'), 0::bigint,
          'redacted mode: no email, phone, card, SSN, IBAN or API key in the log or queue');
SELECT alike((SELECT row_values->>'body' FROM privacy.audit_queue WHERE pk->>'id' = '10'), '%[EMAIL_REDACTED]%',
            'redacted mode: the value is kept with placeholders');

-- 3. 'hmac': keys and values as keyed HMACs, recomputable by whoever holds the key.
SELECT privacy.audit('asuite.msgs', 'hmac');
INSERT INTO asuite.msgs VALUES (20, 'acme', 'ana.lopez@example.com', NULL);
SELECT hmac_key AS key FROM privacy.audit_settings \gset
SELECT is((SELECT row_values->>'body' FROM privacy.audit_queue WHERE action = 'INSERT' ORDER BY qid DESC LIMIT 1),
          encode(hmac('ana.lopez@example.com', :'key'::bytea, 'sha256'), 'hex'),
          'hmac mode: the value is HMAC-SHA256 under the settings key (checked with pgcrypto)');
SELECT is((SELECT pk->>'id' FROM privacy.audit_queue WHERE action = 'INSERT' ORDER BY qid DESC LIMIT 1),
          privacy.audit_hmac('20'), 'hmac mode: the primary key is an HMAC too');
SELECT is(pg_temp.log_contains('ana.lopez@example.com'), 0::bigint, 'hmac mode: the value itself is not stored');
SET ROLE asuite_app;
SELECT throws_ok($$SELECT privacy.audit_hmac('x')$$, '42501', NULL, 'an application role cannot compute audit HMACs');
SELECT throws_ok($$SELECT hmac_key FROM privacy.audit_settings$$, '42501', NULL, 'an application role cannot read the HMAC key');
RESET ROLE;
SELECT privacy.audit('asuite.msgs');

-- 4. Configuration and DDL, without values.
INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('asuite-ticket', 'TICKET', 'TCK-[0-9]{6}');
SELECT privacy.add_signing_key('asuite-key', 'HS256', 'asuite-shared-secret-KEYMATERIAL-0123456789');
SELECT privacy.load_dictionary('asuite-dict', 'CODENAME', ARRAY['Bluebird', 'Nightjar'] || array_agg('Term' || g))
  FROM generate_series(1, 50) g;
CREATE TABLE asuite.ddl_probe (id int);
ALTER TABLE asuite.ddl_probe ADD COLUMN x int;
DROP TABLE asuite.ddl_probe;
SELECT ok(EXISTS (SELECT FROM privacy.audit_queue WHERE kind = 'config' AND table_name = 'privacy.rules' AND action = 'INSERT'),
          'a new rule is recorded');
SELECT is((SELECT changed_columns @> ARRAY['key_material'] AND row_values IS NULL FROM privacy.audit_queue
            WHERE kind = 'config' AND table_name = 'privacy.signing_keys'), true,
          'a new signing key is recorded with the column names only');
SELECT is(pg_temp.log_contains('KEYMATERIAL') + pg_temp.log_contains('TCK-') + pg_temp.log_contains('Nightjar'), 0::bigint,
          'no key material, rule pattern or dictionary term reaches the audit records');
SELECT is((SELECT count(*) FROM privacy.audit_queue WHERE kind = 'config' AND table_name = 'privacy.dictionary_terms'
             AND action = 'INSERT'), 1::bigint, 'loading 52 dictionary terms is one INSERT record, not one per term');
SELECT results_eq(
  $$SELECT action, detail->>'object_type', detail->>'object_identity' FROM privacy.audit_queue WHERE kind = 'ddl'
     AND detail->>'object_identity' LIKE 'asuite.ddl_probe%' ORDER BY qid$$,
  $$VALUES ('CREATE TABLE', 'table', 'asuite.ddl_probe'), ('ALTER TABLE', 'table', 'asuite.ddl_probe'),
           ('DROP TABLE', 'table', 'asuite.ddl_probe')$$,
  'DDL is recorded with command tag, object type and identity');
SELECT is((SELECT count(*) FROM privacy.audit_queue WHERE kind = 'ddl' AND detail::text ILIKE '%add column%'), 0::bigint,
          'DDL records never hold statement text');
-- A failure to record DDL must not break the DDL: the queue is given a column the writer does
-- not expect (so every append fails), inside a transaction that is rolled back.
BEGIN;
ALTER TABLE privacy.audit_queue ADD COLUMN unexpected int;
SELECT lives_ok('CREATE TABLE asuite.ddl_despite_failure (id int)', 'DDL goes on when it cannot be recorded');
SELECT throws_ok('INSERT INTO asuite.msgs VALUES (99, NULL, NULL, NULL)', 'PV305', 'pg_privacy''s audit queue has an unexpected shape',
                 'but an audited write cannot go unrecorded: it fails (PV305)');
ROLLBACK;
INSERT INTO asuite.odd VALUES (1, 'x', 'y', 'z', 'w');
SELECT is((SELECT changed_columns::text FROM privacy.audit_queue WHERE table_name = 'asuite.odd'),
          '{id,"my col","NULL","a,b",prénom}', 'changed columns keep names that need quoting');
DELETE FROM privacy.rules WHERE name = 'asuite-ticket';
DELETE FROM privacy.signing_keys WHERE kid = 'asuite-key';
DELETE FROM privacy.dictionaries WHERE name = 'asuite-dict';
SELECT privacy.audit_seal();

-- 5. Append-only: no privilege for the application, the guard for the owner without the switch.
SET ROLE asuite_app;
SELECT throws_ok($$UPDATE privacy.audit_log SET role = 'x'$$, '42501', NULL, 'application: UPDATE of the log refused');
SELECT throws_ok($$DELETE FROM privacy.audit_log$$, '42501', NULL, 'application: DELETE from the log refused');
SELECT throws_ok($$INSERT INTO privacy.audit_queue (qid, at, xid, role, action, kind) VALUES (1, now(), '1', 'x', 'x', 'x')$$,
                 '42501', NULL, 'application: a forged queue record is refused');
SELECT throws_ok($$SELECT privacy.audit_maintenance(true, 'let me in')$$, '42501', NULL, 'application: no maintenance switch');
SELECT throws_ok($$SELECT privacy.audit_seal()$$, '42501', NULL, 'application: no sealing');
RESET ROLE;
SELECT throws_ok(format('UPDATE privacy.audit_log SET role = %L WHERE id = %s', 'x', :base + 1), 'PV301', NULL,
                 'owner without the switch: UPDATE refused');
SELECT throws_ok(format('DELETE FROM privacy.audit_log WHERE id = %s', :base + 1), 'PV301', NULL, 'owner without the switch: DELETE refused');
SELECT throws_ok('TRUNCATE privacy.audit_log', 'PV301', NULL, 'owner without the switch: TRUNCATE refused');
SELECT throws_ok(format('INSERT INTO privacy.audit_log SELECT * FROM privacy.audit_log WHERE id = %s', :base + 1), 'PV301', NULL,
                 'owner without the switch: INSERT refused');
SELECT throws_ok('UPDATE privacy.audit_checkpoints SET hash = hash', 'PV301', NULL, 'owner without the switch: checkpoints refused');
SELECT is((SELECT ok FROM privacy.audit_verify()), true, 'the untouched chain verifies');
SELECT is((SELECT count(*) FROM privacy.audit_log l WHERE l.hash <> sha256(l.prev_hash || pg_temp.canonical(l))),
          0::bigint, 'every hash recomputes in plain SQL, the subject as its HMAC (encoding v2)');

-- 6. Tampering, each caught with the right first_bad_id. Records base+1.. are restored after each.
SELECT id AS head_id, hash AS head_hash FROM privacy.audit_head() \gset
CREATE TEMP TABLE pristine AS SELECT * FROM privacy.audit_log;
CREATE FUNCTION pg_temp.restore() RETURNS void LANGUAGE sql AS $$
  DELETE FROM privacy.audit_log; INSERT INTO privacy.audit_log SELECT * FROM pristine;
$$;
BEGIN;
SELECT privacy.audit_maintenance(true, 'pgTAP: a changed field');
UPDATE privacy.audit_log SET tenant = 'globex' WHERE id = :base + 3;
SELECT is(pg_temp.bad(), :base + 3::bigint, 'a changed field is caught at its record');
SELECT is((SELECT reason FROM privacy.audit_verify()), 'record content does not match its hash (changed)', 'and named as a change');
SELECT pg_temp.restore();
DELETE FROM privacy.audit_log WHERE id = :base + 3;
SELECT is(pg_temp.bad(), :base + 4::bigint, 'a deleted middle record is caught at the next one');
SELECT alike((SELECT reason FROM privacy.audit_verify()), '%missing%', 'and named as missing');
SELECT pg_temp.restore();
-- A forged record with a valid hash of its own, inserted after base+3 by renumbering the rest.
UPDATE privacy.audit_log SET id = -id WHERE id > :base + 3;
UPDATE privacy.audit_log SET id = -id + 1 WHERE id < 0;
INSERT INTO privacy.audit_log SELECT :base + 4, qid, at, xid, 'acme', subject, subject_erased, role, 'DELETE', kind,
       table_name, pk, NULL, NULL, NULL, hash, hash FROM privacy.audit_log WHERE id = :base + 3;
UPDATE privacy.audit_log l SET hash = sha256(l.prev_hash || pg_temp.canonical(l)) WHERE id = :base + 4;
SELECT is(pg_temp.bad(), :base + 5::bigint, 'an inserted record with a valid hash is caught at the record after it');
SELECT pg_temp.restore();
-- Two records swapped (each keeps its content, the ids are exchanged).
UPDATE privacy.audit_log SET id = -1 WHERE id = :base + 2;
UPDATE privacy.audit_log SET id = :base + 2 WHERE id = :base + 3;
UPDATE privacy.audit_log SET id = :base + 3 WHERE id = -1;
SELECT is(pg_temp.bad(), :base + 2::bigint, 'two swapped records are caught at the first');
SELECT pg_temp.restore();
-- The tail cut off: consistent in itself, caught against the exported head.
DELETE FROM privacy.audit_log WHERE id > :head_id - 2;
SELECT is((SELECT ok FROM privacy.audit_verify()), true, 'a cut-off tail alone looks consistent');
SELECT is((SELECT first_bad_id FROM privacy.audit_verify(head_id => :head_id, head_hash => :'head_hash')),
          :head_id - 1::bigint, 'a cut-off tail is caught against the exported head');
SELECT pg_temp.restore();
-- The whole chain rewritten with valid hashes after one change: caught only by the head.
UPDATE privacy.audit_log SET role = 'nobody' WHERE id = :base + 2;
SELECT pg_temp.rechain(:base + 1);
SELECT is((SELECT ok FROM privacy.audit_verify()), true, 'a fully rewritten chain is consistent in itself');
SELECT is((SELECT first_bad_id FROM privacy.audit_verify(head_id => :head_id, head_hash => :'head_hash')),
          :head_id::bigint, 'a fully rewritten chain is caught against the exported head');
SELECT is((SELECT first_bad_id FROM privacy.audit_verify(head_id => :head_id - 1,
             head_hash => (SELECT encode(hash, 'hex') FROM pristine WHERE id = :head_id - 1))),
          :head_id - 1::bigint, 'and against an older head the chain has grown past');
SELECT pg_temp.restore();
-- A record forged below the chain's start.
INSERT INTO privacy.audit_log SELECT :base - 5, qid, at, xid, tenant, subject, subject_erased, role, action, kind,
       table_name, pk, changed_columns, row_values, detail, prev_hash, hash FROM pristine WHERE id = :base + 1;
SELECT is(pg_temp.bad(), :base - 5::bigint, 'a record forged before the start of the chain is caught');
SELECT pg_temp.restore();
SELECT is((SELECT ok FROM privacy.audit_verify(head_id => :head_id, head_hash => :'head_hash')), true, 'restored: the chain verifies');
COMMIT;
SELECT throws_ok(format('UPDATE privacy.audit_log SET role = %L WHERE id = %s', 'x', :base + 1), 'PV301', NULL,
                 'the switch went off with its transaction');
SELECT privacy.audit_seal();
SELECT is((SELECT count(*) FROM privacy.audit_log WHERE kind = 'maintenance' AND action = 'MAINTENANCE ON'
            AND detail->>'reason' = 'pgTAP: a changed field'), 1::bigint, 'the maintenance switch is itself recorded');
SELECT is((SELECT ok FROM privacy.audit_verify(head_id => :head_id, head_hash => :'head_hash')), true,
          'the chain verifies against the old head after growing');

-- 6b. Whole-log verification reads the heap in physical order, and falls back to the primary key
-- (whose result stands) only when that order fails. Told apart by the scans this transaction
-- counts on the log: {heap scans, index scans}.
CREATE FUNCTION pg_temp.scans() RETURNS bigint[] LANGUAGE sql AS $$
  SELECT ARRAY[seq_scan, coalesce(idx_scan, 0)] FROM pg_stat_xact_user_tables WHERE relid = 'privacy.audit_log'::regclass
$$;
CREATE FUNCTION pg_temp.verify_scans(OUT ok boolean, OUT checked bigint, OUT first_bad_id bigint, OUT scans bigint[])
LANGUAGE plpgsql AS $$
DECLARE s0 bigint[] := pg_temp.scans(); s1 bigint[];
BEGIN
  SELECT v.ok, v.checked, v.first_bad_id INTO ok, checked, first_bad_id FROM privacy.audit_verify() v;
  s1 := pg_temp.scans();
  scans := ARRAY[s1[1] - s0[1], s1[2] - s0[2]];
END $$;
SELECT count(*) AS nlog FROM privacy.audit_log \gset
BEGIN;
SELECT is((SELECT (ok, checked, scans)::text FROM pg_temp.verify_scans()), format('(t,%s,"{1,0}")', :nlog),
          'a log in id order verifies in one pass over the heap, without its index');
SELECT privacy.audit_maintenance(true, 'pgTAP: heap order');
UPDATE privacy.audit_log SET id = id WHERE id = :base + 2;
SELECT isnt((SELECT array_agg(id) FROM (SELECT id FROM privacy.audit_log) h),
            (SELECT array_agg(id ORDER BY id) FROM privacy.audit_log), 'a record moved in the heap: its order is not id order');
SELECT is((SELECT (ok, checked, scans)::text FROM pg_temp.verify_scans()), format('(t,%s,"{1,0}")', :nlog),
          'a record out of place in the heap is checked in its turn, still without the index');
ROLLBACK;
-- A changed record read ahead of its turn (base+4 waits for base+2, moved behind it) is caught
-- from its waiting hashes.
BEGIN;
SELECT privacy.audit_maintenance(true, 'pgTAP: heap order and a change');
UPDATE privacy.audit_log SET tenant = 'globex' WHERE id = :base + 4;
UPDATE privacy.audit_log SET id = id WHERE id = :base + 2;
SELECT is((SELECT (ok, first_bad_id, scans)::text FROM pg_temp.verify_scans()), format('(f,%s,"{1,1}")', :base + 4),
          'a changed record read before its turn is caught, and the failure decided again through the primary key');
ROLLBACK;

-- 7. A sub-range proves its internal consistency; to_id bounds the walk.
SELECT is((SELECT checked FROM privacy.audit_verify(from_id => :base + 2, to_id => :base + 4)), 3::bigint,
          'a sub-range checks exactly its records');

-- 8. Purge: a prefix in id order, a checkpoint, and verification from it.
SELECT is(privacy.audit_purge('1 year'), 0::bigint, 'nothing is older than a year');
SELECT cmp_ok(privacy.audit_purge('0 seconds'), '>', 0::bigint, 'purge removes sealed records');
SELECT is((SELECT count(*) FROM privacy.audit_log), 0::bigint, 'the log is empty after purging everything');
SELECT is((SELECT (ok, checked)::text FROM privacy.audit_verify()), '(t,0)', 'an empty log after a checkpoint verifies');
SELECT cmp_ok(privacy.audit_seal(), '>=', 1::bigint, 'the retention record is sealed');
SELECT is((SELECT ok FROM privacy.audit_verify()), true, 'records after the checkpoint verify from it');
SELECT is((SELECT prev_hash FROM privacy.audit_log ORDER BY id LIMIT 1),
          (SELECT hash FROM privacy.audit_checkpoints ORDER BY id DESC LIMIT 1), 'the first record chains from the checkpoint');
SELECT is((SELECT detail ? 'purged' AND row_values IS NULL FROM privacy.audit_log WHERE kind = 'retention'), true,
          'the purge is recorded with counts only');
BEGIN;
SELECT privacy.audit_maintenance(true, 'pgTAP: delete the checkpoint');
DELETE FROM privacy.audit_checkpoints;
SELECT isnt(pg_temp.bad(), NULL, 'a deleted checkpoint is caught');
ROLLBACK;

-- 9. Tenant visibility: a tenant's verified context sees its records only; none without context.
GRANT SELECT ON privacy.audit_log TO asuite_app;
INSERT INTO asuite.msgs VALUES (30, 'x', 'y', NULL);
SET ROLE asuite_app;
BEGIN;
SELECT privacy.set_context('acme', 'u-17');
INSERT INTO asuite.msgs VALUES (31, 'acme', 'z', NULL);
COMMIT;
BEGIN;
SELECT privacy.set_context('globex', 'g-1');
INSERT INTO asuite.msgs VALUES (32, 'globex', 'z', NULL);
COMMIT;
RESET ROLE;
SELECT privacy.audit_seal();
SET ROLE asuite_app;
SELECT is((SELECT count(*) FROM privacy.audit_log), 0::bigint, 'no context: no audit record visible');
BEGIN;
SELECT privacy.set_context('acme', 'u-17');
SELECT is((SELECT array_agg(DISTINCT tenant) FROM privacy.audit_log), ARRAY['acme'], 'acme sees only acme''s records');
SELECT is((SELECT count(*) FROM privacy.audit_by_table WHERE table_name = 'asuite.msgs'), 1::bigint,
          'the summary views apply the same rule');
COMMIT;
RESET ROLE;

-- 10. Subject erasure: a subject's raw value in one tenant's records becomes its pseudonym (the
-- HMAC the chain hashes), sealed and queued records alike; the chain still verifies.
SET ROLE asuite_app;
BEGIN;
SELECT privacy.set_context('acme', 'erase-me-4711');
INSERT INTO asuite.msgs VALUES (40, 'acme', 'a', NULL);
UPDATE asuite.msgs SET note = 'n' WHERE id = 40;
COMMIT;
BEGIN;
SELECT privacy.set_context('globex', 'erase-me-4711');
INSERT INTO asuite.msgs VALUES (41, 'globex', 'b', NULL);
COMMIT;
RESET ROLE;
SELECT privacy.audit_seal();
SET ROLE asuite_app;
BEGIN;
SELECT privacy.set_context('acme', 'erase-me-4711');
INSERT INTO asuite.msgs VALUES (42, 'acme', 'c', NULL);
COMMIT;
RESET ROLE;
CREATE TEMP TABLE globex_before AS SELECT l::text AS r FROM privacy.audit_log l WHERE tenant = 'globex';
SELECT count(*) AS queued_before FROM privacy.audit_queue \gset
SELECT is(privacy._audit_erase_subject(NULL, 'erase-me-4711'), 0::bigint,
          'erasure with a NULL tenant matches only records without a tenant');
SELECT is(privacy._audit_erase_subject('acme', 'erase-me-4711'), 3::bigint,
          'erasure changes the two sealed and the one queued record of that tenant and subject');
SELECT is((SELECT count(*) FROM privacy.audit_queue), :queued_before::bigint, 'erasure writes no audit record of its own');
SELECT is((SELECT ok FROM privacy.audit_verify()), true, 'the chain verifies after the erasure');
SELECT is((SELECT count(*) FROM privacy.audit_log l WHERE tenant = 'acme' AND strpos(l::text, 'erase-me-4711') > 0)
        + (SELECT count(*) FROM privacy.audit_queue q WHERE tenant = 'acme' AND strpos(q::text, 'erase-me-4711') > 0),
          0::bigint, 'the raw subject is in no column of that tenant''s records, sealed or queued');
SELECT is((SELECT count(*) FROM (SELECT subject, subject_erased FROM privacy.audit_log WHERE tenant = 'acme'
                                 UNION ALL SELECT subject, subject_erased FROM privacy.audit_queue WHERE tenant = 'acme') r
            WHERE subject = privacy.audit_hmac('erase-me-4711') AND subject_erased), 3::bigint,
          'they hold the subject''s pseudonym, privacy.audit_hmac(subject), marked erased');
SELECT set_eq($$SELECT l::text FROM privacy.audit_log l WHERE tenant = 'globex'$$, $$SELECT r FROM globex_before$$,
              'another tenant''s records of the same subject are untouched');
SELECT is(privacy._audit_erase_subject('acme', 'erase-me-4711'), 0::bigint, 'a second erasure changes nothing');
SELECT cmp_ok(privacy.audit_seal(), '>=', 1::bigint, 'the erased queued record is sealed');
SELECT is((SELECT (ok, subject_erased)::text FROM privacy.audit_verify(),
             (SELECT subject_erased FROM privacy.audit_log WHERE tenant = 'acme' AND pk->>'id' = '42') e(subject_erased)),
          '(t,t)', 'sealed with its erased flag, and the chain verifies');
SELECT is((SELECT count(*) FROM privacy.audit_log l WHERE l.hash <> sha256(l.prev_hash || pg_temp.canonical(l))),
          0::bigint, 'every hash still recomputes in plain SQL after the erasure');
SELECT min(id) AS erased_id FROM privacy.audit_log WHERE tenant = 'acme' AND subject_erased \gset
BEGIN;
SELECT privacy.audit_maintenance(true, 'pgTAP: un-erase a record');
UPDATE privacy.audit_log SET subject_erased = false WHERE id = :erased_id;
SELECT is(pg_temp.bad(), :erased_id::bigint, 'a flipped erased flag is caught at its record');
ROLLBACK;
BEGIN;
SELECT privacy.audit_maintenance(true, 'pgTAP: change an erased subject');
UPDATE privacy.audit_log SET subject = privacy.audit_hmac('someone-else') WHERE id = :erased_id;
SELECT is(pg_temp.bad(), :erased_id::bigint, 'a changed pseudonym is caught at its record');
ROLLBACK;
SELECT throws_ok($$SELECT privacy._audit_erase_subject('acme', NULL)$$, '22004', NULL, 'the subject to erase cannot be NULL');
SET ROLE asuite_app;
SELECT throws_ok($$SELECT privacy._audit_erase_subject('acme', 'u-17')$$, '42501', NULL,
                 'an application role cannot erase subjects from the audit log');
RESET ROLE;

-- 11. The queue writer buffers records and writes them a page at a time: a statement's records
-- are in the queue when it ends, a rolled-back savepoint or exception block drops its own
-- records and no other, and a subtransaction inside a statement keeps what it must.
CREATE TABLE asuite.buf (id int PRIMARY KEY);
CREATE TABLE asuite.buf2 (id int PRIMARY KEY);
SELECT privacy.audit('asuite.buf');
SELECT privacy.audit('asuite.buf2');
CREATE FUNCTION pg_temp.queued(tbl text, ids int[] DEFAULT NULL) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM privacy.audit_queue WHERE kind = 'dml' AND table_name = tbl AND (ids IS NULL OR (pk->>'id')::int = ANY (ids))
$$;
BEGIN;
INSERT INTO asuite.buf SELECT g FROM generate_series(1, 2500) g;
SELECT is(pg_temp.queued('asuite.buf'), 2500::bigint, 'a 2,500-row insert has all its records queued when it ends');
COPY asuite.buf FROM STDIN;
3001
3002
3003
\.
SELECT is(pg_temp.queued('asuite.buf', ARRAY[3001, 3002, 3003]), 3::bigint, 'so has a COPY');
SAVEPOINT s;
INSERT INTO asuite.buf VALUES (4001), (4002);
ROLLBACK TO SAVEPOINT s;
INSERT INTO asuite.buf VALUES (4003);
DO $$
BEGIN
  INSERT INTO asuite.buf VALUES (4004);
  BEGIN
    INSERT INTO asuite.buf VALUES (4005);
    RAISE EXCEPTION 'undo 4005';
  EXCEPTION WHEN raise_exception THEN NULL;
  END;
END $$;
COMMIT;
SELECT is(pg_temp.queued('asuite.buf', ARRAY[4001, 4002, 4005]), 0::bigint,
          'a rolled-back savepoint or exception block leaves no record');
SELECT is(pg_temp.queued('asuite.buf', ARRAY[4003, 4004]), 2::bigint, 'the records around it stay');
-- Another AFTER trigger (fired after privacy_audit, by name) writes an audited row inside an
-- exception block while the statement's own records are still buffered.
CREATE FUNCTION asuite.side() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    INSERT INTO asuite.buf VALUES (5000 + NEW.id);
    IF NEW.id % 2 = 1 THEN RAISE EXCEPTION 'undo'; END IF;
  EXCEPTION WHEN raise_exception THEN NULL;
  END;
  RETURN NULL;
END $$;
CREATE TRIGGER zz_side AFTER INSERT ON asuite.buf2 FOR EACH ROW EXECUTE FUNCTION asuite.side();
INSERT INTO asuite.buf2 SELECT g FROM generate_series(1, 6) g;
SELECT is(pg_temp.queued('asuite.buf2'), 6::bigint, 'a statement keeps its records across another trigger''s subtransactions');
SELECT is(pg_temp.queued('asuite.buf', ARRAY[5001, 5002, 5003, 5004, 5005, 5006]), 3::bigint,
          'and those subtransactions keep only the records of theirs that committed');

-- A statement that fails after some of its records were buffered leaves none of them, caught
-- in an exception block or not.
CREATE TABLE asuite.buf3 (id int PRIMARY KEY);
SELECT privacy.audit('asuite.buf3');
CREATE FUNCTION asuite.fail3() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id % 10 = 3 THEN RAISE EXCEPTION 'row 3 fails'; END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER zz_fail AFTER INSERT ON asuite.buf3 FOR EACH ROW EXECUTE FUNCTION asuite.fail3();
SELECT throws_ok('INSERT INTO asuite.buf3 VALUES (1), (2), (3)', 'P0001', NULL, 'a statement fails in its AFTER triggers');
INSERT INTO asuite.buf3 VALUES (4);
DO $$
BEGIN
  INSERT INTO asuite.buf3 VALUES (11), (12), (13);
EXCEPTION WHEN raise_exception THEN NULL;
END $$;
INSERT INTO asuite.buf3 VALUES (14);
SELECT is(pg_temp.queued('asuite.buf3', ARRAY[1, 2, 3, 11, 12, 13]), 0::bigint,
          'the failed statements'' buffered records are gone');
SELECT is(pg_temp.queued('asuite.buf3', ARRAY[4, 14]), 2::bigint, 'the next statements'' records are there');

SELECT * FROM finish();

-- Teardown.
RESET ROLE;
SELECT privacy.unaudit('asuite.msgs');
DROP SCHEMA asuite CASCADE;
REVOKE SELECT ON privacy.audit_log FROM asuite_app;
DROP OWNED BY asuite_app;
DROP ROLE asuite_app;
