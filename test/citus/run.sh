#!/usr/bin/env bash
# The Citus cluster tests: installs Citus (scripts/citus.sh: built once from the vendored tarball,
# cached), starts a coordinator and two workers on this machine (Unix sockets only,
# shared_preload_libraries = 'citus,pg_privacy'), registers the workers, and runs test/citus/t/*.pl
# against them with prove (TAP output). pg_privacy must already be installed in $PGP_PGBIN's tree.
# Exit status 3, with one line saying why, when no Citus is available (the caller skips).
#   PGP_PGBIN=... PGP_PORT=... bash test/citus/run.sh [t/NNN_name.pl ...]
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/citus.sh"

if [ "${1:-}" = "--stop" ]; then  # --stop DIR: stops the nodes PGP_CITUS_HOLD left running
  for d in "$2"/*/data; do as_server_user "$PGBIN/pg_ctl" -D "$d" -m fast -w stop >/dev/null 2>&1; done
  rm -rf "$2"
  exit 0
fi

if ! status=$(citus_status); then
  echo "citus: skipped: $status"
  exit 3
fi
citus_install || exit 1

# ---- the cluster ----------------------------------------------------------------------------------
CITUS_DIR=$(mktemp -d /tmp/pg_privacy_citus.XXXXXX)
chmod 755 "$CITUS_DIR"
SOCK=$CITUS_DIR/sock
mkdir -p "$SOCK"
NODES=(coordinator worker1 worker2)
PORTS=()

citus_cluster_stop() {
  local n
  for n in "${NODES[@]}"; do
    if [ -f "$CITUS_DIR/$n/data/postmaster.pid" ]; then
      as_server_user "$PGBIN/pg_ctl" -D "$CITUS_DIR/$n/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
  if [ -z "${PGP_KEEP_CLUSTER:-}" ]; then rm -rf "$CITUS_DIR"; else echo "# cluster kept in $CITUS_DIR"; fi
}
trap citus_cluster_stop EXIT

# One master key for every node (the same wrapped keys must open everywhere, docs/citus.md); each
# node has its own tenant-secret directory, as each machine of a real cluster would.
make_keyring "$CITUS_DIR/keyring/master.key" "$CITUS_DIR/keyring/unused" || exit 1
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$CITUS_DIR"

port=$((${PGP_PORT:-55432} + 10))
for n in "${NODES[@]}"; do
  port=$(free_port "$port")
  PORTS+=("$port")
  mkdir -p "$CITUS_DIR/$n/tenants"
  chmod 700 "$CITUS_DIR/$n/tenants"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$CITUS_DIR/$n"
  as_server_user "$PGBIN/initdb" -D "$CITUS_DIR/$n/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$CITUS_DIR/$n/initdb.log" 2>&1 || { cat "$CITUS_DIR/$n/initdb.log"; exit 1; }
  as_server_user tee -a "$CITUS_DIR/$n/data/postgresql.conf" >/dev/null <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'citus,pg_privacy'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 60
max_worker_processes = 20
log_line_prefix = '%m [%p] %q%a '
log_min_error_statement = error
privacy.keyring_file = '$CITUS_DIR/keyring/master.key'
privacy.keyring_dir = '$CITUS_DIR/$n/tenants'
CONF
  as_server_user "$PGBIN/pg_ctl" -D "$CITUS_DIR/$n/data" -l "$CITUS_DIR/$n/server.log" -w -t 60 start \
    >/dev/null || { cat "$CITUS_DIR/$n/server.log"; exit 1; }
  port=$((port + 1))
done

psql_node() {  # psql_node INDEX ARGS...: psql on node INDEX (0: coordinator) as postgres
  local i=$1
  shift
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "${PORTS[$i]}" -U postgres "$@"
}

# Citus in its own database on every node, then the workers registered on the coordinator.
for i in 0 1 2; do
  psql_node "$i" -d postgres -c "CREATE DATABASE pgp" &&
    psql_node "$i" -d pgp -c "CREATE EXTENSION citus" >"$CITUS_DIR/setup.log" 2>&1 ||
    { echo "citus: CREATE EXTENSION citus failed on ${NODES[$i]}"; cat "$CITUS_DIR/setup.log" \
        "$CITUS_DIR/${NODES[$i]}/server.log"; exit 1; }
done
psql_node 0 -d pgp -c "SELECT citus_set_coordinator_host('$SOCK', ${PORTS[0]})" \
  -c "SELECT citus_add_node('$SOCK', ${PORTS[1]})" -c "SELECT citus_add_node('$SOCK', ${PORTS[2]})" \
  >"$CITUS_DIR/setup.log" 2>&1 || { echo "citus: node registration failed"; cat "$CITUS_DIR/setup.log"; exit 1; }
echo "# citus: coordinator ${PORTS[0]}, workers ${PORTS[1]} ${PORTS[2]}, socket $SOCK"

if [ -n "${PGP_CITUS_HOLD:-}" ]; then  # leave the nodes running for manual work (docs/citus.md)
  {
    echo "export PGHOST=$SOCK PGUSER=postgres PGDATABASE=pgp CITUS_SOCK=$SOCK CITUS_PORTS='${PORTS[*]}'"
    echo "export CITUS_DIR=$CITUS_DIR PGBIN=$PGBIN  # coordinator: PGPORT=${PORTS[0]}"
  } >"$CITUS_DIR/env"
  echo "# nodes left running; source $CITUS_DIR/env; stop with: bash $HERE/run.sh --stop $CITUS_DIR"
  trap - EXIT
  exit 0
fi

# ---- the tests ----------------------------------------------------------------------------------------
tests=("$@")
[ ${#tests[@]} -eq 0 ] && mapfile -t tests < <(cd "$HERE" && ls t/*.pl)
(cd "$HERE" && env PGBIN="$PGBIN" CITUS_SOCK="$SOCK" CITUS_PORTS="${PORTS[*]}" CITUS_DIR="$CITUS_DIR" \
  PERL5LIB="$HERE" prove -v "${tests[@]}")
rc=$?
if [ "$rc" -ne 0 ]; then
  for n in "${NODES[@]}"; do
    echo "# ---- $n server log (errors)"
    grep -E 'ERROR|FATAL|PANIC|TRAP' "$CITUS_DIR/$n/server.log" | tail -20 | sed 's/^/# /'
  done
fi
exit "$rc"
