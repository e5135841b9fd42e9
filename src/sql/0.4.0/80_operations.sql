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
    counts jsonb DEFAULT '{}') RETURNS bigint
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE id bigint;
BEGIN
  PERFORM privacy._history_flush();
  INSERT INTO privacy.operation_runs (operation, started_at, status, counts, pid, backend_start, role, source)
  VALUES (op, started, 'running', coalesce(counts, '{}'), pg_backend_pid(), backend_start, session_user, src)
  RETURNING run_id INTO id;
  RETURN id;
END $$;
REVOKE ALL ON FUNCTION privacy._run_start(text, timestamptz, timestamptz, text, jsonb) FROM PUBLIC;

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
    counts jsonb) RETURNS bigint
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE id bigint;
BEGIN
  PERFORM privacy._history_flush();
  INSERT INTO privacy.operation_runs (operation, started_at, ended_at, status, counts, pid, backend_start, role, source)
  VALUES (op, started, clock_timestamp(), 'done', coalesce(counts, '{}'), pg_backend_pid(), backend_start, session_user, src)
  RETURNING run_id INTO id;
  RETURN id;
END $$;
REVOKE ALL ON FUNCTION privacy._run_record(text, timestamptz, timestamptz, text, jsonb) FROM PUBLIC;

-- The purge's run: started after closing what earlier purges left open; finished with its
-- counts from its passes (privacy.purge_runs) and, unless it completed, its open passes closed
-- as interrupted (each with its retention audit record). Returns the NOTICE's text and the
-- number of failed passes.
CREATE FUNCTION privacy._purge_begin(only_table regclass, started timestamptz, backend_start timestamptz, src text,
    OUT run bigint, OUT passes integer)
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  run := privacy._run_start('purge', started, backend_start, src,
                            CASE WHEN only_table IS NULL THEN '{}' ELSE jsonb_build_object('table', only_table::text) END);
  passes := (SELECT count(*) FROM privacy._purge_passes(only_table));
END $$;
REVOKE ALL ON FUNCTION privacy._purge_begin(regclass, timestamptz, timestamptz, text) FROM PUBLIC;

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
  summary := format('%s rows deleted, %s partitions dropped in %s tables (%s passes with work, %s failed), run %s',
                    c->>'rows_deleted', c->>'partitions_dropped', c->>'tables', c->>'passes',
                    c->>'passes_failed', purge);
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
