#!/usr/bin/env bash
# Writes a normalised schema-only dump of a migrated database, for review and drift checks.
# usage: scripts/dump-schema.sh <connection string> <output file>
set -euo pipefail
url=$1
out=$2
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
"$pg_bin/pg_dump" --schema-only --exclude-schema=graphile_migrate \
  --schema=memory "$url" |
  # Drop the version banner and settings noise that differ between pg_dump builds.
  sed -e '/^-- Dumped from/d' -e '/^-- Dumped by/d' -e '/^SET /d' -e '/^SELECT pg_catalog.set_config/d' \
      -e '/^\\restrict/d' -e '/^\\unrestrict/d' |
  cat -s > "$out"
