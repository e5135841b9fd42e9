# Shared shell helpers of scripts/test.sh and scripts/demo.sh: paths, build and install, and a
# throwaway PostgreSQL cluster (own data directory, socket directory and port) stopped on exit.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=${PGP_PGBIN:-/usr/lib/postgresql/15/bin}  # PGP_PGBIN names another installation (a private copy for benchmarks)
PG_CONFIG=$PGBIN/pg_config
PGXS_DIR=$(dirname "$(dirname "$(dirname "$("$PG_CONFIG" --pgxs 2>/dev/null || echo /usr/lib/postgresql/15/lib/pgxs/src/makefiles/pgxs.mk)")")")
JOBS=${JOBS:-2}

log() { printf '\n==> %s\n' "$*"; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The server must not run as root: as root we run it as 'postgres', otherwise as ourselves.
SERVER_USER=$(if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi)
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

build_and_install() {
  log "build and install the extension"
  make -C "$ROOT" -j"$JOBS" PG_CONFIG="$PG_CONFIG" PGP_WERROR=-Werror >"$ROOT/build/make.log" 2>&1 ||
    { tail -50 "$ROOT/build/make.log"; return 1; }
  # Postgres symbols are resolved at load time, so the linker cannot catch a missing definition
  # of our own: check that no pgp:: symbol is left undefined.
  if nm -uC "$ROOT/pg_privacy.so" | grep -q ' pgp::'; then
    echo "pg_privacy.so has undefined pg_privacy symbols:"; nm -uC "$ROOT/pg_privacy.so" | grep ' pgp::'
    return 1
  fi
  as_root make -C "$ROOT" PG_CONFIG="$PG_CONFIG" install >>"$ROOT/build/make.log" 2>&1 ||
    { tail -50 "$ROOT/build/make.log"; return 1; }
  echo "installed $("$PG_CONFIG" --pkglibdir)/pg_privacy.so"
}

free_port() {
  local p=${1:-55432}
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# cluster_start: creates and starts a cluster; sets PGDATA_DIR, PGHOST, PGPORT, PGUSER, SERVER_LOG.
cluster_start() {
  CLUSTER_DIR=$(mktemp -d /tmp/pg_privacy_cluster.XXXXXX)
  chmod 755 "$CLUSTER_DIR"
  PGDATA_DIR=$CLUSTER_DIR/data
  SERVER_LOG=$CLUSTER_DIR/server.log
  mkdir -p "$CLUSTER_DIR/sock"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$CLUSTER_DIR"
  export PGPORT; PGPORT=$(free_port "${PGP_PORT:-55432}")
  export PGHOST=$CLUSTER_DIR/sock
  export PGUSER=postgres
  as_server_user "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$CLUSTER_DIR/initdb.log" 2>&1 || { cat "$CLUSTER_DIR/initdb.log"; return 1; }
  # The master key and the per-tenant secrets live outside the data directory (docs/crypto.md):
  # readable by the server's user only, as the keyring rules require.
  KEYRING_FILE=$CLUSTER_DIR/keyring/master.key
  KEYRING_DIR=$CLUSTER_DIR/keyring/tenants
  make_keyring "$KEYRING_FILE" "$KEYRING_DIR" || return 1
  as_server_user tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<CONF
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGHOST'
shared_preload_libraries = 'pg_privacy, pg_cron'
cron.database_name = 'postgres'
fsync = off
synchronous_commit = off
full_page_writes = off
max_worker_processes = 16
log_line_prefix = '%m [%p] %q%a '
logging_collector = on
log_directory = 'log'
log_filename = 'postgresql.log'
log_min_error_statement = error
privacy.keyring_file = '$KEYRING_FILE'
privacy.keyring_dir = '$KEYRING_DIR'
CONF
  as_server_user "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$SERVER_LOG" -w -t 60 start >/dev/null ||
    { cat "$SERVER_LOG"; return 1; }
  trap cluster_stop EXIT
  echo "cluster: port $PGPORT, socket $PGHOST, log $PGDATA_DIR/log/postgresql.log"
}

# make_keyring FILE DIR: a new random master key in FILE (64 hex digits, mode 0600) and an
# empty tenant-secret directory DIR (mode 0700), both owned by the server's user.
make_keyring() {
  local file=$1 dir=$2
  mkdir -p "$(dirname "$file")" "$dir"
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$file" || return 1
  chmod 700 "$(dirname "$file")" "$dir"
  chmod 600 "$file"
  [ "$(id -u)" -eq 0 ] && chown -R "$SERVER_USER" "$(dirname "$file")" "$dir"
  return 0
}

cluster_stop() {
  if [ -n "${PGDATA_DIR:-}" ] && [ -f "$PGDATA_DIR/postmaster.pid" ]; then
    as_server_user "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "${CLUSTER_DIR:-}" ] && [ -z "${PGP_KEEP_CLUSTER:-}" ]; then rm -rf "$CLUSTER_DIR"; fi
}

psql_q() { "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -q "$@"; }

# fixture_start [ARGS...]: starts the loopback provider fixture (build/core/provider_fixture,
# test/fixtures/README.md) recording to $PGP_FIXTURE_RECORD; exports PGP_FIXTURE_URL. The record
# file sits in a folder the server can read (the pgTAP suite reads it with pg_read_file).
fixture_start() {
  local bin=$ROOT/build/core/provider_fixture
  [ -x "$bin" ] || { echo "fixture not built: $bin"; return 1; }
  FIXTURE_DIR=$(mktemp -d /tmp/pg_privacy_fixture.XXXXXX)
  chmod 755 "$FIXTURE_DIR"
  export PGP_FIXTURE_RECORD=$FIXTURE_DIR/requests.jsonl
  : >"$PGP_FIXTURE_RECORD"; chmod 644 "$PGP_FIXTURE_RECORD"
  "$bin" --port 0 --record "$PGP_FIXTURE_RECORD" "$@" >"$FIXTURE_DIR/stdout" 2>"$FIXTURE_DIR/stderr" &
  FIXTURE_PID=$!
  local port="" i
  for i in $(seq 1 100); do
    port=$(head -1 "$FIXTURE_DIR/stdout" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "the provider fixture did not start"; cat "$FIXTURE_DIR/stderr"; return 1; }
  export PGP_FIXTURE_URL=http://127.0.0.1:$port
  echo "provider fixture: $PGP_FIXTURE_URL (pid $FIXTURE_PID), records $PGP_FIXTURE_RECORD"
}

fixture_stop() {
  if [ -n "${FIXTURE_PID:-}" ]; then
    kill "$FIXTURE_PID" 2>/dev/null && wait "$FIXTURE_PID" 2>/dev/null
    FIXTURE_PID=
  fi
  if [ -n "${FIXTURE_DIR:-}" ] && [ -z "${PGP_KEEP_CLUSTER:-}" ]; then rm -rf "$FIXTURE_DIR"; fi
}
