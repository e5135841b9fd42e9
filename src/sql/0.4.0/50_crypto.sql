-- Encryption: per-tenant data keys wrapped under the master key (and, with privacy.keyring_dir,
-- a per-tenant secret kept outside the database), AES-256-GCM envelopes bound to the tenant,
-- pseudonyms, the encrypting trigger, rotation and crypto-shredding (docs/crypto.md).

-- One row per data key. wrapped IS NULL means the key was shredded. kind is core KeyKind:
-- 1 tenant data key (versioned), 2 subject key (version 1, named by subject_ref in envelopes,
-- found by subject_digest; its own secret file), 3 pseudonym key (never rotated).
-- secret_id: the key is wrapped under a key-encryption key that also needs the tenant's file
-- <secret_id>.key in privacy.keyring_dir, so that deleting the file shreds the key in every
-- backup too (NULL: the tenant's keys were created without a keyring directory).
CREATE TABLE privacy.tenant_keys (
  tenant_id       text NOT NULL,
  kind            smallint NOT NULL CHECK (kind IN (1, 2, 3)),
  subject_ref     text NOT NULL DEFAULT '',
  subject_digest  text CHECK (subject_digest ~ '^[0-9a-f]{64}$'),
  version         integer NOT NULL CHECK (version >= 1),
  wrapped         bytea,
  master_key_id   text,
  secret_id       text CHECK (secret_id ~ '^[0-9a-f]{32}$'),
  created_at      timestamptz NOT NULL DEFAULT now(),
  shredded_at     timestamptz,
  PRIMARY KEY (tenant_id, kind, subject_ref, version),
  CHECK ((wrapped IS NULL) = (shredded_at IS NOT NULL)),
  CHECK ((kind = 2) = (subject_ref <> '')),
  CHECK ((kind = 2) = (subject_digest IS NOT NULL))
);
-- A subject's key is found by the digest of its id (HMAC under the tenant's pseudonym key): no
-- row holds the subject id itself. One key per subject and tenant.
CREATE UNIQUE INDEX tenant_keys_subject ON privacy.tenant_keys (tenant_id, subject_digest) WHERE kind = 2;
COMMENT ON TABLE privacy.tenant_keys IS
  'data keys wrapped under the master key (NULL = shredded); readable by the extension owner only';
REVOKE ALL ON privacy.tenant_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.tenant_keys', '');
-- Every change invalidates the unwrapped keys cached by every backend (relcache invalidation).
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.tenant_keys
  FOR EACH STATEMENT EXECUTE FUNCTION privacy._config_changed();

-- How many subject keys each tenant has created: privacy.encrypt(value, subject) refuses a new
-- one past privacy.max_subject_keys (PV710). Incremented in the transaction that creates the
-- key, so a rolled-back creation is not counted; the row lock makes the check exact.
CREATE TABLE privacy.subject_key_counts (
  tenant_id text PRIMARY KEY,
  created   bigint NOT NULL CHECK (created >= 0)
);
COMMENT ON TABLE privacy.subject_key_counts IS
  'subject keys created per tenant, for the privacy.max_subject_keys bound; readable by the extension owner only';
REVOKE ALL ON privacy.subject_key_counts FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('privacy.subject_key_counts', '');

CREATE FUNCTION privacy.encrypt(plaintext text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'pgp_encrypt_text' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.encrypt(text) IS
  'AES-256-GCM envelope under the verified tenant''s newest data key, the tenant bound as associated data';
CREATE FUNCTION privacy.encrypt(plaintext text, subject text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'pgp_encrypt_subject' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.encrypt(text, text) IS
  'AES-256-GCM envelope under the subject''s own key in the verified tenant (created on first use): privacy.erase_subject() shreds it';
CREATE FUNCTION privacy.decrypt(envelope bytea) RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_decrypt_text' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy.decrypt(bytea) IS
  'opens an envelope of the verified tenant: PV703 if it is not theirs or was changed, PV704 if its key was shredded';
CREATE FUNCTION privacy.decrypt_bytea(envelope bytea) RETURNS bytea
  AS 'MODULE_PATHNAME', 'pgp_decrypt_bytea' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION privacy.decrypt_bytea(bytea) IS
  'privacy.decrypt() for binary plaintext (columns encrypted by privacy.encrypt_trigger)';
CREATE FUNCTION privacy.pseudonymize(value text, domain text) RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_pseudonymize' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.pseudonymize(text, text) IS
  'deterministic keyed pseudonym (64 hex digits) of a value, per verified tenant and domain';
CREATE FUNCTION privacy.encrypt_trigger() RETURNS trigger
  AS 'MODULE_PATHNAME', 'pgp_encrypt_trigger' LANGUAGE C;
COMMENT ON FUNCTION privacy.encrypt_trigger() IS
  'BEFORE INSERT OR UPDATE FOR EACH ROW: encrypts the named bytea columns for the verified tenant, keeps its own envelopes';

-- Administration: EXECUTE revoked from PUBLIC; rotate_master_key also checks for a superuser.
CREATE FUNCTION privacy.master_key_id() RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_master_key_id' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.master_key_id() IS
  '16 hex digits naming the configured master key without revealing it';
REVOKE ALL ON FUNCTION privacy.master_key_id() FROM PUBLIC;
CREATE FUNCTION privacy.rotate_tenant_key(tenant text) RETURNS integer
  AS 'MODULE_PATHNAME', 'pgp_rotate_tenant_key' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.rotate_tenant_key(text) IS
  'adds a new version of the tenant''s data key (new values use it; old values stay readable); returns the version';
REVOKE ALL ON FUNCTION privacy.rotate_tenant_key(text) FROM PUBLIC;
-- Every wrapped secret of every database of the cluster that has pg_privacy, one background
-- worker per database, a batch of keys per transaction (src/pg/crypto_rotate.cpp).
CREATE FUNCTION privacy.rotate_master_key(old_keyring_file text, batch_size integer DEFAULT 1000,
    OUT database name, OUT secret text, OUT rewrapped bigint, OUT already_current bigint, OUT unreadable bigint,
    OUT outcome text, OUT error text)
  RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'pgp_rotate_master_key' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION privacy.rotate_master_key(text, integer) IS
  'superuser: re-wraps every tenant, subject and pseudonym key and every provider API key, in every database with pg_privacy, from the master key in old_keyring_file to the configured one; resumable; one row per database and kind of secret';
REVOKE ALL ON FUNCTION privacy.rotate_master_key(text, integer) FROM PUBLIC;
CREATE FUNCTION privacy._rewrap_batch(old_keyring_file text, after_tenant text, after_kind smallint,
    after_ref text, after_version integer, batch integer,
    OUT tenant_id text, OUT kind smallint, OUT subject_ref text, OUT version integer,
    OUT data_rewrapped bigint, OUT data_current bigint, OUT data_unreadable bigint,
    OUT subject_rewrapped bigint, OUT subject_current bigint, OUT subject_unreadable bigint,
    OUT pseudonym_rewrapped bigint, OUT pseudonym_current bigint, OUT pseudonym_unreadable bigint)
  AS 'MODULE_PATHNAME', 'pgp_rewrap_batch' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._rewrap_batch(text, text, smallint, text, integer, integer) FROM PUBLIC;
CREATE FUNCTION privacy._rewrap_provider_keys(old_keyring_file text,
    OUT rewrapped bigint, OUT already_current bigint, OUT unreadable bigint)
  AS 'MODULE_PATHNAME', 'pgp_rewrap_provider_keys' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._rewrap_provider_keys(text) FROM PUBLIC;

CREATE FUNCTION privacy._shred_subject_key(tenant text, subject text) RETURNS bigint
  AS 'MODULE_PATHNAME', 'pgp_shred_subject_key' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._shred_subject_key(text, text) FROM PUBLIC;
CREATE FUNCTION privacy._export_bytea(value bytea, tenant text, subject text) RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_export_bytea' LANGUAGE C STABLE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._export_bytea(bytea, text, text) FROM PUBLIC;

CREATE FUNCTION privacy._shred_tenant_keys(tenant text) RETURNS bigint
  AS 'MODULE_PATHNAME', 'pgp_shred_tenant_keys' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION privacy._shred_tenant_keys(text) FROM PUBLIC;

-- The one place that records a crypto event in the audit log, when the audit capability is
-- installed (built in parallel: the integrator adapts the call to its final signature).
CREATE FUNCTION privacy._crypto_audit(action text, tenant text, keys bigint) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM privacy._audit_record('crypto', upper(action), NULL,
                                jsonb_build_object('tenant_id', tenant, 'keys', keys));
END $$;
REVOKE ALL ON FUNCTION privacy._crypto_audit(text, text, bigint) FROM PUBLIC;

CREATE FUNCTION privacy.shred_tenant(tenant text) RETURNS bigint
  LANGUAGE plpgsql STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  n bigint;
BEGIN
  n := privacy._shred_tenant_keys(tenant);
  PERFORM privacy._crypto_audit('shred_tenant', tenant, n);
  RETURN n;
END $$;
COMMENT ON FUNCTION privacy.shred_tenant(text) IS
  'destroys every key of the tenant (all versions, pseudonym key included): its ciphertext becomes unreadable everywhere; returns the number of keys destroyed';
REVOKE ALL ON FUNCTION privacy.shred_tenant(text) FROM PUBLIC;

-- Key creation, rotation and shredding change privacy.tenant_keys: audited like every other
-- configuration table (names of changed columns, never the wrapped keys).
SELECT privacy._audit_config_table('privacy.tenant_keys');
