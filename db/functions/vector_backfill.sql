-- Filling the narrow search layout for chunks written before it, and protecting the search vectors
-- of chunks written before protected vectors (maintenance mode, memory_maintainer): `memvault
-- reindex vectors` claims chunks whose memory.chunk_vectors row is missing or stale, opens their
-- sealed embedding, makes the search vector the write path would make (src/crypto/search-vector.ts:
-- protected under the tenant's active data key) and stores it, emptying the wide row's clear copy; when no chunk is left without one, it switches dense
-- search to the narrow layout (memory.search_layout()). Until then search reads memory_chunks, so
-- queries are complete at every moment of the migration.

-- Chunks whose search vector is missing or stale (clear, or protected under a data key that is no
-- longer the tenant's active one; issue 13), oldest tenant/id first after the keyset cursor, locked
-- SKIP LOCKED so several workers share a pass and live writers are never waited on. A run that is
-- interrupted leaves the rest stale and the next run claims them: resumable and idempotent.
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
      and (
        -- A clear copy left in the wide row (written before protected vectors, or by the previous
        -- release's logic after a rollback).
        c.embedding is not null
        -- No search vector, a clear one, or one protected under a key that is not the tenant's
        -- active data key (`reseal --tenant` replaced it).
        or not exists (
          select from memory.chunk_vectors v
          join memory.tenant_keys k on k.user_hash = v.user_hash and k.dek_id = v.vector_key_id and k.active
          where v.user_hash = c.user_hash and v.id = c.id and v.vector_scheme = 1))
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

-- Stores search vectors with their scheme (parallel arrays; issue 13): 0 / key 0 clear, 1 / the
-- tenant's active data key protected under its vector key. Replaces a chunk's stale vector and
-- sets the wide row's memory_chunks.embedding to match: null for a protected vector (no clear copy
-- left), the clear vector for a clear one. A protected vector under a key that is no longer the
-- tenant's active one (replaced since the batch was claimed) is skipped, and stays stale for the
-- next run, as are chunks deleted meanwhile. Returns how many it stored.
create or replace function memory.store_search_vectors(
  p_user_hashes text[],
  p_ids uuid[],
  p_vectors public.vector[],
  p_schemes smallint[],
  p_key_ids integer[]
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
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_vectors), -1) <> v_count
     or coalesce(cardinality(p_schemes), -1) <> v_count or coalesce(cardinality(p_key_ids), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_vectors, p_schemes, p_key_ids) as u(user_hash, id, vec, scheme, key_id)
             where u.user_hash is null or u.id is null or u.vec is null
                or not ((u.scheme = 0 and u.key_id = 0) or (u.scheme = 1 and u.key_id > 0))) then
    raise exception 'user_hashes, ids and vectors must be present; schemes 0 with key 0, or 1 with a data key id' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_vectors) e where public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every vector must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;
  with batch as (
    select u.user_hash, u.id, u.vec, u.scheme, u.key_id
    from unnest(p_user_hashes, p_ids, p_vectors, p_schemes, p_key_ids) as u(user_hash, id, vec, scheme, key_id)
    where u.scheme = 0 or exists (
      select from memory.tenant_keys k where k.user_hash = u.user_hash and k.dek_id = u.key_id and k.active)
  ),
  wide as (
    update memory.memory_chunks c
       set embedding = case when b.scheme = 0 then b.vec end
      from batch b
     where c.user_hash = b.user_hash and c.id = b.id
    returning c.user_hash, c.id
  )
  insert into memory.chunk_vectors as v (user_hash, id, embedding, vector_scheme, vector_key_id)
  select b.user_hash, b.id, b.vec::public.halfvec, b.scheme, b.key_id
  from batch b
  join wide w on w.user_hash = b.user_hash and w.id = b.id
  on conflict (user_hash, id) do update
    set embedding = excluded.embedding, vector_scheme = excluded.vector_scheme, vector_key_id = excluded.vector_key_id;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- What the stored search vectors are, across tenants, for doctor and `memvault reindex vectors`:
-- chunks; chunks with no search vector; with a clear one; with one protected under a data key
-- that is not the tenant's active one; and wide rows still holding a clear copy of the embedding
-- (memory_chunks.embedding). Counts only.
create or replace function memory.vector_protection()
returns table (chunks bigint, missing bigint, clear bigint, stale_key bigint, clear_copies bigint)
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
           count(*) filter (where v.vector_scheme = 0),
           count(*) filter (where v.vector_scheme = 1 and not exists (
             select from memory.tenant_keys k where k.user_hash = v.user_hash and k.dek_id = v.vector_key_id and k.active)),
           count(*) filter (where c.embedding is not null)
    from memory.memory_chunks c
    left join memory.chunk_vectors v on v.user_hash = c.user_hash and v.id = c.id;
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
