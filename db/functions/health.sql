-- What readiness needs, callable by the app role (which cannot read catalogs of graphile_migrate):
-- the last applied migration, the schema's embedding dimension and the pgvector version.
create or replace function memory.health()
returns table (last_migration text, migration_count integer, embedding_dim integer, vector_version text)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select (select m.filename from graphile_migrate.migrations m order by m.date desc, m.filename desc limit 1),
         (select count(*)::integer from graphile_migrate.migrations),
         memory.embedding_dim(),
         (select e.extversion from pg_extension e where e.extname = 'vector');
$$;
