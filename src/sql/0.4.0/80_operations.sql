-- Operations: what a DBA needs to run pg_privacy safely (docs/operations.md): the DROP EXTENSION
-- guard, and (below) the run history, progress, status, metrics and roles.

-- DROP EXTENSION pg_privacy (or DROP OWNED BY its owner) is refused while keys, wrapped provider
-- API keys or audit records exist, unless privacy.allow_drop_with_data is on (src/pg/drop_guard.cpp).
CREATE FUNCTION privacy._drop_guard() RETURNS event_trigger
  AS 'MODULE_PATHNAME', 'pgp_drop_guard' LANGUAGE C;
REVOKE ALL ON FUNCTION privacy._drop_guard() FROM PUBLIC;
CREATE EVENT TRIGGER privacy_drop_guard ON ddl_command_start
  WHEN TAG IN ('DROP EXTENSION', 'DROP OWNED') EXECUTE FUNCTION privacy._drop_guard();

-- History of the operations a DBA schedules or runs by hand: one row per run of the purge, the
-- audit sealer and purge, a subject's export or erasure, and the master-key rotation, with how
-- it ended and its counts (privacy.history reads it). History, not configuration: pg_dump does
-- not keep it. Written as the extension owner (src/pg/ops_history.cpp), so the roles that run
-- these operations need no privilege on it.
CREATE TABLE privacy.operation_runs (
  run_id        bigserial PRIMARY KEY,
  operation     text NOT NULL CHECK (operation IN ('purge', 'audit_seal', 'audit_purge', 'export_subject',
                                                   'erase_subject', 'rotate_master_key')),
  started_at    timestamptz NOT NULL,
  ended_at      timestamptz,
  status        text NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled', 'interrupted')),
  counts        jsonb NOT NULL DEFAULT '{}',
  error         text,
  pid           integer NOT NULL,
  backend_start timestamptz,
  role          name NOT NULL,
  source        text NOT NULL,
  UNIQUE (operation, pid, started_at)
);
CREATE INDEX operation_runs_running ON privacy.operation_runs (pid) WHERE status = 'running';
CREATE INDEX operation_runs_started ON privacy.operation_runs (started_at);
COMMENT ON TABLE privacy.operation_runs IS
  'run history of purge, audit_seal, audit_purge, export_subject, erase_subject and rotate_master_key (read privacy.history)';
REVOKE ALL ON privacy.operation_runs FROM PUBLIC;

-- Shared-memory readers (src/pg/ops_state.cpp).
CREATE FUNCTION privacy._progress_rows(OUT pid integer, OUT datid oid, OUT usesysid oid, OUT operation text,
    OUT phase text, OUT target text, OUT units_done bigint, OUT units_total bigint, OUT unit text,
    OUT started_at timestamptz, OUT run_id bigint) RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'pgp_ops_progress_rows' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._progress_rows() FROM PUBLIC;
CREATE FUNCTION privacy._outcomes(OUT operation text, OUT pid integer, OUT started_at timestamptz,
    OUT ended_at timestamptz, OUT status text, OUT error text, OUT role name, OUT source text,
    OUT run_id bigint, OUT backend_start timestamptz) RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'pgp_ops_outcomes' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._outcomes() FROM PUBLIC;
CREATE FUNCTION privacy._worker_rows(OUT database text, OUT pid integer, OUT state text,
    OUT round_started timestamptz, OUT round_ended timestamptz, OUT round_ok boolean,
    OUT rows_deleted bigint, OUT sealed bigint, OUT error text, OUT launcher_pid integer) RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'pgp_ops_worker_rows' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._worker_rows() FROM PUBLIC;
-- Whether the backend of that pid and start time still runs (whoever asks: no statistics privilege).
CREATE FUNCTION privacy._backend_alive(pid integer, backend_start timestamptz) RETURNS boolean
  AS 'MODULE_PATHNAME', 'pgp_ops_backend_alive' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION privacy._backend_alive(integer, timestamptz) FROM PUBLIC;
-- Progress reports from the SQL bodies of an operation (no-ops outside one).
CREATE FUNCTION privacy._progress(phase text, target text, done bigint, total bigint) RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_ops_progress' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._progress(text, text, bigint, bigint) FROM PUBLIC;
CREATE FUNCTION privacy._count(name text, n bigint) RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_ops_count' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._count(text, bigint) FROM PUBLIC;
CREATE FUNCTION privacy._count_of(name text) RETURNS bigint
  AS 'MODULE_PATHNAME', 'pgp_ops_count_of' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._count_of(text) FROM PUBLIC;
CREATE FUNCTION privacy._progress_purge(tbl regclass, tenant text, deleted bigint, dropped integer) RETURNS void
  AS 'MODULE_PATHNAME', 'pgp_ops_progress_purge' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._progress_purge(regclass, text, bigint, integer) FROM PUBLIC;

-- Brings the history up to date: the outcome of runs whose transaction failed (kept in shared
-- memory by the failing backend) is written, and runs left 'running' by a backend that is gone
-- (a crash, a kill, a restart) become 'interrupted', their purge passes too, each pass with its
-- retention audit record. Called when a run starts or ends; privacy.history shows the same
-- without writing.
CREATE FUNCTION privacy._history_flush() RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  pass privacy.purge_runs;
BEGIN
  INSERT INTO privacy.operation_runs AS r (operation, started_at, ended_at, status, error, pid, backend_start, role, source)
  SELECT o.operation, o.started_at, o.ended_at, o.status, o.error, o.pid, o.backend_start, o.role, o.source
    FROM privacy._outcomes() o WHERE o.run_id IS NULL
  ON CONFLICT (operation, pid, started_at) DO NOTHING;
  UPDATE privacy.operation_runs r SET status = o.status, ended_at = o.ended_at, error = o.error
    FROM privacy._outcomes() o WHERE o.run_id = r.run_id AND r.status = 'running';
  UPDATE privacy.operation_runs r SET status = 'interrupted', ended_at = clock_timestamp()
   WHERE r.status = 'running' AND NOT privacy._backend_alive(r.pid, r.backend_start);
  -- Purge passes of a run that is over, or of a purger that is gone (older versions' passes have
  -- no run): interrupted, and audited as every finished pass is.
  FOR pass IN
    UPDATE privacy.purge_runs p SET status = 'interrupted', ended_at = clock_timestamp()
     WHERE p.status = 'running'
       AND (EXISTS (SELECT FROM privacy.operation_runs r WHERE r.run_id = p.run AND r.status <> 'running')
            OR NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = p.pid AND a.backend_start <= p.started_at))
    RETURNING *
  LOOP
    PERFORM privacy._retention_audit(pass);
  END LOOP;
END $$;
REVOKE ALL ON FUNCTION privacy._history_flush() FROM PUBLIC;

-- A run starts ('running', for the operations that commit as they go) or is recorded whole
-- (the operations that run in the caller's transaction). Called as the owner from C.
CREATE FUNCTION privacy._run_start(op text, started timestamptz, backend_start timestamptz, src text,
    counts jsonb, who name) RETURNS bigint
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE id bigint;
BEGIN
  PERFORM privacy._history_flush();
  INSERT INTO privacy.operation_runs (operation, started_at, status, counts, pid, backend_start, role, source)
  VALUES (op, started, 'running', coalesce(counts, '{}'), pg_backend_pid(), backend_start, coalesce(who, session_user), src)
  RETURNING run_id INTO id;
  RETURN id;
END $$;
REVOKE ALL ON FUNCTION privacy._run_start(text, timestamptz, timestamptz, text, jsonb, name) FROM PUBLIC;

CREATE FUNCTION privacy._run_end(run bigint, st text, counts jsonb, err text) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE privacy.operation_runs r
     SET status = st, ended_at = clock_timestamp(), counts = r.counts || coalesce(_run_end.counts, '{}'), error = err
   WHERE r.run_id = run;
  -- History is kept for privacy.history_keep (the setting; default 90 days).
  DELETE FROM privacy.operation_runs
   WHERE started_at < now() - coalesce(current_setting('privacy.history_keep', true), '90 days')::interval
     AND status <> 'running';
  DELETE FROM privacy.purge_runs
   WHERE started_at < now() - coalesce(current_setting('privacy.history_keep', true), '90 days')::interval
     AND status <> 'running';
END $$;
REVOKE ALL ON FUNCTION privacy._run_end(bigint, text, jsonb, text) FROM PUBLIC;

CREATE FUNCTION privacy._run_record(op text, started timestamptz, backend_start timestamptz, src text,
    counts jsonb, who name) RETURNS bigint
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE id bigint;
BEGIN
  PERFORM privacy._history_flush();
  INSERT INTO privacy.operation_runs (operation, started_at, ended_at, status, counts, pid, backend_start, role, source)
  VALUES (op, started, clock_timestamp(), 'done', coalesce(counts, '{}'), pg_backend_pid(), backend_start,
          coalesce(who, session_user), src)
  RETURNING run_id INTO id;
  RETURN id;
END $$;
REVOKE ALL ON FUNCTION privacy._run_record(text, timestamptz, timestamptz, text, jsonb, name) FROM PUBLIC;

-- The purge's run: started after closing what earlier purges left open; finished with its
-- counts from its passes (privacy.purge_runs) and, unless it completed, its open passes closed
-- as interrupted (each with its retention audit record). Returns the NOTICE's text and the
-- number of failed passes.
CREATE FUNCTION privacy._purge_begin(only_table regclass, started timestamptz, backend_start timestamptz, src text,
    who name, OUT run bigint, OUT passes integer)
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  run := privacy._run_start('purge', started, backend_start, src,
                            CASE WHEN only_table IS NULL THEN '{}' ELSE jsonb_build_object('table', only_table::text) END,
                            who);
  passes := (SELECT count(*) FROM privacy._purge_passes(only_table));
END $$;
REVOKE ALL ON FUNCTION privacy._purge_begin(regclass, timestamptz, timestamptz, text, name) FROM PUBLIC;

CREATE FUNCTION privacy._purge_finish(purge bigint, st text, err text, OUT summary text, OUT failed bigint)
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  pass privacy.purge_runs;
  c jsonb;
BEGIN
  FOR pass IN UPDATE privacy.purge_runs p SET status = 'interrupted', ended_at = clock_timestamp()
                WHERE p.run = purge AND p.status = 'running' RETURNING * LOOP
    PERFORM privacy._retention_audit(pass);
  END LOOP;
  SELECT jsonb_build_object('rows_deleted', coalesce(sum(rows_deleted), 0),
                            'partitions_dropped', coalesce(sum(partitions_dropped), 0),
                            'tables', count(DISTINCT table_name),
                            'passes', count(*),
                            'passes_failed', count(*) FILTER (WHERE status = 'failed'),
                            'passes_interrupted', count(*) FILTER (WHERE status = 'interrupted'))
    INTO c FROM privacy.purge_runs WHERE run = purge;
  failed := (c->>'passes_failed')::bigint;
  PERFORM privacy._run_end(purge, CASE WHEN st = 'done' AND failed > 0 THEN 'failed' ELSE st END, c,
                           coalesce(err, CASE WHEN failed > 0 THEN failed || ' table pass(es) failed: see privacy.purge_runs' END));
  -- A worker's round with nothing to do leaves no row (one a naptime would drown the history);
  -- CALL privacy.purge() always does: someone asked for it.
  IF st = 'done' AND (c->>'passes')::int = 0
     AND (SELECT source FROM privacy.operation_runs WHERE run_id = purge) = 'worker' THEN
    DELETE FROM privacy.operation_runs WHERE run_id = purge;
  END IF;
  summary := format('%s rows deleted, %s partitions dropped in %s tables (%s passes with work, %s failed)',
                    c->>'rows_deleted', c->>'partitions_dropped', c->>'tables', c->>'passes',
                    c->>'passes_failed');
END $$;
REVOKE ALL ON FUNCTION privacy._purge_finish(bigint, text, text) FROM PUBLIC;

-- What ran, when, how it ended, and its counts: the place to read a pg_cron job's outcome. A run
-- whose backend is gone reads 'interrupted'; a failed run whose transaction rolled back shows
-- from shared memory until the next run writes it down (run_id is then set).
CREATE VIEW privacy.history AS
SELECT r.run_id, r.operation, r.started_at, r.ended_at,
       CASE WHEN o.status IS NOT NULL AND r.status = 'running' THEN o.status
            WHEN r.status = 'running' AND NOT privacy._backend_alive(r.pid, r.backend_start) THEN 'interrupted'
            ELSE r.status END AS status,
       coalesce(r.ended_at, o.ended_at, clock_timestamp()) - r.started_at AS duration,
       r.counts, coalesce(r.error, o.error) AS error, r.role, r.source, r.pid
  FROM privacy.operation_runs r LEFT JOIN privacy._outcomes() o ON o.run_id = r.run_id
UNION ALL
SELECT NULL, o.operation, o.started_at, o.ended_at, o.status, o.ended_at - o.started_at, '{}', o.error,
       o.role, o.source, o.pid
  FROM privacy._outcomes() o
 WHERE o.run_id IS NULL
   AND NOT EXISTS (SELECT FROM privacy.operation_runs r
                    WHERE r.operation = o.operation AND r.pid = o.pid AND r.started_at = o.started_at);
COMMENT ON VIEW privacy.history IS
  'how each purge, seal, audit purge, export, erasure and rotation ended, with its counts (newest: ORDER BY started_at DESC)';
REVOKE ALL ON privacy.history FROM PUBLIC;

-- Work in progress, in the style of pg_stat_progress_*: one row per backend running a purge, a
-- seal, an audit purge, an export, an erasure or a rotation (needs shared_preload_libraries).
CREATE VIEW privacy.progress AS
SELECT p.pid, p.datid, d.datname, p.operation, p.phase, p.target, p.units_done, p.units_total, p.unit,
       CASE WHEN p.units_total > 0 THEN round(100.0 * p.units_done / p.units_total, 1) END AS percent,
       p.started_at, clock_timestamp() - p.started_at AS elapsed, p.run_id, u.rolname AS role
  FROM privacy._progress_rows() p
  LEFT JOIN pg_database d ON d.oid = p.datid
  LEFT JOIN pg_roles u ON u.oid = p.usesysid;
COMMENT ON VIEW privacy.progress IS
  'purge, seal, export, erasure and rotation in progress, one row per backend (pg_stat_progress_* style)';
REVOKE ALL ON privacy.progress FROM PUBLIC;

-- The provider rate-limit buckets as monitoring sees them (src/pg/ops_status.cpp): a tenant's
-- bucket, or one of its subjects' (the subject id is never shown); pressure 0 idle .. 1 empty.
CREATE FUNCTION privacy._rate_limits(OUT tenant text, OUT scope text, OUT pressure double precision,
    OUT empty boolean, OUT refused bigint) RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'pgp_ops_rate_limits' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION privacy._rate_limits() FROM PUBLIC;
CREATE FUNCTION privacy._library_version() RETURNS text
  AS 'MODULE_PATHNAME', 'pgp_library_version' LANGUAGE C IMMUTABLE;
REVOKE ALL ON FUNCTION privacy._library_version() FROM PUBLIC;

-- The databases privacy.databases lists (names may be double-quoted).
CREATE FUNCTION privacy._worker_databases() RETURNS SETOF text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT DISTINCT btrim(btrim(d), '"') FROM unnest(string_to_array(current_setting('privacy.databases', true), ',')) d
   WHERE btrim(d) <> ''
$$;
REVOKE ALL ON FUNCTION privacy._worker_databases() FROM PUBLIC;

-- The rows of privacy.status. SECURITY DEFINER: it reads the key and audit tables and
-- superuser-only settings, and shows counts and states only (no key, no value, no subject).
CREATE FUNCTION privacy._status_rows(OUT area text, OUT item text, OUT status text, OUT value text, OUT detail text)
  RETURNS SETOF record
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
  lib text := privacy._library_version();
  sqlv text := (SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy');
  h record;
  w record;
  db text;
  n bigint;
  m bigint;
  t timestamptz;
  mk text;
  mk_error text;
  dir text := coalesce(current_setting('privacy.keyring_dir', true), '');
  live_keys bigint;
  busiest float8;
BEGIN
  RETURN QUERY SELECT 'version', 'pg_privacy', CASE WHEN lib = sqlv THEN 'ok' ELSE 'warning' END, lib,
    CASE WHEN lib = sqlv THEN 'library and SQL objects agree'
         ELSE format('the library is %s, the SQL objects %s: ALTER EXTENSION pg_privacy UPDATE', lib, sqlv) END;

  -- The background worker.
  IF NOT privacy.preloaded() THEN
    RETURN QUERY SELECT 'worker', 'launcher', 'warning', 'not preloaded',
      'pg_privacy is not in shared_preload_libraries: no background worker, progress or rate limits; schedule CALL privacy.purge() and SELECT privacy.audit_seal() with pg_cron';
  ELSE
    SELECT a.pid INTO n FROM pg_stat_activity a WHERE a.backend_type = 'pg_privacy retention launcher' LIMIT 1;
    RETURN QUERY SELECT 'worker', 'launcher', CASE WHEN n IS NULL THEN 'error' ELSE 'ok' END,
      CASE WHEN n IS NULL THEN 'not running' ELSE 'running' END,
      CASE WHEN n IS NULL THEN 'the launcher is not running: see the server log' ELSE 'pid ' || n END;
    FOR db IN SELECT * FROM privacy._worker_databases() ORDER BY 1 LOOP
      SELECT * INTO w FROM privacy._worker_rows() r WHERE r.database = db;
      SELECT a.pid INTO n FROM pg_stat_activity a
       WHERE a.backend_type = 'pg_privacy retention worker' AND a.datname = db LIMIT 1;
      RETURN QUERY SELECT 'worker', db,
        CASE WHEN n IS NULL THEN 'error' WHEN w.round_ok IS FALSE THEN 'warning' ELSE 'ok' END,
        CASE WHEN n IS NULL THEN 'not running' ELSE coalesce(w.state, 'starting') END,
        CASE WHEN n IS NULL THEN 'no worker runs for this database: is it created, and max_worker_processes high enough?'
             WHEN w.round_ended IS NULL THEN 'pid ' || n || ', no round finished yet'
             ELSE format('pid %s, last round ended %s: %s', n, date_trunc('second', w.round_ended),
                         CASE WHEN w.round_ok THEN format('%s rows deleted, %s records sealed', w.rows_deleted, w.sealed)
                              ELSE 'failed: ' || w.error END) END;
    END LOOP;
    IF NOT EXISTS (SELECT FROM privacy._worker_databases() d WHERE d = current_database()) THEN
      RETURN QUERY SELECT 'worker', current_database()::text, 'info', 'not served',
        'not in privacy.databases: schedule CALL privacy.purge() and SELECT privacy.audit_seal() with pg_cron, or list it';
    END IF;
  END IF;

  -- Purge and seal: their last runs (privacy.history), the unsealed backlog.
  n := (SELECT count(*) FROM privacy.retention_policies);
  SELECT * INTO h FROM privacy.history WHERE operation = 'purge' ORDER BY started_at DESC LIMIT 1;
  SELECT * INTO w FROM privacy._worker_rows() r WHERE r.database = current_database() AND r.round_ok;
  IF h IS NULL AND w.round_ended IS NOT NULL THEN
    -- The worker's rounds leave no run when they find nothing to purge.
    RETURN QUERY SELECT 'purge', 'last run', 'ok', 'nothing to purge',
      format('the worker''s last round ended %s; %s retention policies', date_trunc('second', w.round_ended), n);
  ELSIF h IS NULL THEN
    RETURN QUERY SELECT 'purge', 'last run', CASE WHEN n > 0 THEN 'warning' ELSE 'info' END, 'never',
      n || ' retention policies';
  ELSE
    RETURN QUERY SELECT 'purge', 'last run', CASE WHEN h.status IN ('done', 'running') THEN 'ok' ELSE 'warning' END,
      h.status, format('run %s started %s%s: %s rows deleted, %s partitions dropped%s; %s retention policies',
                       h.run_id, date_trunc('second', h.started_at),
                       CASE WHEN h.ended_at IS NOT NULL THEN ', took ' || date_trunc('second', h.duration) ELSE '' END,
                       coalesce(h.counts->>'rows_deleted', '0'), coalesce(h.counts->>'partitions_dropped', '0'),
                       coalesce(' (' || h.error || ')', ''), n);
  END IF;
  SELECT * INTO h FROM privacy.history WHERE operation = 'audit_seal' ORDER BY started_at DESC LIMIT 1;
  SELECT count(*), min(q.at) INTO n, t FROM privacy.audit_queue q;
  RETURN QUERY SELECT 'seal', 'last run',
    CASE WHEN h IS NULL THEN 'info' WHEN h.status IN ('done', 'running') THEN 'ok' ELSE 'warning' END,
    coalesce(h.status, 'never'),
    CASE WHEN h IS NULL THEN 'no seal has sealed a record yet'
         ELSE format('run %s at %s: %s records sealed%s', h.run_id, date_trunc('second', h.started_at),
                     coalesce(h.counts->>'records', '0'), coalesce(' (' || h.error || ')', '')) END;
  RETURN QUERY SELECT 'seal', 'unsealed backlog',
    CASE WHEN t < now() - interval '1 hour' THEN 'warning' ELSE 'ok' END, n::text,
    CASE WHEN n = 0 THEN 'nothing waits in privacy.audit_queue'
         ELSE format('oldest queued %s ago; SELECT privacy.audit_seal() seals them', date_trunc('second', now() - t)) END;
  SELECT max(l.id), min(l.id) INTO n, m FROM privacy.audit_log l;
  RETURN QUERY SELECT 'audit', 'chain', 'info', coalesce(n, (SELECT max(c.id) FROM privacy.audit_checkpoints c), 0)::text,
    format('head id; %s records in the log from id %s, %s checkpoints; verify with privacy.audit_verify()',
           coalesce(n - m + 1, 0), coalesce(m::text, '-'), (SELECT count(*) FROM privacy.audit_checkpoints));

  -- Keyring and keys.
  BEGIN
    mk := privacy.master_key_id();
  EXCEPTION WHEN OTHERS THEN
    mk_error := SQLSTATE || ': ' || SQLERRM;
  END;
  SELECT count(*) INTO live_keys FROM privacy.tenant_keys WHERE wrapped IS NOT NULL;
  RETURN QUERY SELECT 'keyring', 'master key',
    CASE WHEN mk IS NOT NULL THEN 'ok' WHEN live_keys > 0 OR EXISTS (SELECT FROM privacy.providers WHERE api_key_wrapped IS NOT NULL)
         THEN 'error' ELSE 'warning' END,
    CASE WHEN mk IS NOT NULL THEN 'configured' ELSE 'unavailable' END,
    coalesce('master_key_id ' || mk, mk_error);
  n := (SELECT count(DISTINCT tenant_id) FROM privacy.tenant_keys WHERE secret_id IS NULL AND wrapped IS NOT NULL);
  RETURN QUERY SELECT 'keyring', 'keyring_dir',
    CASE WHEN dir = '' OR n > 0 THEN 'warning' ELSE 'ok' END, CASE WHEN dir = '' THEN 'not set' ELSE 'set' END,
    CASE WHEN dir = '' THEN 'keys created now cannot be shredded out of old backups: set privacy.keyring_dir (docs/crypto.md)'
         ELSE dir END
    || CASE WHEN n > 0 THEN format('; %s tenants have keys created without it', n) ELSE '' END;
  RETURN QUERY SELECT 'keys', 'tenant keys', 'info',
    (SELECT count(*) FROM privacy.tenant_keys WHERE kind <> 2 AND wrapped IS NOT NULL)::text,
    format('%s tenants; %s shredded', (SELECT count(DISTINCT tenant_id) FROM privacy.tenant_keys WHERE kind <> 2),
           (SELECT count(*) FROM privacy.tenant_keys WHERE kind <> 2 AND wrapped IS NULL));
  RETURN QUERY SELECT 'keys', 'subject keys', 'info',
    (SELECT count(*) FROM privacy.tenant_keys WHERE kind = 2 AND wrapped IS NOT NULL)::text,
    format('%s shredded', (SELECT count(*) FROM privacy.tenant_keys WHERE kind = 2 AND wrapped IS NULL));
  IF mk IS NOT NULL THEN
    n := (SELECT count(*) FROM privacy.tenant_keys WHERE wrapped IS NOT NULL AND master_key_id IS DISTINCT FROM mk)
       + (SELECT count(*) FROM privacy.providers WHERE api_key_wrapped IS NOT NULL AND master_key_id IS DISTINCT FROM mk);
    RETURN QUERY SELECT 'keys', 'under another master key', CASE WHEN n > 0 THEN 'warning' ELSE 'ok' END, n::text,
      CASE WHEN n > 0 THEN 'finish the rotation: SELECT * FROM privacy.rotate_master_key(''/path/to/old.key'')'
           ELSE 'every wrapped key and provider API key is under the configured master key' END;
  END IF;
  RETURN QUERY SELECT 'providers', 'registered', 'info', (SELECT count(*) FROM privacy.providers)::text,
    format('%s enabled, %s with an API key', (SELECT count(*) FROM privacy.providers WHERE enabled),
           (SELECT count(*) FROM privacy.providers WHERE api_key_wrapped IS NOT NULL));

  -- Rate-limit pressure (shared memory, since the server started or the last reset).
  IF privacy.preloaded() THEN
    SELECT r.tenant, r.pressure INTO db, busiest FROM (SELECT 1) x LEFT JOIN LATERAL (
      SELECT tenant, pressure FROM privacy._rate_limits() WHERE scope = 'tenant' ORDER BY pressure DESC LIMIT 1) r ON true;
    SELECT coalesce(sum(refused), 0), count(*) FILTER (WHERE empty AND scope = 'subject') INTO n, m FROM privacy._rate_limits();
    RETURN QUERY SELECT 'rate limits', 'pressure',
      CASE WHEN n > 0 OR coalesce((SELECT max(pressure) FROM privacy._rate_limits() WHERE scope = 'tenant'), 0) >= 0.8
           THEN 'warning' ELSE 'ok' END,
      coalesce(round(100 * (SELECT max(pressure) FROM privacy._rate_limits() WHERE scope = 'tenant'))::text || '%', '0%'),
      format('busiest tenant: %s; %s calls refused (PV606); %s subjects with an empty bucket',
             coalesce(db, 'none'), n, m);
  END IF;

  -- Findings per entity type, all tenants (counted in shared memory).
  IF privacy.preloaded() THEN
    RETURN QUERY SELECT 'findings', f.entity_type, 'info', sum(f.findings)::text, 'since ' || date_trunc('second', min(f.since))
      FROM privacy.finding_stats() f GROUP BY f.entity_type ORDER BY f.entity_type;
  END IF;

  -- Runs that did not end well in the last day.
  n := (SELECT count(*) FROM privacy.history WHERE status IN ('failed', 'cancelled', 'interrupted')
           AND started_at > now() - interval '1 day');
  RETURN QUERY SELECT 'history', 'failed runs (24 h)', CASE WHEN n > 0 THEN 'warning' ELSE 'ok' END, n::text,
    CASE WHEN n > 0 THEN 'SELECT * FROM privacy.history WHERE status <> ''done'' ORDER BY started_at DESC'
         ELSE 'every run of the last day ended well' END;
END $$;
REVOKE ALL ON FUNCTION privacy._status_rows() FROM PUBLIC;

-- Status at a glance: what a DBA reads first.
CREATE VIEW privacy.status AS SELECT * FROM privacy._status_rows();
COMMENT ON VIEW privacy.status IS
  'status at a glance: version, background worker per database, last purge and seal, unsealed backlog, keyring, keys, providers, rate-limit pressure, findings, failed runs';
REVOKE ALL ON privacy.status FROM PUBLIC;

-- The same figures for monitoring: one row per metric, labels as JSON (docs/operations.md shows
-- a postgres_exporter query).
CREATE FUNCTION privacy.metrics(OUT metric text, OUT labels jsonb, OUT value double precision)
  RETURNS SETOF record
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
  mk text;
  db text;
  h record;
BEGIN
  RETURN QUERY SELECT 'info', jsonb_build_object('library', privacy._library_version(),
                        'sql', (SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy')), 1::float8;
  RETURN QUERY SELECT 'preloaded', '{}'::jsonb, privacy.preloaded()::int::float8;
  IF privacy.preloaded() THEN
    FOR db IN SELECT * FROM privacy._worker_databases() LOOP
      RETURN QUERY SELECT 'worker_up', jsonb_build_object('database', db),
        (EXISTS (SELECT FROM pg_stat_activity a WHERE a.backend_type = 'pg_privacy retention worker'
                  AND a.datname = db))::int::float8;
      RETURN QUERY SELECT 'worker_last_round_ok', jsonb_build_object('database', db), r.round_ok::int::float8
        FROM privacy._worker_rows() r WHERE r.database = db AND r.round_ok IS NOT NULL;
      RETURN QUERY SELECT 'worker_last_round_end_seconds', jsonb_build_object('database', db),
        extract(epoch FROM r.round_ended)::float8
        FROM privacy._worker_rows() r WHERE r.database = db AND r.round_ended IS NOT NULL;
    END LOOP;
  END IF;
  FOR h IN SELECT DISTINCT ON (operation) * FROM privacy.history ORDER BY operation, started_at DESC LOOP
    RETURN QUERY SELECT 'last_run_end_seconds', jsonb_build_object('operation', h.operation, 'status', h.status),
      extract(epoch FROM coalesce(h.ended_at, h.started_at))::float8;
    RETURN QUERY SELECT 'last_run_ok', jsonb_build_object('operation', h.operation), (h.status = 'done')::int::float8;
  END LOOP;
  RETURN QUERY SELECT 'runs', jsonb_build_object('operation', operation, 'status', status), count(*)::float8
    FROM privacy.history GROUP BY operation, status;
  RETURN QUERY SELECT 'purge_rows_deleted', '{}'::jsonb, coalesce(sum(rows_deleted), 0)::float8 FROM privacy.purge_runs;
  RETURN QUERY SELECT 'audit_unsealed_records', '{}'::jsonb, count(*)::float8 FROM privacy.audit_queue;
  RETURN QUERY SELECT 'audit_unsealed_oldest_seconds', '{}'::jsonb,
    coalesce(extract(epoch FROM now() - min(at)), 0)::float8 FROM privacy.audit_queue;
  RETURN QUERY SELECT 'audit_head_id', '{}'::jsonb, coalesce(max(id), 0)::float8 FROM privacy.audit_log;
  BEGIN
    mk := privacy.master_key_id();
  EXCEPTION WHEN OTHERS THEN
    mk := NULL;
  END;
  RETURN QUERY SELECT 'master_key_available', '{}'::jsonb, (mk IS NOT NULL)::int::float8;
  RETURN QUERY SELECT 'keyring_dir_set', '{}'::jsonb,
    (coalesce(current_setting('privacy.keyring_dir', true), '') <> '')::int::float8;
  RETURN QUERY SELECT 'keys', jsonb_build_object('kind', CASE k.kind WHEN 1 THEN 'data' WHEN 2 THEN 'subject' ELSE 'pseudonym' END,
                                                 'state', CASE WHEN k.wrapped IS NULL THEN 'shredded' ELSE 'live' END),
    count(*)::float8 FROM privacy.tenant_keys k GROUP BY 2;
  IF mk IS NOT NULL THEN
    RETURN QUERY SELECT 'keys_not_under_master_key', '{}'::jsonb,
      ((SELECT count(*) FROM privacy.tenant_keys WHERE wrapped IS NOT NULL AND master_key_id IS DISTINCT FROM mk)
       + (SELECT count(*) FROM privacy.providers WHERE api_key_wrapped IS NOT NULL AND master_key_id IS DISTINCT FROM mk))::float8;
  END IF;
  RETURN QUERY SELECT 'providers', jsonb_build_object('enabled', p.enabled), count(*)::float8
    FROM privacy.providers p GROUP BY p.enabled;
  IF privacy.preloaded() THEN
    RETURN QUERY SELECT 'rate_limit_pressure', jsonb_build_object('tenant', r.tenant, 'scope', r.scope), max(r.pressure)
      FROM privacy._rate_limits() r GROUP BY r.tenant, r.scope;
    RETURN QUERY SELECT 'rate_limit_refused', jsonb_build_object('tenant', r.tenant, 'scope', r.scope), sum(r.refused)::float8
      FROM privacy._rate_limits() r GROUP BY r.tenant, r.scope;
    RETURN QUERY SELECT 'in_progress', jsonb_build_object('operation', p.operation), count(*)::float8
      FROM privacy._progress_rows() p WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
     GROUP BY p.operation;
  END IF;
  IF privacy.preloaded() THEN
    RETURN QUERY SELECT 'findings', jsonb_build_object('type', f.entity_type), sum(f.findings)::float8
      FROM privacy.finding_stats() f GROUP BY f.entity_type;
  END IF;
END $$;
COMMENT ON FUNCTION privacy.metrics() IS
  'the figures of privacy.status for monitoring: one row per metric with labels (for a postgres_exporter custom query)';
REVOKE ALL ON FUNCTION privacy.metrics() FROM PUBLIC;

-- Monitoring roles (pg_monitor, as for pg_stat_progress_*) read the status, the progress, the
-- history and the metrics: rows of privacy.role_grants (85_roles.sql), applied by 95_privileges.sql.
