#!/usr/bin/env bash
# Prints the environment graphile-migrate needs for development against the embedded cluster
# (started with `memvault db up`). Use: eval "$(scripts/dev-env.sh)"; npm run db:watch
set -euo pipefail
home=${MEMVAULT_HOME:-$( [ "$(id -u)" = 0 ] && echo /var/lib/memvault || echo "${XDG_DATA_HOME:-$HOME/.local/share}/memvault")}
port=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$home/pg/cluster.json")
sock=$(printf '%s' "$home/pg/run" | sed 's|/|%2F|g')
base="postgresql://postgres@"
echo "export DATABASE_URL='${base}/memvault_dev?host=${sock}&port=${port}'"
echo "export SHADOW_DATABASE_URL='${base}/memvault_shadow?host=${sock}&port=${port}'"
echo "export ROOT_DATABASE_URL='${base}/postgres?host=${sock}&port=${port}'"
# graphile-migrate rebuilds the root URL for root actions and drops the user name; PGUSER fills it in.
echo "export PGUSER=postgres"
echo "export MEMVAULT_EMBEDDING_DIM=\${MEMVAULT_EMBEDDING_DIM:-384}"
