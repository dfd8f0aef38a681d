#!/usr/bin/env bash
# Makes sure this Debian/Ubuntu machine has a PostgreSQL server (>= 15) and pgvector (>= 0.8.0).
#
# pgvector 0.8.0 is the minimum because memory.apply_ann_settings sets hnsw.iterative_scan, which
# older versions do not have (search would fail on large tenants); `memvault doctor` checks it too.
#
# Idempotent and fast when everything is present (a few checks, no apt call). Otherwise:
#   1. installs the PostgreSQL server and server headers with apt (postgresql, postgresql-server-dev-NN);
#   2. installs pgvector from the binary package postgresql-NN-pgvector when apt offers >= 0.8.0;
#   3. else builds pgvector from Debian's own source package (trixie suite, added as a deb-src entry
#      only for this purpose) against postgresql-server-dev-NN and installs it.
# An installed pgvector older than 0.8.0 is replaced the same way. Databases that already have the
# extension keep the old version until `alter extension vector update;` is run in each.
# It never starts a cluster: `memvault db up` (or the test setup) does that.
#
# --with-pgbouncer (what `npm test` passes): also installs the pgbouncer package (Debian's 1.18 or
# newer), which the test/pooler/ suites start in front of the test cluster. Nothing starts it here.
# Exit codes: 0 ready, 2 cannot proceed (not root, no apt), 1 an install step failed.
set -euo pipefail

with_pgbouncer=0
for arg in "$@"; do
  case "$arg" in
    --with-pgbouncer) with_pgbouncer=1 ;;
    *) printf '[ensure-postgres] error: unknown argument %s\n' "$arg" >&2; exit 2 ;;
  esac
done

MIN_PG=15
MIN_VECTOR=0.8.0
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

# version_ge A B: A >= B in version order (dpkg-style strings such as 0.8.0-1 compare as 0.8.0).
version_ge() { [ "$(printf '%s\n%s\n' "${1%%-*}" "${2%%-*}" | sort -V | head -n1)" = "${2%%-*}" ]; }

# The installed pgvector's version for server major $1 (empty when absent).
vector_version() {
  local v=$1
  [ -f "/usr/lib/postgresql/$v/lib/vector.so" ] || return 0
  sed -n "s/^default_version = '\(.*\)'/\1/p" "/usr/share/postgresql/$v/extension/vector.control" 2>/dev/null || true
}

have_vector() {
  local installed; installed=$(vector_version "$1")
  [ -n "$installed" ] && version_ge "$installed" "$MIN_VECTOR"
}

have_pgbouncer() { [ "$with_pgbouncer" = 0 ] || [ -x /usr/sbin/pgbouncer ]; }

major=$(pg_major)
if [ -n "$major" ] && [ "$major" -ge "$MIN_PG" ] && have_vector "$major" && have_pgbouncer; then
  log "PostgreSQL $major with pgvector $(vector_version "$major") already installed"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root to install packages (try: sudo $0)" 2
command -v apt-get >/dev/null || die "apt-get not found: install PostgreSQL >= $MIN_PG and pgvector >= $MIN_VECTOR by hand" 2
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
  old=$(vector_version "$major")
  [ -z "$old" ] || log "pgvector $old is older than $MIN_VECTOR (hnsw.iterative_scan): replacing it"
  apt_update
  candidate=$(apt-cache policy "postgresql-$major-pgvector" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
  # Debian versions may carry an epoch (1:0.8.0-1): compare the upstream part only.
  candidate=${candidate#*:}
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && version_ge "$candidate" "$MIN_VECTOR"; then
    log "installing postgresql-$major-pgvector $candidate (binary package)"
    apt-get install -y -qq "postgresql-$major-pgvector" >/dev/null
  else
    log "no binary pgvector >= $MIN_VECTOR for PostgreSQL $major (apt offers: ${candidate:-none}): building Debian's source package"
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
  have_vector "$major" || die "pgvector >= $MIN_VECTOR still missing after install (found: $(vector_version "$major"))"
fi

if ! have_pgbouncer; then
  apt_update
  log "installing pgbouncer"
  # The tests start their own instances; where systemd runs, Debian also starts the packaged service
  # (localhost:6432, no databases configured), which nothing here uses.
  # Quiet unless it fails (debconf's notes on a minimal image are not news).
  out=$(apt-get install -y -qq pgbouncer 2>&1) || { printf '%s\n' "$out" >&2; die "apt-get install pgbouncer failed"; }
  have_pgbouncer || die "pgbouncer still missing after install"
fi
log "PostgreSQL $major with pgvector ready"
