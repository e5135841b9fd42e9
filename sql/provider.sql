-- Provider registration: the SQL surface (register, replace, list without the key, validation).
-- The calls themselves run against the fixture in test/pgtap/60_provider.sql.
\set SHOW_CONTEXT never
SELECT privacy.register_provider('openai-eu', 'openai', 'https://api.example.test', 'gpt-4o-mini', 'EU',
                                 api_key => 'sk-regress-0123456789abcdefghij');
SELECT privacy.register_provider('claude', 'anthropic', 'https://anthropic.example.test', 'claude-3-5-haiku', 'US',
                                 api_key => 'sk-ant-regress-0123456789abcdef', timeout_ms => 30000,
                                 max_retries => 1, zero_data_retention => true);
SELECT privacy.register_provider('local', 'openai-compatible', 'http://127.0.0.1:8000/v1', 'llama-3.1-8b', 'EU');
SELECT name, dialect, base_url, model, region, connect_timeout_ms, timeout_ms, max_retries,
       zero_data_retention, enabled, has_api_key, master_key_id ~ '^[0-9a-f]{16}$' AS key_id_ok
  FROM privacy.provider_list ORDER BY name;
-- The stored key is wrapped: the clear key is nowhere in the row.
SELECT name, length(api_key_wrapped) > 31 AS wrapped,
       position(convert_to('sk-regress-0123456789abcdefghij', 'UTF8') IN api_key_wrapped) AS clear_at
  FROM privacy.providers WHERE name = 'openai-eu';
-- Registering again replaces the row (here: disabled, new model).
SELECT privacy.register_provider('local', 'openai-compatible', 'http://127.0.0.1:8000/v1', 'qwen2.5-7b', 'EU',
                                 enabled => false);
SELECT name, model, enabled FROM privacy.provider_list WHERE name = 'local';
-- Validation: PV608, never echoing the key.
\set VERBOSITY sqlstate
SELECT privacy.register_provider('x', 'gemini', 'https://x.test', 'm', 'EU', api_key => 'k');
\set VERBOSITY default
SELECT privacy.register_provider('x', 'gemini', 'https://x.test', 'm', 'EU', api_key => 'k');
SELECT privacy.register_provider('x', 'openai', 'ftp://x.test', 'm', 'EU', api_key => 'k');
SELECT privacy.register_provider('x', 'openai', 'https://x.test', 'm', 'EU');
SELECT privacy.register_provider('x', 'anthropic', 'https://x.test', 'm', 'EU');
SELECT privacy.register_provider('x', 'openai', 'https://x.test', 'm', 'EU', api_key => 'sk-with space-secret');
SELECT privacy.register_provider('bad name', 'openai', 'https://x.test', 'm', 'EU', api_key => 'k');
SELECT privacy.register_provider('x', 'openai', 'https://x.test', 'm', NULL, api_key => 'k');
SELECT privacy.register_provider('x', 'openai', 'https://x.test', 'm', 'EU', api_key => 'k', timeout_ms => 0);
SELECT privacy.register_provider('x', 'openai', 'https://x.test', 'm', 'EU', api_key => 'k', api_key_file => '/nonexistent');
SELECT privacy.register_provider('x', 'openai', 'https://x.test', 'm', 'EU', api_key_file => '/nonexistent');
SELECT count(*) AS x_rows FROM privacy.providers WHERE name = 'x';
-- A call needs a verified tenant context (fail closed).
SELECT privacy.provider_call('openai-eu', '{"messages": [{"role": "user", "content": "hi"}]}');
-- Settings.
SHOW privacy.provider_rpm_subject;
SHOW privacy.provider_burst_tenant;
SHOW privacy.provider_max_concurrency;
SHOW privacy.provider_redact_responses;
SHOW privacy.provider_max_response_size;
SELECT privacy.unregister_provider('local'), privacy.unregister_provider('local');
SELECT name FROM privacy.provider_list ORDER BY name;
DELETE FROM privacy.providers;
