-- Provider call: the registered model providers (API keys wrapped under the master key), per-tenant
-- rate-limit overrides, and privacy.provider_call / provider_call_many (src/pg/provider_fn.cpp).

CREATE TABLE privacy.providers (
  name                text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,63}$'),
  dialect             text NOT NULL CHECK (dialect IN ('openai', 'anthropic', 'openai-compatible')),
  base_url            text NOT NULL CHECK (base_url ~ '^https?://[^[:space:]]+$'),
  model               text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
  -- Other models a request may name ("model"); any other is refused (PV601).
  allowed_models      text[] NOT NULL DEFAULT '{}'
                      CHECK (array_position(allowed_models, NULL) IS NULL AND cardinality(allowed_models) <= 64),
  region              text NOT NULL CHECK (length(region) BETWEEN 1 AND 100),
  connect_timeout_ms  integer NOT NULL DEFAULT 5000 CHECK (connect_timeout_ms BETWEEN 1 AND 600000),
  timeout_ms          integer NOT NULL DEFAULT 60000 CHECK (timeout_ms BETWEEN 1 AND 3600000),
  max_retries         integer NOT NULL DEFAULT 2 CHECK (max_retries BETWEEN 0 AND 10),
  zero_data_retention boolean NOT NULL DEFAULT false,
  enabled             boolean NOT NULL DEFAULT true,
  -- AES-256-GCM under the master key (docs/crypto-format.md), bound to the provider's name;
  -- NULL for self-hosted servers that need no key.
  api_key_wrapped     bytea,
  master_key_id       text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((api_key_wrapped IS NULL) = (master_key_id IS NULL))
);
COMMENT ON TABLE privacy.providers IS
  'model providers for privacy.provider_call: dialect, URL, model, region, timeouts; the API key wrapped under the master key';
REVOKE ALL ON privacy.providers FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.providers', '');

-- For DBAs and monitoring: everything but the wrapped key.
CREATE VIEW privacy.provider_list AS
SELECT name, dialect, base_url, model, allowed_models, region, connect_timeout_ms, timeout_ms, max_retries,
       zero_data_retention, enabled, api_key_wrapped IS NOT NULL AS has_api_key, master_key_id,
       created_at
  FROM privacy.providers;
COMMENT ON VIEW privacy.provider_list IS 'registered providers without their API keys';
REVOKE ALL ON privacy.provider_list FROM PUBLIC;

-- Per-tenant overrides of privacy.provider_rpm_* and privacy.provider_burst_* (NULL: the setting).
CREATE TABLE privacy.provider_limits (
  tenant_id                  text PRIMARY KEY CHECK (length(tenant_id) BETWEEN 1 AND 200),
  requests_per_minute_subject integer CHECK (requests_per_minute_subject >= 0),
  requests_per_minute_tenant  integer CHECK (requests_per_minute_tenant >= 0),
  burst_subject               integer CHECK (burst_subject >= 1),
  burst_tenant                integer CHECK (burst_tenant >= 1)
);
COMMENT ON TABLE privacy.provider_limits IS
  'per-tenant provider rate limits (requests per minute and burst, per subject and per tenant); NULL uses the setting';
REVOKE ALL ON privacy.provider_limits FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.provider_limits', '');

-- Validates dialect, URL and key shape (PV608) and wraps the key; NULL key gives NULL.
CREATE FUNCTION privacy._provider_wrap_key(name text, dialect text, base_url text, api_key text)
  RETURNS bytea AS 'MODULE_PATHNAME', 'pgp_provider_wrap_key' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._provider_wrap_key(text, text, text, text) FROM PUBLIC;
CREATE FUNCTION privacy._provider_master_key_id() RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_provider_master_key_id' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._provider_master_key_id() FROM PUBLIC;
-- Reads an API key from a file on the server (first line, trailing white space removed).
CREATE FUNCTION privacy._provider_read_key_file(path text) RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_provider_read_key_file' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION privacy._provider_read_key_file(text) FROM PUBLIC;

CREATE FUNCTION privacy.register_provider(name text, dialect text, base_url text, model text,
    region text, api_key text DEFAULT NULL, connect_timeout_ms integer DEFAULT 5000,
    timeout_ms integer DEFAULT 60000, max_retries integer DEFAULT 2,
    zero_data_retention boolean DEFAULT false, enabled boolean DEFAULT true,
    api_key_file text DEFAULT NULL, allowed_models text[] DEFAULT '{}') RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  key text := register_provider.api_key;
  wrapped bytea;
BEGIN
  IF register_provider.name IS NULL OR register_provider.name !~ '^[A-Za-z0-9_.:-]{1,63}$' THEN
    RAISE EXCEPTION 'invalid provider name'
      USING ERRCODE = 'PV608', HINT = 'A name has 1 to 63 letters, digits, "_", ".", ":" or "-".';
  END IF;
  IF register_provider.model IS NULL OR length(register_provider.model) NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'invalid provider model' USING ERRCODE = 'PV608';
  END IF;
  IF register_provider.allowed_models IS NULL OR array_position(register_provider.allowed_models, NULL) IS NOT NULL
     OR cardinality(register_provider.allowed_models) > 64
     OR EXISTS (SELECT FROM unnest(register_provider.allowed_models) m WHERE length(m) NOT BETWEEN 1 AND 200) THEN
    RAISE EXCEPTION 'invalid allowed models'
      USING ERRCODE = 'PV608', HINT = 'allowed_models lists at most 64 model names of 1 to 200 characters.';
  END IF;
  IF register_provider.region IS NULL OR length(register_provider.region) NOT BETWEEN 1 AND 100 THEN
    RAISE EXCEPTION 'invalid provider region'
      USING ERRCODE = 'PV608', HINT = 'Name the region the provider processes data in, such as US or EU.';
  END IF;
  IF coalesce(connect_timeout_ms NOT BETWEEN 1 AND 600000, true)
     OR coalesce(timeout_ms NOT BETWEEN 1 AND 3600000, true)
     OR coalesce(max_retries NOT BETWEEN 0 AND 10, true) THEN
    RAISE EXCEPTION 'invalid provider timeouts or retries'
      USING ERRCODE = 'PV608',
            HINT = 'connect_timeout_ms is 1 to 600000, timeout_ms 1 to 3600000, max_retries 0 to 10.';
  END IF;
  IF key IS NOT NULL AND api_key_file IS NOT NULL THEN
    RAISE EXCEPTION 'give the API key or the API key file, not both' USING ERRCODE = 'PV608';
  END IF;
  IF api_key_file IS NOT NULL THEN
    key := privacy._provider_read_key_file(api_key_file);
  END IF;
  wrapped := privacy._provider_wrap_key(register_provider.name, register_provider.dialect,
                                        register_provider.base_url, key);
  key := NULL;
  INSERT INTO privacy.providers AS p (name, dialect, base_url, model, allowed_models, region, connect_timeout_ms,
         timeout_ms, max_retries, zero_data_retention, enabled, api_key_wrapped, master_key_id)
  VALUES (register_provider.name, register_provider.dialect, register_provider.base_url,
          register_provider.model, register_provider.allowed_models, register_provider.region,
          register_provider.connect_timeout_ms,
          register_provider.timeout_ms, register_provider.max_retries,
          coalesce(register_provider.zero_data_retention, false),
          coalesce(register_provider.enabled, true), wrapped,
          CASE WHEN wrapped IS NOT NULL THEN privacy._provider_master_key_id() END)
  ON CONFLICT ON CONSTRAINT providers_pkey DO UPDATE
     SET dialect = EXCLUDED.dialect, base_url = EXCLUDED.base_url, model = EXCLUDED.model,
         allowed_models = EXCLUDED.allowed_models,
         region = EXCLUDED.region, connect_timeout_ms = EXCLUDED.connect_timeout_ms,
         timeout_ms = EXCLUDED.timeout_ms, max_retries = EXCLUDED.max_retries,
         zero_data_retention = EXCLUDED.zero_data_retention, enabled = EXCLUDED.enabled,
         api_key_wrapped = EXCLUDED.api_key_wrapped, master_key_id = EXCLUDED.master_key_id;
END $$;
COMMENT ON FUNCTION privacy.register_provider(text, text, text, text, text, text, integer, integer,
    integer, boolean, boolean, text, text[]) IS
  'registers (or replaces) a model provider; the API key is wrapped under the master key and never stored in clear';
REVOKE ALL ON FUNCTION privacy.register_provider(text, text, text, text, text, text, integer,
    integer, integer, boolean, boolean, text, text[]) FROM PUBLIC;

CREATE FUNCTION privacy.unregister_provider(name text) RETURNS boolean
  LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  WITH d AS (DELETE FROM privacy.providers p WHERE p.name = unregister_provider.name RETURNING 1)
  SELECT count(*) > 0 FROM d
$$;
REVOKE ALL ON FUNCTION privacy.unregister_provider(text) FROM PUBLIC;

-- The calls. PUBLIC may execute them: the verified tenant context, its opt-in, region and rate
-- limits decide, read as the extension's owner.
CREATE FUNCTION privacy.provider_call(provider text, request jsonb) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'pgp_provider_call' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.provider_call(text, jsonb) IS
  'calls a model provider with an OpenAI-shaped chat request: opt-in, region, rate limit, redaction, audit';
CREATE FUNCTION privacy.provider_call_many(provider text, requests jsonb[]) RETURNS jsonb[]
  AS 'MODULE_PATHNAME', 'pgp_provider_call_many' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.provider_call_many(text, jsonb[]) IS
  'runs chat requests concurrently (at most privacy.provider_max_concurrency); results in order, an error object per failed request';

-- Rate-limit buckets in shared memory, for monitoring and tests.
CREATE FUNCTION privacy.provider_reset_limits() RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_provider_reset_limits' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy.provider_reset_limits() FROM PUBLIC;

-- Changes to providers and their limits are audited like every other configuration table:
-- names of changed columns, never values (so never the wrapped key).
SELECT privacy._audit_config_table('privacy.providers');
SELECT privacy._audit_config_table('privacy.provider_limits');
