-- Provider call against the loopback fixture (scripts/test.sh starts it and exports
-- PGP_FIXTURE_URL and PGP_FIXTURE_RECORD): every step of privacy.provider_call in order (opt-in,
-- region, rate limit, redaction and BLOCK, HTTP with retries, timeouts and size cap, parsing),
-- both dialects, provider_call_many, what reached the fixture, and who may read the keys.
\set ON_ERROR_STOP 1
\set QUIET 1
\getenv url PGP_FIXTURE_URL
\getenv record PGP_FIXTURE_RECORD
\set key_eu 'sk-pvsuite-eu-0123456789abcdefghijKLMN'
\set key_an 'sk-ant-pvsuite-0123456789abcdefghijKLMN'
\set planted_email 'planted.person@example.org'
\set planted_card '4111 1111 1111 1111'
\set planted_key 'sk-proj-PLANTEDsecret0123456789abcdefXYZ'

-- Setup, as superuser.
DELETE FROM privacy.providers WHERE name LIKE 'pvs_%';
DELETE FROM privacy.tenants WHERE tenant_id LIKE 'pvs_%';
DELETE FROM privacy.provider_limits WHERE tenant_id LIKE 'pvs_%';
DELETE FROM privacy.rules WHERE name = 'pvs_codename';
SELECT privacy.provider_reset_limits();
SELECT privacy.register_provider('pvs_eu', 'openai', :'url', 'gpt-suite', 'EU', api_key => :'key_eu');
SELECT privacy.register_provider('pvs_us', 'openai', :'url', 'gpt-suite', 'US', api_key => :'key_eu');
SELECT privacy.register_provider('pvs_anth', 'anthropic', :'url', 'claude-suite', 'EU', api_key => :'key_an');
SELECT privacy.register_provider('pvs_local', 'openai-compatible', :'url' || '/v1', 'llama-suite', 'EU');
SELECT privacy.register_provider('pvs_retry', 'openai', :'url', 'gpt-suite', 'EU', api_key => :'key_eu',
                                 timeout_ms => 20000, max_retries => 2);
SELECT privacy.register_provider('pvs_hang', 'openai', :'url', 'gpt-suite', 'EU', api_key => :'key_eu',
                                 timeout_ms => 400, max_retries => 0);
SELECT privacy.register_provider('pvs_off', 'openai', :'url', 'gpt-suite', 'EU', api_key => :'key_eu',
                                 enabled => false);
INSERT INTO privacy.tenants (tenant_id, region, ai_opt_in, allow_region_transfer) VALUES
  ('pvs_acme', 'EU', true, false), ('pvs_globex', 'EU', false, false),
  ('pvs_initech', 'US', true, false), ('pvs_umbrella', 'US', true, true),
  ('pvs_limited', 'EU', true, false);
INSERT INTO privacy.provider_limits (tenant_id, requests_per_minute_subject, burst_subject)
  VALUES ('pvs_limited', 1, 2);
INSERT INTO privacy.rules (name, entity_type, pattern, action)
  VALUES ('pvs_codename', 'CODENAME', 'ZEPHYR-[0-9]{4}', 'BLOCK');
DROP ROLE IF EXISTS pvs_app;
CREATE ROLE pvs_app;
GRANT privacy_middleware TO pvs_app;
SET privacy.provider_max_response_size = '64kB';

-- Helpers: the SQLSTATE and hint of a failing statement; the fixture's control endpoint.
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; h text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, h = PG_EXCEPTION_HINT;
  RETURN st || ': ' || coalesce(h, '');
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.err(text) TO pvs_app;
CREATE FUNCTION pg_temp.records() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM regexp_split_to_table(pg_read_file(current_setting('pvs.record')), '\n') l WHERE l <> ''
$$;
SELECT set_config('pvs.record', :'record', false) IS NOT NULL AS record_set;
\set msg '{"messages": [{"role": "user", "content": "hello"}]}'

SELECT no_plan();

-- Keys: wrapped, never readable by the application.
SELECT ok((SELECT api_key_wrapped IS NOT NULL AND position(convert_to(:'key_eu', 'UTF8') IN api_key_wrapped) = 0
             FROM privacy.providers WHERE name = 'pvs_eu'),
          'the API key is stored wrapped, not in clear');
SELECT is((SELECT has_api_key FROM privacy.provider_list WHERE name = 'pvs_local'), false,
          'a self-hosted provider needs no key');
SELECT ok(NOT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = 'privacy'
                        AND table_name = 'provider_list' AND column_name = 'api_key_wrapped'),
          'privacy.provider_list has no key column');
SET ROLE pvs_app;
SELECT throws_ok('SELECT api_key_wrapped FROM privacy.providers', '42501', NULL,
                 'the application role cannot read privacy.providers.api_key_wrapped');
SELECT throws_ok('SELECT * FROM privacy.provider_list', '42501', NULL,
                 'the application role cannot read privacy.provider_list');
SELECT throws_ok($$SELECT privacy.register_provider('pvs_x', 'openai', 'http://x', 'm', 'EU', 'k')$$,
                 '42501', NULL, 'the application role cannot register providers');

-- Step 1: a verified tenant that has opted in.
SELECT is(pg_temp.err($$SELECT privacy.provider_call('pvs_eu', '$$ || :'msg' || $$')$$),
          'PV604: Call privacy.authenticate() (or privacy.set_context()) in the transaction first.',
          'no verified context: PV604');
SELECT privacy.set_context('pvs_globex', 'g1', '{}', 'EU', 'session');
SELECT is(left(pg_temp.err($$SELECT privacy.provider_call('pvs_eu', '$$ || :'msg' || $$')$$), 5), 'PV604',
          'a tenant that has not opted in: PV604');

-- Unknown, disabled provider; invalid request.
SELECT privacy.set_context('pvs_acme', 'u1', '{}', 'EU', 'session');
SELECT throws_ok($$SELECT privacy.provider_call('pvs_nope', '{"messages": []}')$$, 'PV602', NULL, 'unknown provider: PV602');
SELECT throws_ok($$SELECT privacy.provider_call('pvs_off', '{"messages": []}')$$, 'PV603', NULL, 'disabled provider: PV603');
SELECT throws_ok($$SELECT privacy.provider_call('pvs_eu', '{"messages": [], "tools": []}')$$, 'PV601', NULL,
                 'a request that is not the OpenAI chat shape: PV601');

-- Step 2: region.
SELECT throws_ok($$SELECT privacy.provider_call('pvs_us', '{"messages": [{"role": "user", "content": "hi"}]}')$$,
                 'PV605', NULL, 'an EU tenant cannot call a US provider: PV605');
SELECT privacy.set_context('pvs_initech', 'i1', '{}', 'US', 'session');
SELECT throws_ok($$SELECT privacy.provider_call('pvs_eu', '{"messages": [{"role": "user", "content": "hi"}]}')$$,
                 'PV605', NULL, 'a US tenant without transfer cannot call an EU provider: PV605');
SELECT privacy.set_context('pvs_umbrella', 'x1', '{}', 'US', 'session');
SELECT is(privacy.provider_call('pvs_eu', :'msg')->>'content', 'summary of 1 messages',
          'a US tenant that allows transfer may call an EU provider');

-- Step 4 and both dialects: the answer is normalized, counted findings are reported.
SELECT privacy.set_context('pvs_acme', 'u1', '{}', 'EU', 'session');
SELECT privacy.provider_call('pvs_eu', jsonb_build_object('messages', jsonb_build_array(
         jsonb_build_object('role', 'system', 'content', 'Summarise the conversation.'),
         jsonb_build_object('role', 'user', 'content',
           'Mail me at ' || :'planted_email' || ', card ' || :'planted_card' || ', my key is ' || :'planted_key'))))
  AS answer \gset
SELECT is((:'answer'::jsonb)->>'content', 'summary of 2 messages', 'openai dialect: the content');
SELECT is((:'answer'::jsonb)->>'finish_reason', 'stop', 'openai dialect: the finish reason');
SELECT is((:'answer'::jsonb)->>'provider', 'pvs_eu', 'the answer names the provider');
SELECT is((:'answer'::jsonb)->>'model', 'gpt-suite', 'the answer names the model');
SELECT ok(((:'answer'::jsonb)->'usage'->>'total_tokens')::int > 0, 'the answer has token usage');
SELECT is((:'answer'::jsonb)->'redactions'->>'EMAIL', '1', 'the email was redacted once');
SELECT is((:'answer'::jsonb)->'redactions'->>'CREDIT_CARD', '1', 'the card was redacted once');
SELECT ok((SELECT count(*) FROM jsonb_object_keys((:'answer'::jsonb)->'redactions')) >= 3,
          'the planted API key was counted as well');
SELECT privacy.provider_call('pvs_anth', '{"messages": [{"role": "system", "content": "Be brief."},
  {"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}, {"role": "user", "content": "sum up"}]}')
  AS anth \gset
SELECT is((:'anth'::jsonb)->>'content', 'summary of 3 messages', 'anthropic dialect: system moved out, 3 messages sent');
SELECT is((:'anth'::jsonb)->>'finish_reason', 'stop', 'anthropic dialect: end_turn becomes stop');
SELECT is(privacy.provider_call('pvs_local', :'msg')->>'content', 'summary of 1 messages',
          'openai-compatible dialect without a key (a self-hosted server)');

-- BLOCK refuses the call, and nothing is sent.
RESET ROLE;
SELECT pg_temp.records() AS before_block \gset
SET ROLE pvs_app;
SELECT throws_ok($$SELECT privacy.provider_call('pvs_eu', '{"messages": [{"role": "user", "content": "project ZEPHYR-1234 plans"}]}')$$,
                 'PV607', NULL, 'a BLOCK finding refuses the call: PV607');
RESET ROLE;
SELECT is(pg_temp.records(), :before_block::bigint, 'a blocked request never reaches the provider');

-- What reached the fixture: no planted value, no API key; the redacted text and the keys' hashes.
SELECT ok(strpos(pg_read_file(:'record'), :'planted_email') = 0, 'the fixture never received the planted email');
SELECT ok(strpos(pg_read_file(:'record'), :'planted_card') = 0
          AND strpos(pg_read_file(:'record'), replace(:'planted_card', ' ', '')) = 0,
          'the fixture never received the planted card number');
SELECT ok(strpos(pg_read_file(:'record'), :'planted_key') = 0, 'the fixture never received the planted API key');
SELECT ok(strpos(pg_read_file(:'record'), :'key_eu') = 0 AND strpos(pg_read_file(:'record'), :'key_an') = 0,
          'the fixture record holds no registered API key');
SELECT ok(strpos(pg_read_file(:'record'), '[EMAIL_REDACTED]') > 0, 'the fixture received the placeholder');
SELECT ok(strpos(pg_read_file(:'record'), encode(sha256(convert_to(:'key_eu', 'UTF8')), 'hex')) > 0,
          'the openai key arrived (its hash is recorded)');
SELECT ok(strpos(pg_read_file(:'record'), encode(sha256(convert_to(:'key_an', 'UTF8')), 'hex')) > 0,
          'the anthropic key arrived as x-api-key (its hash is recorded)');

-- Step 3: rate limit (burst 2 for the subject of pvs_limited).
SET ROLE pvs_app;
SELECT privacy.set_context('pvs_limited', 'r1', '{}', 'EU', 'session');
SELECT lives_ok($$SELECT privacy.provider_call('pvs_eu', '{"messages": [{"role": "user", "content": "1"}]}')$$, 'first call within the burst');
SELECT lives_ok($$SELECT privacy.provider_call('pvs_eu', '{"messages": [{"role": "user", "content": "2"}]}')$$, 'second call within the burst');
SELECT matches(pg_temp.err($$SELECT privacy.provider_call('pvs_eu', '{"messages": [{"role": "user", "content": "3"}]}')$$),
               '^PV606: Retry after [0-9]+ ms\.$', 'over the burst: PV606 whose hint says when to retry');
SELECT privacy.set_context('pvs_limited', 'r2', '{}', 'EU', 'session');
SELECT lives_ok($$SELECT privacy.provider_call('pvs_eu', '{"messages": [{"role": "user", "content": "4"}]}')$$,
                'another subject of the same tenant has its own bucket');

-- Step 5: retries, status, malformed, endless and hung answers (modes queued on the fixture with
-- the curl CLI, which scripts/deps.sh installs; each control request is itself a test, so a
-- missing curl or a refused request fails here instead of passing silently).
SELECT privacy.set_context('pvs_acme', 'u2', '{}', 'EU', 'session');
RESET ROLE;
\set ctl 'curl did not run'
\set ctl `curl -fsS -X POST "$PGP_FIXTURE_URL/__reset" >/dev/null && echo accepted`
SELECT is(:'ctl'::text, 'accepted', 'the fixture accepted __reset');
\set ctl 'curl did not run'
\set ctl `curl -fsS -X POST "$PGP_FIXTURE_URL/__control" -d '{"mode": "status=429;retry-after=0", "count": 1}' >/dev/null && echo accepted`
SELECT is(:'ctl'::text, 'accepted', 'the fixture accepted __control {"mode": "status=429;retry-after=0", "count": 1}');
SELECT pg_temp.records() AS n0 \gset
SELECT is(privacy.provider_call('pvs_retry', :'msg')->>'content', 'summary of 1 messages', '429 then success: the call succeeds');
SELECT is(pg_temp.records() - :n0, 2::bigint, '429 then success: two attempts reached the provider');
\set ctl 'curl did not run'
\set ctl `curl -fsS -X POST "$PGP_FIXTURE_URL/__control" -d '{"mode": "status=500", "count": 3}' >/dev/null && echo accepted`
SELECT is(:'ctl'::text, 'accepted', 'the fixture accepted __control {"mode": "status=500", "count": 3}');
SELECT pg_temp.records() AS n0 \gset
SELECT throws_ok($$SELECT privacy.provider_call('pvs_retry', '{"messages": [{"role": "user", "content": "x"}]}')$$,
                 'PV614', NULL, '500 on every attempt: PV614');
SELECT is(pg_temp.records() - :n0, 3::bigint, '500: retried max_retries (2) times');
\set ctl 'curl did not run'
\set ctl `curl -fsS -X POST "$PGP_FIXTURE_URL/__control" -d '{"mode": "status=500", "count": 1}' >/dev/null && echo accepted`
SELECT is(:'ctl'::text, 'accepted', 'the fixture accepted __control {"mode": "status=500", "count": 1}');
SELECT is(privacy.provider_call('pvs_retry', :'msg')->>'content', 'summary of 1 messages', 'one 500, then success');
\set ctl 'curl did not run'
\set ctl `curl -fsS -X POST "$PGP_FIXTURE_URL/__control" -d '{"mode": "malformed", "count": 1}' >/dev/null && echo accepted`
SELECT is(:'ctl'::text, 'accepted', 'the fixture accepted __control {"mode": "malformed", "count": 1}');
SELECT throws_ok($$SELECT privacy.provider_call('pvs_eu', '{"messages": [{"role": "user", "content": "x"}]}')$$,
                 'PV615', NULL, 'malformed JSON answer: PV615');
\set ctl 'curl did not run'
\set ctl `curl -fsS -X POST "$PGP_FIXTURE_URL/__control" -d '{"mode": "endless", "count": 1}' >/dev/null && echo accepted`
SELECT is(:'ctl'::text, 'accepted', 'the fixture accepted __control {"mode": "endless", "count": 1}');
SELECT throws_ok($$SELECT privacy.provider_call('pvs_eu', '{"messages": [{"role": "user", "content": "x"}]}')$$,
                 'PV613', NULL, 'endless body over privacy.provider_max_response_size: PV613');
\set ctl 'curl did not run'
\set ctl `curl -fsS -X POST "$PGP_FIXTURE_URL/__control" -d '{"mode": "hang", "count": 1}' >/dev/null && echo accepted`
SELECT is(:'ctl'::text, 'accepted', 'the fixture accepted __control {"mode": "hang", "count": 1}');
SELECT clock_timestamp() AS t0 \gset
SELECT throws_ok($$SELECT privacy.provider_call('pvs_hang', '{"messages": [{"role": "user", "content": "x"}]}')$$,
                 'PV611', NULL, 'a hung provider is cut off by the provider timeout: PV611');
SELECT ok(clock_timestamp() - :'t0'::timestamptz BETWEEN interval '350 ms' AND interval '2 s',
          'the timeout (400 ms) is kept');

-- privacy.provider_call_many: in order, one error object per failed request.
SET ROLE pvs_app;
SELECT privacy.provider_call_many('pvs_eu', ARRAY[
  '{"messages": [{"role": "user", "content": "a"}]}',
  '{"messages": [{"role": "user", "content": "ZEPHYR-0001"}]}',
  '{"nope": true}',
  '{"messages": [{"role": "user", "content": "b"}, {"role": "user", "content": "c"}]}']::jsonb[]) AS many \gset
SELECT is(cardinality(:'many'::jsonb[]), 4, 'provider_call_many: one result per request');
SELECT is((:'many'::jsonb[])[1]->>'content', 'summary of 1 messages', 'provider_call_many: first result');
SELECT is((:'many'::jsonb[])[2]->'error'->>'sqlstate', 'PV607', 'provider_call_many: a blocked request is an error object');
SELECT is((:'many'::jsonb[])[3]->'error'->>'sqlstate', 'PV601', 'provider_call_many: an invalid request is an error object');
SELECT is((:'many'::jsonb[])[4]->>'content', 'summary of 2 messages', 'provider_call_many: results stay in order');
SELECT throws_ok($$SELECT privacy.provider_call_many('pvs_us', ARRAY['{}']::jsonb[])$$, 'PV605', NULL,
                 'provider_call_many checks the region too');

-- Answers redacted on request.
RESET ROLE;
SET privacy.provider_redact_responses = on;
SELECT is(privacy.provider_call('pvs_eu', :'msg')->>'content', 'summary of 1 messages',
          'privacy.provider_redact_responses leaves a clean answer as it is');
RESET privacy.provider_redact_responses;

SELECT privacy.logout();
SELECT * FROM finish();

-- Cleanup.
DELETE FROM privacy.providers WHERE name LIKE 'pvs_%';
DELETE FROM privacy.tenants WHERE tenant_id LIKE 'pvs_%';
DELETE FROM privacy.provider_limits WHERE tenant_id LIKE 'pvs_%';
DELETE FROM privacy.rules WHERE name = 'pvs_codename';
DROP FUNCTION pg_temp.err(text);
DROP ROLE pvs_app;
