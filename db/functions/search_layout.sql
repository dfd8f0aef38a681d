-- Which layout dense search reads (migration 000011, docs/ARCHITECTURE.md "Search layout"):
-- 'vectors', the narrow memory.chunk_vectors (halfvec) table, or 'chunks', the float32 embedding
-- column of memory.memory_chunks, which databases upgraded with chunks keep until
-- `memvault reindex vectors` has given every chunk its search vector. The job records 'vectors'
-- when nothing is missing (memory.finish_vector_backfill); it is not a memory.set_setting key, so
-- nobody can switch to a half-filled table. Absent: 'chunks', the layout every chunk is in.
create or replace function memory.search_layout()
returns text
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select coalesce((select s.value #>> '{}' from memory.settings s where s.key = 'search_layout'), 'chunks');
$$;
