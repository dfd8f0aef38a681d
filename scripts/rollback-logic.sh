#!/usr/bin/env bash
# Rolls back the database *logic* of a bad deploy in one transaction: re-applies every procedure,
# policy and trigger function from a known-good release's db/ folder, re-asserts RLS (ENABLE +
# FORCE) on every memory table, and re-runs the ownership/privilege script. Data is not touched.
#
# graphile-migrate is forward-only, and memvault's migrations are expand-only by convention (no
# destructive DDL in the release that needs it), so the logic is what a rollback must restore.
# See docs/ROLLBACK.md for the whole runbook.
#
# usage: scripts/rollback-logic.sh <superuser-or-owner connection string> [path/to/known-good/db]
set -euo pipefail
url=${1:?usage: $0 <connection string> [db dir]}
dbdir=${2:-$(cd "$(dirname "$0")/../db" && pwd)}
[ -d "$dbdir/functions" ] || { echo "rollback: $dbdir has no functions/ folder" >&2; exit 2; }

# The files and the psql arguments apart: counting the arguments would count each -f too.
files=()
for f in "$dbdir"/functions/*.sql "$dbdir"/triggers/*.sql "$dbdir"/policies/*.sql; do
  [ -f "$f" ] && files+=("$f")
done
file_args=()
for f in "${files[@]}"; do file_args+=(-f "$f"); done

psql "$url" --no-psqlrc --quiet -v ON_ERROR_STOP=1 --single-transaction \
  "${file_args[@]}" \
  -c "do \$rls\$ declare v regclass; begin
        for v in select c.oid::regclass from pg_catalog.pg_class c
                 where c.relnamespace = 'memory'::regnamespace and c.relkind = 'r' loop
          execute format('alter table %s enable row level security', v);
          execute format('alter table %s force row level security', v);
        end loop; end \$rls\$;" \
  -f "$dbdir/grants.sql"
echo "rollback: re-applied ${#files[@]} SQL object files from $dbdir, RLS re-asserted, grants re-run" >&2
