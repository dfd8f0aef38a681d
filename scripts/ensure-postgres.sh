#!/usr/bin/env bash
# Makes sure this Debian/Ubuntu machine has a PostgreSQL server (>= 15) and pgvector (>= 0.5).
#
# Idempotent and fast when everything is present (a few checks, no apt call). Otherwise:
#   1. installs the PostgreSQL server and server headers with apt (postgresql, postgresql-server-dev-NN);
#   2. installs pgvector from the binary package postgresql-NN-pgvector when apt offers one;
#   3. else builds pgvector from Debian's own source package (trixie suite, added as a deb-src entry
#      only for this purpose) against postgresql-server-dev-NN and installs it.
# It never starts a cluster: `memvault db up` (or the test setup) does that.
# Exit codes: 0 ready, 2 cannot proceed (not root, no apt), 1 an install step failed.
set -euo pipefail

MIN_PG=15
log() { printf '[ensure-postgres] %s\n' "$*" >&2; }
die() { log "error: $*"; exit "${2:-1}"; }

pg_major() {
  # Highest installed server major (from the pg_config of each installed server).
  local best=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] || continue
    local v; v=$(basename "$(dirname "$d")")
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    if [ -z "$best" ] || [ "$v" -gt "$best" ]; then best=$v; fi
  done
  printf '%s' "$best"
}

have_vector() {
  local v=$1
  [ -f "/usr/share/postgresql/$v/extension/vector.control" ] && [ -f "/usr/lib/postgresql/$v/lib/vector.so" ]
}

major=$(pg_major)
if [ -n "$major" ] && [ "$major" -ge "$MIN_PG" ] && have_vector "$major"; then
  log "PostgreSQL $major with pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" "/usr/share/postgresql/$major/extension/vector.control") already installed"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root to install packages (try: sudo $0)" 2
command -v apt-get >/dev/null || die "apt-get not found: install PostgreSQL >= $MIN_PG and pgvector >= 0.5 by hand" 2
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() { [ $apt_updated = 1 ] || { log "apt-get update"; apt-get update -qq; apt_updated=1; }; }

if [ -z "$major" ] || [ "$major" -lt "$MIN_PG" ]; then
  apt_update
  log "installing the PostgreSQL server"
  apt-get install -y -qq postgresql >/dev/null
  major=$(pg_major)
  [ -n "$major" ] && [ "$major" -ge "$MIN_PG" ] || die "apt installed PostgreSQL '${major:-none}', need >= $MIN_PG"
fi

if ! have_vector "$major"; then
  apt_update
  if apt-cache show "postgresql-$major-pgvector" >/dev/null 2>&1; then
    log "installing postgresql-$major-pgvector (binary package)"
    apt-get install -y -qq "postgresql-$major-pgvector" >/dev/null
  else
    log "no binary pgvector for PostgreSQL $major: building Debian's source package"
    src_list=/etc/apt/sources.list.d/memvault-trixie-src.list
    if [ ! -f "$src_list" ]; then
      echo "deb-src http://deb.debian.org/debian trixie main" > "$src_list"
      apt_updated=0
    fi
    apt_update
    apt-get install -y -qq dpkg-dev build-essential "postgresql-server-dev-$major" >/dev/null
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    ( cd "$work" && apt-get source -qq pgvector >/dev/null 2>&1 ) || die "apt-get source pgvector failed"
    srcdir=$(find "$work" -maxdepth 1 -type d -name 'pgvector-*' | head -n1)
    [ -n "$srcdir" ] || die "pgvector source not found after apt-get source"
    log "building $(basename "$srcdir")"
    # OPTFLAGS='' avoids -march=native so the build is portable between similar machines.
    make -s -C "$srcdir" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" OPTFLAGS="" >/dev/null
    make -s -C "$srcdir" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" install >/dev/null
  fi
  have_vector "$major" || die "pgvector still missing after install"
fi
log "PostgreSQL $major with pgvector ready"
