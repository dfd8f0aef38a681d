-- The lexical index is kept by triggers on memory.lexical_chunks, so every path that adds, moves or
-- removes a chunk's index row (index_chunks, reindex, rehash, and the cascade from memory_chunks
-- when delete_doc, forget_tenant or a rehash deletes the chunk) keeps postings and per-tenant
-- statistics in step without repeating the bookkeeping. Statement-level with transition tables:
-- one set-based statement per write, not one per row. Not SECURITY DEFINER: they act with the
-- rights of whoever changed lexical_chunks — the procedures (memory_owner, under FORCE RLS, so
-- within the transaction's tenant or maintenance mode), the cascade from memory_chunks (run as the
-- table owner), or an operator's superuser session — so postings never outlive their chunk row.
--
-- Removed rows (delete, or the old side of an update): their postings, found through the tokens
-- they list (the postings' primary key), and their counts; a tenant left with no indexed chunk
-- has no statistics row. Added rows (insert, or the new side of an update): their postings
-- (token, chunk, tf, chunk length) and counts.
create or replace function memory.tg_lexical_chunks__sync_postings()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  -- memory.lexical_postings and memory.lexical_stats, or their co-located shards when this fires
  -- on a Citus shard (memory.trigger_target): hence the dynamic SQL.
  v_postings text := memory.trigger_target(tg_relid, 'lexical_postings');
  v_stats text := memory.trigger_target(tg_relid, 'lexical_stats');
begin
  -- Each branch names only the transition tables its trigger declares.
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from %s p
      using removed r cross join lateral unnest(r.tokens) as u(token)
      where p.user_hash = r.user_hash and p.token = u.token and p.chunk_id = r.chunk_id$q$, v_postings);
    execute format($q$
      update %s s
         set chunks = s.chunks - r.chunks, total_length = s.total_length - r.total_length
        from (select user_hash, count(*) as chunks, sum(length) as total_length from removed group by user_hash) r
       where s.user_hash = r.user_hash$q$, v_stats);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    execute format($q$
      insert into %s (user_hash, token, chunk_id, tf, chunk_length)
      select a.user_hash, u.token, a.chunk_id, u.tf, a.length
      from added a cross join lateral unnest(a.tokens, a.tfs) as u(token, tf)$q$, v_postings);
    execute format($q$
      insert into %s as s (user_hash, chunks, total_length)
      select a.user_hash, count(*), sum(a.length) from added a group by a.user_hash
      on conflict (user_hash) do update
        set chunks = s.chunks + excluded.chunks, total_length = s.total_length + excluded.total_length$q$, v_stats);
  end if;
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from %s s
       where s.chunks <= 0 and s.user_hash in (select distinct user_hash from removed)$q$, v_stats);
  end if;
  return null;
end;
$$;

drop trigger if exists _100_add_postings on memory.lexical_chunks;
create trigger _100_add_postings
  after insert on memory.lexical_chunks
  referencing new table as added
  for each statement execute function memory.tg_lexical_chunks__sync_postings();

drop trigger if exists _100_move_postings on memory.lexical_chunks;
create trigger _100_move_postings
  after update on memory.lexical_chunks
  referencing old table as removed new table as added
  for each statement execute function memory.tg_lexical_chunks__sync_postings();

drop trigger if exists _100_remove_postings on memory.lexical_chunks;
create trigger _100_remove_postings
  after delete on memory.lexical_chunks
  referencing old table as removed
  for each statement execute function memory.tg_lexical_chunks__sync_postings();
