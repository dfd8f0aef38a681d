-- Maintenance of the lexical index (maintenance mode, memory_maintainer): `memvault reindex lexical`
-- claims chunks whose index row is missing or stale and stores their new analysis; doctor counts.
-- A chunk's index is stale when it was analysed by another analyzer version, or keyed under a data
-- key that is no longer the tenant's active one (after `reseal --tenant` the term key changed, and
-- queries key their terms under the active key only).

-- Chunks needing (re)indexing, oldest tenant/id first after the keyset cursor, locked SKIP LOCKED
-- so several workers share a pass and live writers are never waited on.
create or replace function memory.claim_lexical_reindex(
  p_limit integer,
  p_analyzer_version smallint,
  p_user_hash text default null,
  p_after_hash text default '',
  p_after_id uuid default '00000000-0000-0000-0000-000000000000'
)
returns table (user_hash text, id uuid, doc_id text, source text, text_cipher bytea, key_id integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    -- doc_id and source: a version-3 blob's AAD binds them.
    select c.user_hash, c.id, c.doc_id, c.source, c.text_cipher, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and not exists (
        select from memory.lexical_chunks l
        join memory.tenant_keys k on k.user_hash = l.user_hash and k.dek_id = l.term_key_id and k.active
        where l.user_hash = c.user_hash and l.chunk_id = c.id and l.analyzer_version = p_analyzer_version)
    order by c.user_hash, c.id
    limit p_limit
    for update of c skip locked;
end;
$$;

-- Replaces the index rows of the given chunks (parallel arrays per chunk; postings as in
-- memory.index_chunks, p_chunks indexing into p_ids). Chunks deleted meanwhile are skipped. Each
-- term key must be its tenant's active data key (MV010: the job re-reads the keys and retries).
create or replace function memory.store_lexical(
  p_user_hashes text[],
  p_ids uuid[],
  p_term_key_ids integer[],
  p_lengths integer[],
  p_chunks integer[],
  p_tokens bigint[],
  p_tfs integer[],
  p_analyzer_version smallint
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
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_term_key_ids), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_term_key_ids) as u(user_hash, id, term_key_id)
             where u.user_hash is null or u.id is null or u.term_key_id is null) then
    raise exception 'user_hashes, ids and term_key_ids must be present' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_user_hashes, p_term_key_ids) as u(user_hash, term_key_id)
             where not exists (select from memory.tenant_keys k
                               where k.user_hash = u.user_hash and k.dek_id = u.term_key_id and k.active)) then
    raise exception 'a term key is not its tenant''s active data key' using errcode = 'MV010';
  end if;
  -- One tenant's check covers the array shapes and values; the key check above covered all tenants.
  perform memory.assert_lexical_batch_shape(v_count, p_lengths, p_chunks, p_tokens, p_tfs, p_analyzer_version);
  delete from memory.lexical_chunks l
  using unnest(p_user_hashes, p_ids) as u(user_hash, id)
  where l.user_hash = u.user_hash and l.chunk_id = u.id;
  insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
  select p_user_hashes[i], p_ids[i], p_lengths[i], coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_ids[i], p_analyzer_version
  from generate_subscripts(p_ids, 1) as i
  join memory.memory_chunks c on c.user_hash = p_user_hashes[i] and c.id = p_ids[i]
  left join memory.lexical_postings_by_chunk(p_chunks, p_tokens, p_tfs) t on t.chunk = i;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- Index coverage across tenants, for doctor: chunks, chunks indexed under the current analyzer and
-- the tenant's active key, chunks not indexed at all, and chunks indexed but stale. Counts only.
create or replace function memory.lexical_coverage(p_analyzer_version smallint)
returns table (chunks bigint, current bigint, missing bigint, stale bigint)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select count(*),
           count(*) filter (where l.chunk_id is not null and l.analyzer_version = p_analyzer_version and k.dek_id is not null),
           count(*) filter (where l.chunk_id is null),
           count(*) filter (where l.chunk_id is not null and (l.analyzer_version <> p_analyzer_version or k.dek_id is null))
    from memory.memory_chunks c
    left join memory.lexical_chunks l on l.user_hash = c.user_hash and l.chunk_id = c.id
    left join memory.tenant_keys k on k.user_hash = l.user_hash and k.dek_id = l.term_key_id and k.active;
end;
$$;
