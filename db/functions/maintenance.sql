-- Maintenance mode: the one way to work across tenants (key rotation, re-sealing, re-hashing).
-- Only a session logged in as a member of memory_maintainer (or a superuser) may enter it — the
-- check is on session_user, which a client cannot change — and the mode is transaction-local, like
-- the tenant context. A transaction is either for one tenant or in maintenance, never both.
create or replace function memory.in_maintenance()
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(current_setting('memory.maintenance', true), '') = 'on'
     and pg_has_role(session_user, 'memory_maintainer', 'member');
$$;

create or replace function memory.begin_maintenance()
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if not pg_has_role(session_user, 'memory_maintainer', 'member') then
    raise exception 'maintenance procedures need a memory_maintainer session' using errcode = 'MV009';
  end if;
  if coalesce(current_setting('memory.user_hash', true), '') <> '' then
    raise exception 'this transaction already acts for a tenant' using errcode = 'MV004';
  end if;
  -- On Citus the tenant tables' shards live on the workers, which Citus reaches as memory_owner
  -- in a session that carries neither this mode nor a maintainer login: the policy would hide every
  -- row there and a key job would report work done that it never did (and a KEK still in use could
  -- pass as retirable). Refused until maintenance runs per worker (docs/DEPLOYMENT.md "Citus").
  if exists (select from pg_catalog.pg_extension where extname = 'citus') then
    raise exception 'maintenance across tenants is not supported on Citus yet' using errcode = 'MV013';
  end if;
  perform set_config('memory.maintenance', 'on', true);
end;
$$;
