-- Role bootstrap: run by a superuser (or a role with CREATEROLE) before migrations, and safe to run
-- again. Roles live outside migrations (graphile-migrate's advice): they are cluster-wide, while
-- migrations are per database.
--
--   memory_owner  NOLOGIN; owns the schema, tables and procedures. Not BYPASSRLS, and the table
--                 has FORCE ROW LEVEL SECURITY, so even the owner (and so every SECURITY DEFINER
--                 procedure) only sees the tenant set in memory.user_hash.
--   memory_app    LOGIN; the daemon. EXECUTE on procedures and USAGE on the schema only.
--   memory_maintainer  LOGIN; key rotation, re-sealing and re-hashing jobs. EXECUTE on the
--                 maintenance procedures, which may work across tenants (docs/KEYS.md).
do $bootstrap$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'memory_owner') then
    create role memory_owner nologin;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'memory_app') then
    create role memory_app login;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'memory_maintainer') then
    create role memory_maintainer login;
  end if;
end
$bootstrap$;

-- Re-assert the attributes every time, so a role altered by hand is put back.
alter role memory_owner nologin nosuperuser nocreatedb nocreaterole nobypassrls noreplication;
alter role memory_app login nosuperuser nocreatedb nocreaterole nobypassrls noreplication;
alter role memory_maintainer login nosuperuser nocreatedb nocreaterole nobypassrls noreplication;
