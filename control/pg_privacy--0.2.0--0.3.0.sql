-- pg_privacy 0.2.0 -> 0.3.0: tenancy (verified context, signing keys, row-level security).
\echo Use "ALTER EXTENSION pg_privacy UPDATE TO '0.3.0'" to load this file. \quit

-- Tenancy: signing keys, the verified context, and generated row-level-security policies.

-- The role whose members may set a context they authenticated themselves (trusted middleware).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'privacy_middleware') THEN
    CREATE ROLE privacy_middleware NOLOGIN;
  END IF;
END $$;

CREATE TABLE privacy.signing_keys (
  kid          text PRIMARY KEY CHECK (length(kid) BETWEEN 1 AND 200),
  alg          text NOT NULL CHECK (alg IN ('HS256', 'RS256', 'ES256')),
  key_material text NOT NULL,
  not_before   timestamptz,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE privacy.signing_keys IS
  'keys that verify privacy.authenticate() tokens; readable by the extension owner only';
REVOKE ALL ON privacy.signing_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.signing_keys', '');
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();

CREATE FUNCTION privacy._validate_signing_key(alg text, key text) RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_validate_signing_key' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION privacy._validate_signing_key(text, text) FROM PUBLIC;

CREATE FUNCTION privacy.add_signing_key(kid text, alg text, key text,
    not_before timestamptz DEFAULT NULL, expires_at timestamptz DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM privacy._validate_signing_key(alg, key);
  INSERT INTO privacy.signing_keys (kid, alg, key_material, not_before, expires_at)
       VALUES (add_signing_key.kid, add_signing_key.alg, add_signing_key.key,
               add_signing_key.not_before, add_signing_key.expires_at);
END $$;
REVOKE ALL ON FUNCTION privacy.add_signing_key(text, text, text, timestamptz, timestamptz) FROM PUBLIC;

CREATE FUNCTION privacy.revoke_signing_key(kid text) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE privacy.signing_keys k SET revoked_at = coalesce(k.revoked_at, now())
   WHERE k.kid = revoke_signing_key.kid;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'signing key not found' USING ERRCODE = 'PV203',
      HINT = 'List the keys with SELECT kid FROM privacy.signing_keys.';
  END IF;
END $$;
REVOKE ALL ON FUNCTION privacy.revoke_signing_key(text) FROM PUBLIC;

CREATE FUNCTION privacy.authenticate(token text, scope text DEFAULT 'transaction') RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_authenticate' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.authenticate(text, text) IS
  'verifies a signed token (JWT) and holds its tenant, subject, roles and region for the transaction (or session); returns the tenant';
CREATE FUNCTION privacy.set_context(tenant text, subject text, roles text[] DEFAULT '{}',
    region text DEFAULT NULL, scope text DEFAULT 'transaction') RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_set_context' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.set_context(text, text, text[], text, text) IS
  'trusted middleware only (members of privacy_middleware): sets a context authenticated elsewhere';
CREATE FUNCTION privacy.logout() RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_logout' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- PARALLEL RESTRICTED, not SAFE: the context lives in the leader's memory, which parallel
-- workers do not share; a restricted function keeps policy quals in the leader.
CREATE FUNCTION privacy.current_tenant() RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_current_tenant' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION privacy.current_subject() RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_current_subject' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION privacy.current_roles() RETURNS text[]
  AS 'MODULE_PATHNAME', 'pgp_current_roles' LANGUAGE C STABLE PARALLEL RESTRICTED;
CREATE FUNCTION privacy.current_region() RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_current_region' LANGUAGE C STABLE PARALLEL RESTRICTED;

CREATE TABLE privacy.protected_tables (
  table_name     regclass PRIMARY KEY,
  tenant_column  name NOT NULL,
  subject_column name,
  protected_at   timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('privacy.protected_tables', '');

-- The relations protect() covers: the table and, when partitioned, every partition (a query
-- on a partition directly is not checked against its parent's policies).
CREATE FUNCTION privacy._protect_targets(tbl regclass) RETURNS SETOF regclass
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT relid FROM pg_partition_tree(tbl) WHERE relid IS NOT NULL
  UNION SELECT tbl
$$;

CREATE FUNCTION privacy._drop_policies(t regclass) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE p name;
BEGIN
  FOR p IN SELECT polname FROM pg_policy WHERE polrelid = t
            AND polname IN ('privacy_tenant_guard', 'privacy_tenant_access') LOOP
    EXECUTE format('DROP POLICY %I ON %s', p, t);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy._drop_policies(regclass) FROM PUBLIC;

CREATE FUNCTION privacy.protect(tbl regclass, tenant_column name DEFAULT 'tenant_id',
    subject_column name DEFAULT NULL) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  t regclass;
  cond text;
  coltype oid;
BEGIN
  SELECT atttypid INTO coltype FROM pg_attribute
   WHERE attrelid = tbl AND attname = tenant_column AND attnum > 0 AND NOT attisdropped;
  IF coltype IS NULL THEN
    RAISE EXCEPTION 'column "%" of relation % does not exist', tenant_column, tbl
      USING ERRCODE = '42703', HINT = 'Name the tenant column: privacy.protect(tbl, ''org_id'').';
  END IF;
  IF subject_column IS NOT NULL AND NOT EXISTS (SELECT FROM pg_attribute
      WHERE attrelid = tbl AND attname = subject_column AND attnum > 0 AND NOT attisdropped) THEN
    RAISE EXCEPTION 'column "%" of relation % does not exist', subject_column, tbl USING ERRCODE = '42703';
  END IF;
  -- The context is cast to the column's type (not the column to text) so indexes on the
  -- tenant column stay usable.
  cond := format('%I = privacy.current_tenant()::%s', tenant_column, format_type(coltype, NULL));
  IF subject_column IS NOT NULL THEN
    SELECT atttypid INTO coltype FROM pg_attribute WHERE attrelid = tbl AND attname = subject_column;
    cond := cond || format(' AND %I = privacy.current_subject()::%s', subject_column, format_type(coltype, NULL));
  END IF;
  FOR t IN SELECT * FROM privacy._protect_targets(tbl) LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    PERFORM privacy._drop_policies(t);
    -- Restrictive: ANDed with every other policy, so no permissive policy of the user's can
    -- widen access beyond the verified tenant.
    EXECUTE format('CREATE POLICY privacy_tenant_guard ON %s AS RESTRICTIVE FOR ALL TO PUBLIC '
                   'USING (%s) WITH CHECK (%s)', t, cond, cond);
    -- Permissive: restrictive policies alone grant nothing. It carries the same condition, so
    -- that both depend on privacy.current_tenant(): DROP EXTENSION drops both and leaves the
    -- table closed (RLS on, no policy), never open.
    EXECUTE format('CREATE POLICY privacy_tenant_access ON %s AS PERMISSIVE FOR ALL TO PUBLIC '
                   'USING (%s) WITH CHECK (%s)', t, cond, cond);
  END LOOP;
  SELECT atttypid INTO coltype FROM pg_attribute WHERE attrelid = tbl AND attname = tenant_column;
  EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT privacy.current_tenant()::%s',
                 tbl, tenant_column, format_type(coltype, NULL));
  INSERT INTO privacy.protected_tables (table_name, tenant_column, subject_column)
       VALUES (tbl, tenant_column, subject_column)
  ON CONFLICT (table_name) DO UPDATE
     SET tenant_column = EXCLUDED.tenant_column, subject_column = EXCLUDED.subject_column,
         protected_at = now();
END $$;
COMMENT ON FUNCTION privacy.protect(regclass, name, name) IS
  'forces row-level security so rows are visible and writable only in their verified tenant (and subject)';

CREATE FUNCTION privacy.unprotect(tbl regclass) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  t regclass;
  col name;
BEGIN
  SELECT tenant_column INTO col FROM privacy.protected_tables WHERE table_name = tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'relation % is not protected', tbl USING ERRCODE = '22023';
  END IF;
  FOR t IN SELECT * FROM privacy._protect_targets(tbl) LOOP
    PERFORM privacy._drop_policies(t);
    EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', t);
  END LOOP;
  IF EXISTS (SELECT FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
              WHERE d.adrelid = tbl AND a.attname = col
                AND pg_get_expr(d.adbin, d.adrelid) LIKE '%privacy.current_tenant()%') THEN
    EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', tbl, col);
  END IF;
  DELETE FROM privacy.protected_tables WHERE table_name = tbl;
END $$;

CREATE VIEW privacy.protected AS
SELECT p.table_name, p.tenant_column, p.subject_column, p.protected_at,
       c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       (SELECT array_agg(pol.polname ORDER BY pol.polname) FROM pg_policy pol
         WHERE pol.polrelid = p.table_name) AS policies
  FROM privacy.protected_tables p JOIN pg_class c ON c.oid = p.table_name;

REVOKE ALL ON FUNCTION privacy.protect(regclass, name, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION privacy.unprotect(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION privacy.unprotect(regclass) FROM PUBLIC;

CREATE FUNCTION privacy.sign_token(payload jsonb, kid text, alg text, signing_key text) RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_sign_token' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION privacy.sign_token(jsonb, text, text, text) IS
  'signs a token (HS256 secret, or RS256/ES256 PEM private key): for tests, demos and in-database issuers';
REVOKE ALL ON FUNCTION privacy.sign_token(jsonb, text, text, text) FROM PUBLIC;

-- Finding statistics now count per tenant (NULL: no verified tenant).
DROP VIEW privacy.findings;
DROP FUNCTION privacy.finding_stats();
CREATE FUNCTION privacy.finding_stats(OUT tenant_id text, OUT entity_type text, OUT findings bigint,
    OUT since timestamptz)
  RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'pgp_finding_stats' LANGUAGE C VOLATILE STRICT;
CREATE VIEW privacy.findings AS SELECT * FROM privacy.finding_stats();
COMMENT ON VIEW privacy.findings IS 'findings per tenant and entity type since the last reset (all backends)';
GRANT SELECT ON privacy.findings TO PUBLIC;
