#!/usr/bin/env bash
# Citus for the cluster tests: builds Citus once from the vendored tarball into a cache outside the
# checkout (keyed by the Citus and PostgreSQL versions), then installs it into the PostgreSQL in use.
#   bash scripts/citus.sh install   build if not cached, then install into $PGP_PGBIN's tree
#   bash scripts/citus.sh status    "ready <cache>", "installed" or "absent <reason>"; exit 0 if usable
# Exit status 3 means "no Citus available" (no tarball and none installed): the caller skips.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CITUS_VERSION=13.2.2
# The vendored sources sit beside the repository, in ../shared/vendor (relative to the repo root;
# for a git worktree, also relative to the main checkout's root). PGP_CITUS_VENDOR overrides.
citus_vendor_dir() {
  local common
  [ -n "${PGP_CITUS_VENDOR:-}" ] && { echo "$PGP_CITUS_VENDOR"; return; }
  [ -d "$ROOT/../shared/vendor" ] && { echo "$ROOT/../shared/vendor"; return; }
  common=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) &&
    [ -d "$common/../../shared/vendor" ] && { echo "$common/../../shared/vendor"; return; }
  echo "$ROOT/../shared/vendor"
}
CITUS_VENDOR=$(citus_vendor_dir)
CITUS_TARBALL=$CITUS_VENDOR/citus-v$CITUS_VERSION.tar.gz
CITUS_PATCH=$CITUS_VENDOR/pg15-have_createdb_privilege.patch
PG_VERSION=$("$PG_CONFIG" --version | awk '{print $2}')
CITUS_CACHE=${PGP_CITUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pg_privacy}/citus-$CITUS_VERSION-pg$PG_VERSION

# citus_installed: true when the PostgreSQL in use already has this Citus version's library.
citus_installed() {
  local libdir sharedir
  libdir=$("$PG_CONFIG" --pkglibdir) sharedir=$("$PG_CONFIG" --sharedir)
  [ -f "$libdir/citus.so" ] && grep -q "default_version = '${CITUS_VERSION%.*}-" "$sharedir/extension/citus.control" 2>/dev/null
}

# citus_build: configure and build in a scratch copy, stage the install, keep only what an
# installation needs (libraries and extension files) in the cache. Done once per key.
citus_build() {
  [ -f "$CITUS_CACHE/.done" ] && return 0
  [ -f "$CITUS_TARBALL" ] || { echo "citus: no tarball at $CITUS_TARBALL"; return 3; }
  log "build Citus $CITUS_VERSION for PostgreSQL $PG_VERSION (once; cached in $CITUS_CACHE)"
  local work stage
  work=$(mktemp -d /tmp/pg_privacy_citus_build.XXXXXX)
  stage=$work/stage
  tar xzf "$CITUS_TARBALL" -C "$work" || return 1
  local src=$work/citus-$CITUS_VERSION
  if [ -f "$CITUS_PATCH" ]; then
    patch -d "$src" -p1 <"$CITUS_PATCH" >"$work/patch.log" 2>&1 || { cat "$work/patch.log"; return 1; }
  fi
  (
    cd "$src" &&
      ./configure PG_CONFIG="$PG_CONFIG" --without-libcurl >"$work/configure.log" 2>&1 &&
      # No LLVM bitcode: JIT inlining of Citus is not needed by the tests and would need clang.
      make -j"$JOBS" with_llvm=no >"$work/make.log" 2>&1 &&
      make install with_llvm=no DESTDIR="$stage" >"$work/install.log" 2>&1
  ) || {
    tail -40 "$work"/configure.log "$work"/make.log "$work"/install.log 2>/dev/null
    echo "citus: build failed; logs in $work"
    return 1
  }
  # The staged tree mirrors the installation: keep pkglibdir (citus.so, citus_columnar.so and the
  # citus_decoders/ subfolder, whose pgoutput.so must not replace PostgreSQL's own) and the
  # extension folder, each with its layout.
  local libdir extdir
  libdir=$("$PG_CONFIG" --pkglibdir) extdir=$("$PG_CONFIG" --sharedir)/extension
  rm -rf "$CITUS_CACHE.tmp" && mkdir -p "$CITUS_CACHE.tmp/lib" "$CITUS_CACHE.tmp/extension" || return 1
  cp -a "$stage$libdir/." "$CITUS_CACHE.tmp/lib/" && cp -a "$stage$extdir/." "$CITUS_CACHE.tmp/extension/" || return 1
  rm -rf "$CITUS_CACHE.tmp/lib/bitcode"
  [ -f "$CITUS_CACHE.tmp/lib/citus.so" ] || { echo "citus: the build produced no citus.so"; return 1; }
  touch "$CITUS_CACHE.tmp/.done"
  rm -rf "$CITUS_CACHE" && mv "$CITUS_CACHE.tmp" "$CITUS_CACHE"
  rm -rf "$work"
  echo "citus: built in $CITUS_CACHE"
}

# citus_install: copies the cached build into the PostgreSQL in use (its pkglibdir and
# sharedir/extension), unless that installation already has the same files.
citus_install() {
  local libdir extdir
  libdir=$("$PG_CONFIG" --pkglibdir) extdir=$("$PG_CONFIG" --sharedir)/extension
  if [ ! -f "$CITUS_CACHE/.done" ] && citus_installed; then
    echo "citus: using the Citus already installed in $libdir"
    return 0
  fi
  citus_build || return $?
  if cmp -s "$CITUS_CACHE/lib/citus.so" "$libdir/citus.so"; then
    echo "citus: $CITUS_VERSION already installed in $libdir"
    return 0
  fi
  as_root cp -a "$CITUS_CACHE/lib/." "$libdir/" && as_root cp -a "$CITUS_CACHE/extension/." "$extdir/" || return 1
  echo "citus: installed $CITUS_VERSION into $libdir"
}

citus_status() {
  if [ -f "$CITUS_CACHE/.done" ]; then echo "ready $CITUS_CACHE"; return 0; fi
  if citus_installed; then echo "installed"; return 0; fi
  if [ -f "$CITUS_TARBALL" ]; then echo "buildable $CITUS_TARBALL"; return 0; fi
  echo "absent: no Citus $CITUS_VERSION installed and no tarball at $CITUS_TARBALL"
  return 3
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-install}" in
    install)
      if ! citus_installed && [ ! -f "$CITUS_CACHE/.done" ] && [ ! -f "$CITUS_TARBALL" ]; then
        citus_status
        exit 3
      fi
      citus_install
      ;;
    build) citus_build ;;
    status) citus_status ;;
    *) echo "usage: $0 install|build|status" >&2; exit 2 ;;
  esac
fi
