-- Role bootstrap: run by a superuser (or a role with CREATEROLE) before migrations, and safe to run
-- again. Roles live outside migrations (graphile-migrate's advice): they are cluster-wide, while
-- migrations are per database.
--
--   memory_owner  NOLOGIN; owns the schema, tables and procedures. Not BYPASSRLS, and the table
--                 has FORCE ROW LEVEL SECURITY, so even the owner (and so every SECURITY DEFINER
--                 procedure) only sees the tenant set in memory.user_hash. LOGIN in a database
--                 with the citus extension: Citus reaches the workers as the current role, which
--                 inside a SECURITY DEFINER procedure is the owner (reference-table writes, the RLS
--                 probe); pg_hba on every node must then admit memory_owner only from the other
--                 nodes (docs/DEPLOYMENT.md "Citus").
--   memory_app    LOGIN; the daemon. EXECUTE on procedures and USAGE on the schema only.
--   memory_maintainer  LOGIN; key rotation, re-sealing and re-hashing jobs. EXECUTE on the
--                 maintenance procedures, which may work across tenants (docs/KEYS.md).
do $bootstrap$
declare
  v_role record;
  v_changes text;
  v_citus boolean := exists (select from pg_catalog.pg_extension where extname = 'citus');
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

  -- Re-assert the attributes every time, so a role altered by hand is put back. Only the attributes
  -- that differ are altered: PostgreSQL lets only a superuser touch SUPERUSER, REPLICATION and
  -- BYPASSRLS (even to turn them off), so a CREATEROLE migrator can re-run this as long as nobody
  -- has granted those; if someone has, the error below is the right outcome.
  for v_role in
    select r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls,
           r.rolreplication, (r.rolname <> 'memory_owner' or v_citus) as should_login
    from pg_catalog.pg_roles r
    where r.rolname in ('memory_owner', 'memory_app', 'memory_maintainer')
  loop
    v_changes := concat_ws(' ',
      case when v_role.rolcanlogin <> v_role.should_login
           then case when v_role.should_login then 'login' else 'nologin' end end,
      case when v_role.rolsuper then 'nosuperuser' end,
      case when v_role.rolcreatedb then 'nocreatedb' end,
      case when v_role.rolcreaterole then 'nocreaterole' end,
      case when v_role.rolbypassrls then 'nobypassrls' end,
      case when v_role.rolreplication then 'noreplication' end);
    if v_changes <> '' then
      execute format('alter role %I %s', v_role.rolname, v_changes);
    end if;
  end loop;

  -- The migrations hand every object to memory_owner (ALTER ... OWNER TO), which a non-superuser
  -- may only do as a member of that role. memory_owner is NOLOGIN and bound by FORCE RLS, so the
  -- membership gives the migrator nothing a superuser migrator would not already have.
  if not (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user)
     and not pg_catalog.pg_has_role(current_user, 'memory_owner', 'member') then
    execute format('grant memory_owner to %I', current_user);
  end if;
end
$bootstrap$;
