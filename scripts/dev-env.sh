#!/usr/bin/env bash
# Prints the environment graphile-migrate needs for development against the embedded cluster, and
# creates the development database the first time. Use (after `memvault db up`):
#   eval "$(scripts/dev-env.sh)"; npm run db:watch
#
# memvault_dev (DATABASE_URL) is what `graphile-migrate watch` applies migrations/current.sql to;
# when it does not exist yet it is made with `graphile-migrate reset --erase`, which creates it,
# runs the bootstrap (.gmrc afterReset: roles, pgvector) and the committed migrations. Progress goes
# to stderr so that only the export lines reach `eval`. memvault_shadow (SHADOW_DATABASE_URL) needs
# nothing: graphile-migrate drops and re-creates it on every `commit`.
set -euo pipefail
home=${MEMVAULT_HOME:-$( [ "$(id -u)" = 0 ] && echo /var/lib/memvault || echo "${XDG_DATA_HOME:-$HOME/.local/share}/memvault")}
state="$home/pg/cluster.json"
[ -f "$state" ] || { echo "dev-env: no embedded cluster in $home: run \`memvault db up\` first" >&2; exit 2; }
port=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$state")
# The cluster checks passwords (scram-sha-256); the superuser's is in secrets.env. PGPASSWORD serves
# psql and graphile-migrate alike (the latter rebuilds the root URL without user or password).
password=$(sed -n 's/^MEMVAULT_PG_SUPERUSER_PASSWORD=//p' "$home/secrets.env" 2>/dev/null || true)
[ -n "$password" ] || { echo "dev-env: no MEMVAULT_PG_SUPERUSER_PASSWORD in $home/secrets.env: run \`memvault db up\` first" >&2; exit 2; }
export PGPASSWORD=$password
sock=$(printf '%s' "$home/pg/run" | sed 's|/|%2F|g')
base="postgresql://postgres@"
export DATABASE_URL="${base}/memvault_dev?host=${sock}&port=${port}"
export SHADOW_DATABASE_URL="${base}/memvault_shadow?host=${sock}&port=${port}"
export ROOT_DATABASE_URL="${base}/postgres?host=${sock}&port=${port}"
# graphile-migrate rebuilds the root URL for root actions and drops the user name; PGUSER fills it in.
export PGUSER=postgres
export MEMVAULT_EMBEDDING_DIM=${MEMVAULT_EMBEDDING_DIM:-384}

exists=$(psql "$ROOT_DATABASE_URL" -XAtc "select 1 from pg_database where datname = 'memvault_dev'") ||
  { echo "dev-env: cannot reach the embedded cluster on port $port: is it running? (memvault db up)" >&2; exit 2; }
if [ "$exists" != 1 ]; then
  echo "dev-env: creating memvault_dev (graphile-migrate reset --erase: bootstrap + committed migrations)" >&2
  ( cd "$(dirname "$0")/.." && npx --no-install graphile-migrate reset --erase ) >&2
fi

for name in DATABASE_URL SHADOW_DATABASE_URL ROOT_DATABASE_URL; do
  echo "export $name='${!name}'"
done
echo "export PGUSER=postgres"
echo "export PGPASSWORD='$PGPASSWORD'"
echo "export MEMVAULT_EMBEDDING_DIM=\${MEMVAULT_EMBEDDING_DIM:-384}"
