#!/usr/bin/env bash
# Installs every Debian 12 package pg_privacy needs to build, test and run its demo. Idempotent:
# installs only what is missing. Runs as root or through sudo; otherwise prints the apt-get line.
set -euo pipefail

PACKAGES=(
  # build
  g++ make cmake pkg-config
  postgresql-15 postgresql-server-dev-15
  libre2-dev libssl-dev libcurl4-openssl-dev
  # tests: unit, benchmarks, pgTAP + pg_prove, pg_cron, Perl TAP framework, fuzzing, JSON in tools
  libgtest-dev libbenchmark-dev
  postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  postgresql-15-cron
  pgbouncer
  libipc-run-perl
  clang-14 libclang-rt-14-dev
  nlohmann-json3-dev
  # the audit benchmark's pgaudit baseline; the openssl CLI for the provider client's TLS test
  postgresql-15-pgaudit openssl
  # the curl CLI: the pgTAP provider suite and 070_provider_cancel.pl drive the fixture with it;
  # python3: the fuzz run's seeds and the docs test (test/docs/run_docs.py)
  curl python3
  # building Citus 13.2.2 from the vendored tarball for the cluster tests (scripts/citus.sh)
  liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev libxslt1-dev libxml2-dev libpam0g-dev
  libreadline-dev zlib1g-dev autoconf flex bison
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo)
else
  echo "deps: missing packages; run as root:" >&2
  echo "  apt-get update && $line" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
