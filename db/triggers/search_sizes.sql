-- memory.tenant_search_sizes is kept by triggers on memory.chunk_vectors, so that dense search can
-- choose between the exact and the HNSW shape from one primary-key lookup instead of counting the
-- tenant's rows on every call (memory.search_is_exact). The number is an upper bound of the
-- tenant's search vectors, never less:
-- * an insert adds the rows it inserted; the tenant's first insert after this table appeared
--   (migration 000015) counts the rows it already had, so tenants written before need no backfill;
-- * a move to another tenant (rehash's update of user_hash) adds the moved rows to the new tenant;
-- * a delete does not subtract: it only removes the row of a tenant left without vectors
--   (delete_doc of the last document, forget_tenant, rehash's old hash), and skips it when a
--   concurrent writer holds it (that tenant is not empty), so a delete never waits on a writer here
--   and cannot deadlock against one.
-- A tenant with no row, or whose bound exceeds ann_exact_max_rows, is counted as before.
--
-- Not SECURITY DEFINER, like the lexical triggers: they act with the rights of whoever changed
-- chunk_vectors (the procedures under the tenant's context, maintenance jobs, the cascade from
-- memory_chunks) and write the co-located shard on a Citus worker (memory.trigger_target).
create or replace function memory.tg_chunk_vectors__search_sizes()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sizes text := memory.trigger_target(tg_relid, 'tenant_search_sizes');
  v_vectors text := memory.trigger_target(tg_relid, 'chunk_vectors');
  -- The rows this statement gave a tenant: all inserted rows, or the updated rows that changed
  -- tenant (an update of the vector itself changes no size).
  v_gained text := case tg_op
    when 'INSERT' then 'added'
    when 'UPDATE' then '(select a.user_hash from added a where not exists (select from removed r where r.user_hash = a.user_hash and r.id = a.id))'
  end;
  v_sized text[];
begin
  if tg_op in ('INSERT', 'UPDATE') then
    -- Tenants with a size: add what they gained.
    execute format($q$
      with grown as (
        update %1$s s set vectors_at_most = s.vectors_at_most + g.n
        from (select user_hash, count(*) as n from %2$s g group by user_hash) g
        where s.user_hash = g.user_hash
        returning s.user_hash)
      select coalesce(array_agg(user_hash), '{}') from grown$q$, v_sizes, v_gained)
      into v_sized;
    -- Tenants without one: count what they have, this statement's rows included. A concurrent first
    -- writer may have inserted the row meanwhile: then add only what this statement gained.
    execute format($q$
      insert into %1$s as s (user_hash, vectors_at_most)
      select g.user_hash, (select count(*) from %3$s v where v.user_hash = g.user_hash)
      from (select distinct user_hash from %2$s g) g
      where g.user_hash <> all($1)
      on conflict (user_hash) do update
        set vectors_at_most = s.vectors_at_most + (select count(*) from %2$s x where x.user_hash = excluded.user_hash)$q$,
      v_sizes, v_gained, v_vectors)
      using v_sized;
  end if;
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from %1$s s
      using (select e.user_hash from %1$s e
             where e.user_hash in (select distinct user_hash from removed)
               and not exists (select from %2$s v where v.user_hash = e.user_hash)
             for update skip locked) gone
      where s.user_hash = gone.user_hash$q$,
      v_sizes, v_vectors);
  end if;
  return null;
end;
$$;

drop trigger if exists _100_add_search_sizes on memory.chunk_vectors;
create trigger _100_add_search_sizes
  after insert on memory.chunk_vectors
  referencing new table as added
  for each statement execute function memory.tg_chunk_vectors__search_sizes();

drop trigger if exists _100_move_search_sizes on memory.chunk_vectors;
create trigger _100_move_search_sizes
  after update on memory.chunk_vectors
  referencing old table as removed new table as added
  for each statement execute function memory.tg_chunk_vectors__search_sizes();

drop trigger if exists _100_remove_search_sizes on memory.chunk_vectors;
create trigger _100_remove_search_sizes
  after delete on memory.chunk_vectors
  referencing old table as removed
  for each statement execute function memory.tg_chunk_vectors__search_sizes();
