-- Demo, provider call: the loopback fixture (started by scripts/demo.sh) is asked to summarise a
-- conversation; the tenant's opt-in and region are checked, every message is redacted, and the
-- fixture's record shows exactly what left the database.
\echo '--- a provider in the US (the fixture stands in for the API); the key is wrapped under the master key'
SELECT privacy.register_provider('summariser', 'openai', :'fixture_url', 'gpt-4o-mini', 'US',
                                 api_key => 'sk-demo-0123456789abcdefghijklmnop', timeout_ms => 10000);
SELECT name, dialect, model, region, has_api_key, master_key_id FROM privacy.provider_list;
SELECT length(api_key_wrapped) AS wrapped_key_bytes FROM privacy.providers WHERE name = 'summariser';

\echo '--- acme (US) and initech (EU) have opted in; globex has not'
INSERT INTO privacy.tenants (tenant_id, region, ai_opt_in)
  SELECT tenant_id, region, tenant_id IN ('acme', 'initech') FROM demo.tenants
  ON CONFLICT (tenant_id) DO UPDATE SET ai_opt_in = EXCLUDED.ai_opt_in;
SELECT tenant_id, region, ai_opt_in, allow_region_transfer FROM privacy.tenants ORDER BY tenant_id;

\echo '--- a conversation of an acme user, with an email, a phone number and a card number in it'
CREATE TEMP TABLE convo (n int, role text, content text);
INSERT INTO convo VALUES
  (1, 'system', 'Summarise the support conversation in one sentence.'),
  (2, 'user', 'Hi, I am Jane, my order 18832 never arrived. Write to jane.doe@example.com or call +1 415 555 2671.'),
  (3, 'assistant', 'Sorry about that! Could you confirm the card you paid with?'),
  (4, 'user', 'It was 4111 1111 1111 1111, expiring 04/28.');
SELECT jsonb_build_object('messages', jsonb_agg(jsonb_build_object('role', role, 'content', content) ORDER BY n))
  AS request FROM convo \gset

\echo '--- as acme, the application calls privacy.provider_call (inside its transaction, after authenticate)'
BEGIN;
SELECT privacy.set_context('acme', 'user-1', '{}', 'US');
SELECT jsonb_pretty(privacy.provider_call('summariser', :'request')) AS answer;
COMMIT;

\echo '--- what left the database: the body the fixture received (the key itself never reaches its record)'
SELECT jsonb_pretty(r->'body') AS sent_body, r->>'api_key_sha256' IS NOT NULL AS key_was_sent
  FROM (SELECT l::jsonb AS r FROM regexp_split_to_table(pg_read_file(:'fixture_record'), '\n') l
         WHERE l <> '' ORDER BY (l::jsonb->>'seq')::int DESC LIMIT 1) x;

\echo '--- globex has not opted in: refused before anything is sent (PV604)'
\set ON_ERROR_STOP 0
BEGIN;
SELECT privacy.set_context('globex', 'user-2', '{}', 'EU');
SELECT privacy.provider_call('summariser', :'request');
ROLLBACK;
\echo '--- initech has opted in, but is in the EU and does not allow transfer: refused (PV605)'
BEGIN;
SELECT privacy.set_context('initech', 'user-3', '{}', 'EU');
SELECT privacy.provider_call('summariser', :'request');
ROLLBACK;
\echo '--- a BLOCK rule (a project code name) refuses the call (PV607)'
INSERT INTO privacy.rules (name, entity_type, pattern, action) VALUES ('provider_codename', 'CODENAME', 'ZEPHYR-[0-9]{4}', 'BLOCK');
BEGIN;
SELECT privacy.set_context('acme', 'user-1', '{}', 'US');
SELECT privacy.provider_call('summariser', '{"messages": [{"role": "user", "content": "status of ZEPHYR-2291?"}]}');
ROLLBACK;
\set ON_ERROR_STOP 1
DELETE FROM privacy.rules WHERE name = 'provider_codename';

\echo '--- several requests at once, in order, one error object per failure'
BEGIN;
SELECT privacy.set_context('acme', 'user-1', '{}', 'US');
SELECT ord, coalesce(r->>'content', r->'error'->>'sqlstate' || ' ' || (r->'error'->>'message')) AS result
  FROM unnest(privacy.provider_call_many('summariser', ARRAY[
         '{"messages": [{"role": "user", "content": "first"}]}',
         '{"messages": "not a list"}',
         '{"messages": [{"role": "user", "content": "third"}, {"role": "user", "content": "more"}]}']::jsonb[]))
       WITH ORDINALITY AS u(r, ord);
COMMIT;
