-- Filling the narrow search layout for chunks written before it (maintenance mode,
-- memory_maintainer): `memvault reindex vectors` claims chunks without a memory.chunk_vectors row,
-- opens their sealed embedding, makes the search vector the write path would have made
-- (src/crypto/search-vector.ts) and stores it; when no chunk is left without one, it switches dense
-- search to the narrow layout (memory.search_layout()). Until then search reads memory_chunks, so
-- queries are complete at every moment of the migration.

-- Chunks without a search vector, oldest tenant/id first after the keyset cursor, locked SKIP
-- LOCKED so several workers share a pass and live writers are never waited on.
create or replace function memory.claim_vector_backfill(
  p_limit integer,
  p_user_hash text default null,
  p_after_hash text default '',
  p_after_id uuid default '00000000-0000-0000-0000-000000000000'
)
returns table (
  user_hash text, id uuid, doc_id text, source text, emb_cipher bytea, key_scheme smallint, key_id integer
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    -- doc_id and source: a version-3 blob's AAD binds them.
    select c.user_hash, c.id, c.doc_id, c.source, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and not exists (select from memory.chunk_vectors v where v.user_hash = c.user_hash and v.id = c.id)
    order by c.user_hash, c.id
    limit p_limit
    for update of c skip locked;
end;
$$;

-- Stores search vectors for the given chunks (parallel arrays). Chunks deleted meanwhile, and
-- chunks that got their vector meanwhile, are skipped. Returns how many it stored.
create or replace function memory.store_search_vectors(
  p_user_hashes text[],
  p_ids uuid[],
  p_vectors public.vector[]
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_n integer;
begin
  perform memory.begin_maintenance();
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_vectors), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_vectors) as u(user_hash, id, vec)
             where u.user_hash is null or u.id is null or u.vec is null) then
    raise exception 'user_hashes, ids and vectors must be present' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_vectors) e where public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every vector must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;
  insert into memory.chunk_vectors (user_hash, id, embedding)
  select u.user_hash, u.id, u.vec::public.halfvec
  from unnest(p_user_hashes, p_ids, p_vectors) as u(user_hash, id, vec)
  join memory.memory_chunks c on c.user_hash = u.user_hash and c.id = u.id
  on conflict do nothing;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- Coverage across tenants, for doctor and the job's progress: chunks, chunks without a search
-- vector, and the layout dense search reads. Counts only.
create or replace function memory.vector_coverage()
returns table (chunks bigint, missing bigint, layout text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select count(*),
           count(*) filter (where v.id is null),
           memory.search_layout()
    from memory.memory_chunks c
    left join memory.chunk_vectors v on v.user_hash = c.user_hash and v.id = c.id;
end;
$$;

-- Switches dense search to the narrow layout once every chunk has its search vector, and returns
-- the layout in force and how many chunks still miss one. The check and the switch are atomic
-- against writers: memory_chunks is locked in SHARE mode (writers wait, readers do not) for the
-- check, so no chunk can appear without its vector between the count and the switch. Writers have
-- written both layouts since migration 000011, so after the switch nothing can be missing.
create or replace function memory.finish_vector_backfill()
returns table (missing bigint, layout text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_missing bigint;
begin
  perform memory.begin_maintenance();
  if memory.search_layout() <> 'vectors' then
    lock table memory.memory_chunks in share mode;
    select count(*) into v_missing
    from memory.memory_chunks c
    where not exists (select from memory.chunk_vectors v where v.user_hash = c.user_hash and v.id = c.id);
    if v_missing = 0 then
      insert into memory.settings (key, value) values ('search_layout', '"vectors"')
      on conflict (key) do update set value = excluded.value, updated_at = now();
    end if;
  else
    v_missing := 0;
  end if;
  return query select v_missing, memory.search_layout();
end;
$$;
