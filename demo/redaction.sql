-- Demo, redaction: find, redact and mask PII and secrets in the sample conversations, custom
-- rules, allow-list, dictionaries, the redaction trigger, BLOCK, and the statistics view.
\echo '--- privacy.detect(): what is sensitive in a message, with positions as substr() counts them'
SELECT d.*, substr(m.body, d.start_pos, d.end_pos - d.start_pos) AS value
  FROM (SELECT body FROM demo.messages WHERE body LIKE 'My card%' LIMIT 1) m,
       LATERAL privacy.detect(m.body) d;

\echo '--- privacy.redact() and privacy.mask() on the first user messages'
SELECT message_id, privacy.redact(body) AS redacted, privacy.mask(body) AS masked
  FROM demo.messages WHERE role = 'user' ORDER BY message_id LIMIT 8;

\echo '--- how many user messages carry PII or secrets, per tenant'
SELECT tenant_id, count(*) FILTER (WHERE privacy.contains_pii(body)) AS with_pii, count(*) AS total
  FROM demo.messages WHERE role = 'user' GROUP BY 1 ORDER BY 1;

\echo '--- jsonb: every string value redacted, keys and structure kept'
SELECT privacy.redact_jsonb('{"user": {"email": "ana.martin@acme.example", "plan": "pro"},
  "messages": ["my IBAN is GB82 WEST 1234 5698 7654 32", 42]}'::jsonb) AS redacted;

\echo '--- a data preview reduced to metadata'
SELECT privacy.sanitize_csv(E'name,email,card\nAna,ana@acme.example,4111111111111111\nBen,ben@acme.example,5500005555555559\n');

\echo '--- a custom rule (internal ticket ids), an allow-listed support address, a dictionary of customer names'
INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('ticket', 'TICKET_ID', 'TCK-[0-9]{6}');
INSERT INTO privacy.allow_list (value, note) VALUES ('support@acme.example', 'our own address');
SELECT privacy.load_dictionary('customers', 'CUSTOMER', ARRAY['Globex', 'Initech']) AS terms_loaded;
SELECT privacy.redact('Globex (TCK-004211) asked support@acme.example to email ana@globex.example') AS redacted;

\echo '--- a rule RE2 cannot compile is refused when it is written, not when it is used'
\set ON_ERROR_STOP 0
INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('broken', 'BROKEN', 'TCK-([0-9]{6}');
\set ON_ERROR_STOP 1

\echo '--- the redaction trigger: messages are redacted at rest, BLOCK refuses a value'
CREATE TRIGGER redact_body BEFORE INSERT OR UPDATE ON demo.messages
  FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('body');
INSERT INTO privacy.rules (name, entity_type, pattern, action)
  VALUES ('codename', 'PROJECT_CODENAME', '(?i)\bproject\s+nightingale\b', 'BLOCK');
INSERT INTO demo.messages (conversation_id, tenant_id, role, body, created_at)
  VALUES (1, 'acme', 'user', 'New card 4111 1111 1111 1111, mail me at eva@mail.example', now())
  RETURNING message_id, body;
\set ON_ERROR_STOP 0
INSERT INTO demo.messages (conversation_id, tenant_id, role, body, created_at)
  VALUES (1, 'acme', 'user', 'Status of Project Nightingale?', now());
\set ON_ERROR_STOP 1

\echo '--- findings per entity type since the last reset, across all sessions (the owner and privacy_auditor see every tenant, other roles only their own)'
SELECT * FROM privacy.findings ORDER BY findings DESC LIMIT 8;
