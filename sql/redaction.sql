-- The SQL surface of redaction: detect, redact (all and some types), mask, contains_pii,
-- redact_jsonb, sanitize_csv, the detector list, custom rules and their errors, the trigger.
\set SHOW_CONTEXT never

-- detect(): one row per finding; substr(input, start_pos, end_pos - start_pos) is the value.
SELECT entity_type, start_pos, end_pos, action
  FROM privacy.detect('Mail ana.silva@example.com, call +1 415 555 2671, card 4111-1111-1111-1111.');
SELECT entity_type, substr(t, start_pos, end_pos - start_pos) AS value
  FROM (SELECT 'Zürich → SSN 078-05-1120; IBAN GB82 WEST 1234 5698 7654 32; IP 192.168.10.7'::text AS t) x,
       LATERAL privacy.detect(x.t);
SELECT count(*) FROM privacy.detect('nothing sensitive here, just order 12345 and version 3.10.12');

-- redact(): typed placeholders; a types list limits what is replaced.
SELECT privacy.redact('Mail ana.silva@example.com, call +1 415 555 2671, card 4111-1111-1111-1111.');
SELECT privacy.redact('Mail ana.silva@example.com, card 4111-1111-1111-1111.', ARRAY['EMAIL']);
SELECT privacy.redact('Mail ana.silva@example.com', ARRAY[]::text[]);
SELECT privacy.redact('conn postgresql://app:S3cr3t-Pa55@db.internal:5432/prod');
SELECT privacy.redact('password=hunter2-Xy9 and {"password": "aB3$kL9!mN"}');
SET privacy.redact_placeholder = '<{type}>';
SELECT privacy.redact('ana@example.com');
RESET privacy.redact_placeholder;

-- mask(): keeps what people recognise.
SELECT privacy.mask('card 4111 1111 1111 1111, mail ana.silva@example.com');

-- contains_pii(), NULL and empty input.
SELECT privacy.contains_pii('ssn 078-05-1120') AS ssn, privacy.contains_pii('hello') AS clean;
SELECT privacy.redact(NULL) IS NULL AS null_in_null_out, privacy.redact('') = '' AS empty_ok;

-- redact_jsonb(): string values only; keys, numbers, booleans and structure are kept.
SELECT privacy.redact_jsonb('{"user": "ana@example.com", "age": 41, "tags": ["ip 10.1.2.3", true, null], "ana@example.com": "key kept"}');
SELECT privacy.redact_jsonb('"bare string ana@example.com"'), privacy.redact_jsonb('42');

-- sanitize_csv(): header (redacted) and a row count.
SELECT privacy.sanitize_csv(E'name,email\nAna,ana@example.com\n"Ben, Jr.","ben@example.com"\n');

-- The built-in detectors.
SELECT entity_type, default_action FROM privacy.detectors() ORDER BY 1;

-- Custom rules: a bad pattern is refused at insert with PV101.
INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('bad', 'BAD', 'TCK-([0-9]{6}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('lower', 'lowercase_type', 'x');
\set VERBOSITY default
INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('ticket', 'TICKET_ID', 'TCK-[0-9]{6}');
SELECT privacy.redact('see TCK-123456');
DELETE FROM privacy.rules WHERE name = 'ticket';
SELECT privacy.redact('see TCK-123456');

-- The trigger: misuse is a clear error.
CREATE TABLE regress_msgs (id int, body text, n int);
CREATE TRIGGER r BEFORE INSERT ON regress_msgs FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger();
INSERT INTO regress_msgs VALUES (1, 'x', 1);
DROP TRIGGER r ON regress_msgs;
CREATE TRIGGER r BEFORE INSERT ON regress_msgs FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('n');
INSERT INTO regress_msgs VALUES (1, 'x', 1);
DROP TRIGGER r ON regress_msgs;
CREATE TRIGGER r BEFORE INSERT ON regress_msgs FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('nope');
INSERT INTO regress_msgs VALUES (1, 'x', 1);
DROP TRIGGER r ON regress_msgs;
CREATE TRIGGER r AFTER INSERT ON regress_msgs FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('body');
INSERT INTO regress_msgs VALUES (1, 'x', 1);
DROP TRIGGER r ON regress_msgs;
CREATE TRIGGER r BEFORE INSERT ON regress_msgs FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('body');
INSERT INTO regress_msgs VALUES (1, 'my email is ana@example.com', 1) RETURNING body;
SELECT privacy.redact_trigger();
DROP TABLE regress_msgs;
