#!/usr/bin/env bash
# Makes the citus extension available to this machine's PostgreSQL, for `npm run test:citus` (the
# Citus suites, test/citus/) and `memvault bench citus`. Nothing here is needed by `npm test`.
#
# Idempotent and fast when citus is installed (one file check). Otherwise it builds Citus from a
# source tarball and installs it into the server's directories:
#   MEMVAULT_CITUS_SOURCE  a folder holding citus-<version>.tar.gz and optional *.patch files
#                          (default: ../shared/vendor/citus beside the checkout, which this
#                          workplace provides; CI passes its own checkout's path)
# The build needs root (apt-get for the build dependencies, `make install` into /usr) and about
# two minutes on two cores (without LLVM bitcode, which only the JIT would use).
# Users install Citus from its own packages (postgresql-15-citus-13.x) instead.
# Exit codes: 0 ready, 2 cannot proceed (no source, not root), 1 a build step failed.
set -euo pipefail

log() { printf '[ensure-citus] %s\n' "$*" >&2; }
die() { log "error: $*"; exit "${2:-1}"; }

pg_config=${PG_CONFIG:-}
if [ -z "$pg_config" ]; then
  major=$(ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1 || true)
  [ -n "$major" ] || die "no PostgreSQL server installed (run scripts/ensure-postgres.sh first)" 2
  pg_config=/usr/lib/postgresql/$major/bin/pg_config
  [ -x "$pg_config" ] || pg_config=pg_config
fi
control="$("$pg_config" --sharedir)/extension/citus.control"
if [ -f "$control" ] && [ -z "${MEMVAULT_CITUS_FORCE_BUILD:-}" ]; then
  log "citus $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$control") is installed"
  exit 0
fi

source_dir=${MEMVAULT_CITUS_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)/../shared/vendor/citus}
tarball=$(ls "$source_dir"/citus-*.tar.gz 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$tarball" ] || die "citus is not installed and no citus-*.tar.gz in $source_dir (set MEMVAULT_CITUS_SOURCE, or install postgresql-15-citus-13.x)" 2
[ "$(id -u)" = 0 ] || [ -n "${DESTDIR:-}" ] || die "building citus needs root (apt-get, make install)" 2

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  deps=(libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev libssl-dev libselinux1-dev libxslt1-dev
        libpam0g-dev libreadline-dev zlib1g-dev "postgresql-server-dev-$("$pg_config" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')")
  missing=()
  for p in "${deps[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing build dependencies: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } \
      || die "apt-get install ${missing[*]} failed"
  fi
fi

work=$(mktemp -d /tmp/memvault-citus-build-XXXXXX)
trap 'rm -rf "$work"' EXIT
log "building $(basename "$tarball") in $work (log: $work/build.log)"
tar -xzf "$tarball" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n 1)
for patch in "$source_dir"/*.patch; do
  [ -e "$patch" ] || continue
  log "applying $(basename "$patch")"
  patch -d "$src" -p1 --quiet < "$patch"
done
fail() { tail -n 40 "$work/build.log" >&2; die "$1"; }
(cd "$src" && PG_CONFIG="$pg_config" ./configure --quiet) > "$work/build.log" 2>&1 || fail "configure failed"
(cd "$src" && nice make -j"${MEMVAULT_CITUS_JOBS:-2}" with_llvm=no) >> "$work/build.log" 2>&1 || fail "make failed"
(cd "$src" && make install with_llvm=no) >> "$work/build.log" 2>&1 || fail "make install failed"
log "citus installed${DESTDIR:+ under $DESTDIR}"
