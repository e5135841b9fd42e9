-- Redaction behaviour: rules table validation, engine rebuild on change, allow-list,
-- dictionaries, the trigger (text and jsonb), BLOCK, privileges, and messages without values.
BEGIN;
SELECT plan(34);

-- The full text of an error (message | detail | hint) raised by a statement, or NULL.
CREATE FUNCTION pg_temp.error_of(stmt text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE m text; d text; h text;
BEGIN
  EXECUTE stmt;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN concat_ws(' | ', m, d, h);
END $f$;

-- Built-in detection through SQL, positions in characters.
SELECT is((SELECT entity_type FROM privacy.detect('mail: ana.silva@example.com')), 'EMAIL', 'detects an email');
SELECT is((SELECT substr(t, start_pos, end_pos - start_pos)
             FROM (SELECT 'Grüße → ana@example.com!'::text AS t) x, privacy.detect(x.t)),
          'ana@example.com', 'positions count characters, as substr() does');
SELECT is(privacy.redact('card 4111 1111 1111 1111'), 'card [CREDIT_CARD_REDACTED]', 'redacts a Luhn-valid card');
SELECT is(privacy.redact('order 4111 1111 1111 1112'), 'order 4111 1111 1111 1112', 'leaves a Luhn-invalid number');
SELECT is(privacy.redact(NULL::text), NULL, 'NULL in, NULL out');
SELECT is(privacy.redact(''), '', 'empty in, empty out');
SELECT ok(privacy.contains_pii('ssn 123-45-6789'), 'contains_pii sees an SSN');
SELECT ok(NOT privacy.contains_pii('nothing to see here'), 'contains_pii is false on clean text');

-- Custom rules are validated when written, never at use; the message never echoes the pattern.
SELECT throws_ok($$INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('bad', 'BAD', 'secret(unclosed')$$,
                 'PV101', NULL, 'a pattern RE2 cannot compile is refused with PV101');
SELECT unalike(pg_temp.error_of($$INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('bad', 'BAD', 'secret(unclosed')$$),
              '%unclosed%', 'the error message, detail and hint do not echo the pattern');
SELECT throws_ok($$INSERT INTO privacy.rules (name, entity_type, pattern, validator) VALUES ('v', 'V', 'x', 'no_such_validator')$$,
                 'PV101', NULL, 'an unknown validator is refused');
SET LOCAL privacy.rule_max_mem = '64kB';
SELECT throws_ok($$INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('big', 'BIG', '((a|b|c|d|e|f|g)[0-9]{1,900}){20}')$$,
                 'PV101', NULL, 'a pattern over the memory budget is refused');
RESET privacy.rule_max_mem;
SELECT throws_ok($$INSERT INTO privacy.allow_list (pattern) VALUES ('[unclosed')$$,
                 'PV101', NULL, 'an allow-list pattern is validated too');

-- A new rule takes effect at once (the engine is rebuilt), and disabling it removes it.
INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('ticket', 'TICKET_ID', 'TCK-[0-9]{6}');
SELECT is(privacy.redact('see TCK-123456'), 'see [TICKET_ID_REDACTED]', 'a custom rule applies at once');
UPDATE privacy.rules SET enabled = false WHERE name = 'ticket';
SELECT is(privacy.redact('see TCK-123456'), 'see TCK-123456', 'a disabled rule no longer applies');
INSERT INTO privacy.rules (name, entity_type, pattern, action) VALUES ('acct', 'ACCOUNT', 'ACC-([0-9]{8})', 'MASK');
SELECT is(privacy.redact('acct ACC-12345678'), 'acct ACC-********', 'a MASK rule masks (custom types fully) instead of replacing');

-- Allow-list: exact values and patterns are never redacted.
INSERT INTO privacy.allow_list (value) VALUES ('Support@Acme.example');
INSERT INTO privacy.allow_list (pattern) VALUES ('[a-z]+@example\.org');
SELECT is(privacy.redact('support@acme.example, noreply@example.org, ana@example.com'),
          'support@acme.example, noreply@example.org, [EMAIL_REDACTED]', 'allow-listed values and patterns pass');

-- Dictionaries: whole words, case-insensitive, from an array or a table column.
SELECT is(privacy.load_dictionary('customers', 'CUSTOMER', ARRAY['Globex', 'Initech Corp']), 2::bigint, 'loads terms');
SELECT is(privacy.redact('GLOBEX and initech corp, not Globexx'),
          '[CUSTOMER_REDACTED] and [CUSTOMER_REDACTED], not Globexx', 'dictionary terms on word boundaries');
CREATE TEMP TABLE code_names (n text);
INSERT INTO code_names VALUES ('Bluebird'), ('Redwood'), (NULL);
SELECT is(privacy.load_dictionary('codes', 'CODENAME', 'code_names'::regclass, 'n'), 2::bigint, 'loads terms from a column');
SELECT is(privacy.redact('ship redwood'), 'ship [CODENAME_REDACTED]', 'column-loaded terms apply');

-- The trigger redacts named text and jsonb columns on write.
CREATE TEMP TABLE msgs (id int, body text, meta jsonb, other text);
CREATE TRIGGER redact BEFORE INSERT OR UPDATE ON msgs
  FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('body', 'meta');
INSERT INTO msgs VALUES (1, 'mail ana@example.com', '{"k": "ip 10.1.2.3", "n": 1}', 'ana@example.com');
SELECT is((SELECT body FROM msgs WHERE id = 1), 'mail [EMAIL_REDACTED]', 'trigger redacts text');
SELECT is((SELECT meta FROM msgs WHERE id = 1), '{"k": "ip [IP_ADDRESS_REDACTED]", "n": 1}'::jsonb, 'trigger redacts jsonb values');
SELECT is((SELECT other FROM msgs WHERE id = 1), 'ana@example.com', 'columns not named are kept');
UPDATE msgs SET body = 'call +1 415 555 2671' WHERE id = 1;
SELECT is((SELECT body FROM msgs WHERE id = 1), 'call [PHONE_REDACTED]', 'trigger redacts on update');

-- BLOCK refuses the row, with PV102 naming the type and never the value; nothing is written.
INSERT INTO privacy.rules (name, entity_type, pattern, action) VALUES ('codename', 'CODENAME_X', '(?i)project\s+nightingale', 'BLOCK');
SELECT throws_ok($$INSERT INTO msgs VALUES (2, 'about Project Nightingale', NULL, NULL)$$,
                 'PV102', 'column "body" of relation "msgs" contains blocked content of type CODENAME_X',
                 'BLOCK refuses the row and names only the type');
SELECT is((SELECT count(*) FROM msgs WHERE id = 2), 0::bigint, 'no partial write');
SELECT unalike(pg_temp.error_of($$INSERT INTO msgs VALUES (3, 'card 4111 1111 1111 1111 and Project Nightingale', NULL, NULL)$$),
              '%4111%', 'the BLOCK error carries no value from the row');

-- Tenant rules apply only in that tenant's verified context; statistics count per tenant.
INSERT INTO privacy.rules (name, entity_type, pattern, tenant_id) VALUES ('acme-order', 'ACME_ORDER', 'AO-[0-9]{5}', 'acme');
SELECT is(privacy.redact('order AO-12345'), 'order AO-12345', 'a tenant rule does not apply without that tenant');
SELECT privacy.set_context('acme', 'u1');
SELECT is(privacy.redact('order AO-12345'), 'order [ACME_ORDER_REDACTED]', 'a tenant rule applies in that tenant''s context');
SELECT privacy.reset_finding_stats();
SELECT privacy.redact('a@example.com b@example.com');
SELECT is((SELECT findings FROM privacy.findings WHERE tenant_id = 'acme' AND entity_type = 'EMAIL'), 2::bigint,
          'findings are counted per tenant');
SELECT privacy.set_context('globex', 'g1');
SELECT is(privacy.redact('order AO-12345'), 'order AO-12345', 'another tenant does not get acme''s rule');
SELECT privacy.logout();

-- An application role can redact without any privilege on the configuration tables.
CREATE ROLE pgp_tap_app;
SET LOCAL ROLE pgp_tap_app;
SELECT is(privacy.redact('see TCK-000001 and ana@example.com'), 'see TCK-000001 and [EMAIL_REDACTED]',
          'redaction works for a role without access to the rules');
SELECT throws_ok($$SELECT * FROM privacy.rules$$, '42501', NULL, 'the rules are not readable by applications');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
