-- Distributes memvault's schema on a Citus coordinator. Not a migration: `memvault migrate` runs it
-- after the committed migrations whenever the database has the citus extension, every time, so
-- what a later migration adds (a table, a procedure) is distributed by the next migrate. Idempotent:
-- objects Citus already knows are left alone. Runs as a superuser (create_distributed_table and
-- create_distributed_function need the owner or a superuser).
--
-- The tenant is the distribution column: every table with a user_hash column is hash-distributed
-- by it, co-located with memory_chunks, so one tenant's chunks, keys and lexical postings live in
-- one shard group on one worker; RLS policies, FORCE RLS, indexes (HNSW per shard) and triggers go
-- with the shards. Tables without a tenant (settings, retired_keks, key_stats) become reference
-- tables, copied to every node, because delegated procedures on a worker read them.
--
-- Tenant procedures (first argument p_user_hash, no default) are delegated: Citus sends the call to
-- the worker holding that tenant's shard group, where the procedure sets the transaction-local tenant
-- context, takes the tenant lock and reads its shard under RLS in one local transaction.
-- force_delegation keeps delegating inside an explicit transaction (withTenant), which Citus then
-- pins to that worker. Every other procedure is propagated without a distribution argument, so
-- delegated procedures find their helpers on the worker; it runs on the coordinator when called.
-- `( SELECT f(...) AS f)` -> `f(...)` for the two setting reads the policies make (pg_get_expr's
-- spelling). A temporary function: it lives in this session only and Citus does not propagate it.
create or replace function pg_temp.memory_citus_unwrap(p_expr text)
returns text
language sql
immutable
as $$
  select regexp_replace(p_expr,
    '\(\s*SELECT (current_setting\(''memory\.[a-z_]+''::text, true\)|memory\.in_maintenance\(\)) AS [a-z_]+\)',
    '\1', 'g');
$$;

do $citus$
declare
  v_fkey record;
  v_policy record;
  v_table regclass;
  v_function regprocedure;
  v_tenant boolean;
begin
  if not exists (select from pg_catalog.pg_extension where extname = 'citus') then
    return;
  end if;
  -- Citus reaches the workers as the current role, memory_owner inside SECURITY DEFINER procedures
  -- (db/bootstrap/roles.sql gives it LOGIN on Citus): it needs CONNECT like the other two.
  execute format('grant connect on database %I to memory_owner', current_database());
  -- Statement-level triggers (NOTIFY, lexical postings) fire on the shards.
  perform pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);

  -- Citus refuses sub-selects in the policies of distributed tables. The policies wrap their
  -- setting reads in one (`(select current_setting(...))`, evaluated once per query:
  -- db/CONVENTIONS.md); on Citus they read the setting directly, which means the same thing
  -- (current_setting is stable within a statement), before the tables are distributed.
  for v_policy in
    select pol.polname, pol.polrelid::regclass as rel,
           pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) as qual,
           pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) as with_check
    from pg_catalog.pg_policy pol
    join pg_catalog.pg_class c on c.oid = pol.polrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'memory'
      and not exists (select from pg_catalog.pg_dist_partition p where p.logicalrelid = pol.polrelid)
      and (pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) ~* '\(\s*select '
           or pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) ~* '\(\s*select ')
  loop
    execute format('alter policy %I on %s using (%s)%s', v_policy.polname, v_policy.rel,
      pg_temp.memory_citus_unwrap(v_policy.qual),
      case when v_policy.with_check is null then ''
           else format(' with check (%s)', pg_temp.memory_citus_unwrap(v_policy.with_check)) end);
  end loop;

  -- Citus refuses ON UPDATE CASCADE on a foreign key that includes the distribution column; it
  -- exists for re-hashing a tenant (an UPDATE of user_hash), which Citus refuses anyway (a row
  -- cannot change shards by UPDATE) and memvault refuses on Citus (maintenance, MV013).
  for v_fkey in
    select con.conname, con.conrelid::regclass as rel, pg_catalog.pg_get_constraintdef(con.oid) as def
    from pg_catalog.pg_constraint con
    join pg_catalog.pg_class c on c.oid = con.conrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'memory' and con.contype = 'f' and con.confupdtype <> 'a'
      and not exists (select from pg_catalog.pg_dist_partition p where p.logicalrelid = con.conrelid)
  loop
    execute format('alter table %s drop constraint %I, add constraint %I %s', v_fkey.rel, v_fkey.conname,
      v_fkey.conname, regexp_replace(v_fkey.def, ' ON UPDATE (CASCADE|SET NULL|SET DEFAULT|RESTRICT)', ''));
  end loop;

  if not exists (select from pg_catalog.pg_dist_partition where logicalrelid = 'memory.memory_chunks'::regclass) then
    perform pg_catalog.create_distributed_table('memory.memory_chunks', 'user_hash', colocate_with := 'none');
  end if;

  -- Tenant tables in dependency order (a foreign key's target first), then reference tables.
  for v_table in
    select c.oid::regclass
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'memory' and c.relkind = 'r'
      and not exists (select from pg_catalog.pg_dist_partition p where p.logicalrelid = c.oid)
    order by exists (select from pg_catalog.pg_constraint f where f.conrelid = c.oid and f.contype = 'f'),
             c.relname
  loop
    if exists (select from pg_catalog.pg_attribute a
               where a.attrelid = v_table and a.attname = 'user_hash' and not a.attisdropped) then
      perform pg_catalog.create_distributed_table(v_table, 'user_hash', colocate_with := 'memory.memory_chunks');
    else
      perform pg_catalog.create_reference_table(v_table);
    end if;
  end loop;

  for v_function, v_tenant in
    with fns as (
      select p.oid, p.oid::regprocedure as sig,
             -- A tenant procedure: its first argument is the tenant and has no default.
             coalesce(p.proargnames[1] = 'p_user_hash' and p.pronargdefaults < p.pronargs, false) as tenant
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'memory' and p.prokind = 'f' and p.prorettype <> 'pg_catalog.trigger'::regtype
    )
    select f.sig, f.tenant from fns f
    where not exists (select from pg_catalog.pg_dist_object o
                      where o.classid = 'pg_catalog.pg_proc'::regclass and o.objid = f.oid
                        and (o.distribution_argument_index is not null or not f.tenant))
    order by f.tenant, f.sig::text
  loop
    if v_tenant then
      perform pg_catalog.create_distributed_function(v_function, 'p_user_hash',
        colocate_with := 'memory.memory_chunks', force_delegation := true);
    else
      perform pg_catalog.create_distributed_function(v_function);
    end if;
  end loop;
end;
$citus$;
