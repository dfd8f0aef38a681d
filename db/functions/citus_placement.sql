-- The relation a statement trigger on a memory table writes to when it maintains memory.<p_table>:
-- that table when the trigger fired on a table of schema memory; on a Citus worker, where the
-- trigger fires on a shard (`<table>_<shardid>`, db/citus/distribute.sql), the co-located shard of
-- memory.<p_table> — the one covering the same hash range. A trigger cannot write through the
-- distributed table there: Citus plans that as a distributed query, which cannot see the trigger's
-- transition tables. Citus's catalogue is named only in dynamic SQL, so the function compiles and
-- runs without Citus.
create or replace function memory.trigger_target(p_trigger_relid oid, p_table text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_relname text;
  v_target text;
begin
  select c.relname into v_relname
  from pg_catalog.pg_class c
  where c.oid = p_trigger_relid and c.relnamespace = 'memory'::regnamespace;
  if v_relname is null or not exists (select from pg_catalog.pg_extension where extname = 'citus') then
    return format('memory.%I', p_table);
  end if;
  execute $q$
    select pg_catalog.shard_name(format('memory.%I', $2)::regclass, target.shardid)
    from pg_catalog.pg_dist_shard fired
    join pg_catalog.pg_dist_shard target
      on target.logicalrelid = format('memory.%I', $2)::regclass
     and target.shardminvalue = fired.shardminvalue
    where fired.shardid = substring($1 from '_(\d+)$')::bigint
  $q$ into v_target using v_relname, p_table;
  -- No shard suffix: the trigger fired on the distributed table itself (the coordinator's shell).
  return coalesce(v_target, format('memory.%I', p_table));
end;
$$;

-- True on a Citus worker (a node with the citus extension that is not the coordinator). A
-- reference table's triggers fire on every node's placement, a worker's inside a two-phase
-- transaction, where NOTIFY is refused; the daemons LISTEN on the coordinator, whose own placement
-- fires the same trigger. False without Citus.
create or replace function memory.on_citus_worker()
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_coordinator boolean;
begin
  if not exists (select from pg_catalog.pg_extension where extname = 'citus') then
    return false;
  end if;
  execute 'select pg_catalog.citus_is_coordinator()' into v_coordinator;
  return not v_coordinator;
end;
$$;
