-- Writing the lexical index: shared checks and shapes for memory.index_chunks (new chunks, in the
-- same call as the chunks) and memory.store_lexical (`memvault reindex lexical`, reseal).

-- Checks one tenant's batch of lexical arrays (see memory.index_chunks for their shape): MV003 when
-- they do not line up, MV002 for a missing or out-of-range value, MV010 when the term key is not
-- the tenant's active data key (a writer with a stale key re-reads the tenant's keys and retries).
create or replace function memory.assert_lexical_batch(
  p_user_hash text,
  p_chunk_count integer,
  p_lengths integer[],
  p_chunks integer[],
  p_tokens bigint[],
  p_tfs integer[],
  p_term_key_id integer,
  p_analyzer_version smallint
)
returns void
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.assert_lexical_batch_shape(p_chunk_count, p_lengths, p_chunks, p_tokens, p_tfs, p_analyzer_version);
  if p_term_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
    raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
  end if;
end;
$$;

-- The shape part of the check, for one tenant's batch or a maintenance batch of many tenants.
create or replace function memory.assert_lexical_batch_shape(
  p_chunk_count integer,
  p_lengths integer[],
  p_chunks integer[],
  p_tokens bigint[],
  p_tfs integer[],
  p_analyzer_version smallint
)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if coalesce(cardinality(p_lengths), -1) <> p_chunk_count
     or coalesce(cardinality(p_chunks), -1) <> coalesce(cardinality(p_tokens), -2)
     or coalesce(cardinality(p_tfs), -1) <> coalesce(cardinality(p_tokens), -2) then
    raise exception 'lexical arrays differ in length' using errcode = 'MV003';
  end if;
  if p_analyzer_version is null or p_analyzer_version < 1
     or exists (select from unnest(p_lengths) l where l is null or l < 0)
     or exists (select from unnest(p_chunks, p_tokens, p_tfs) as u(chunk, token, tf)
                where u.chunk is null or u.chunk not between 1 and p_chunk_count or u.token is null or u.tf is null or u.tf < 1) then
    raise exception 'lexical index: lengths >= 0, postings (chunk 1..n, token, tf >= 1) and the analyzer version are required'
      using errcode = 'MV002';
  end if;
end;
$$;

-- Postings grouped per chunk (1-based index into the batch), tokens sorted, ready for lexical_chunks.
create or replace function memory.lexical_postings_by_chunk(p_chunks integer[], p_tokens bigint[], p_tfs integer[])
returns table (chunk integer, tokens bigint[], tfs integer[])
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select u.chunk, array_agg(u.token order by u.token), array_agg(u.tf order by u.token)
  from unnest(p_chunks, p_tokens, p_tfs) as u(chunk, token, tf)
  group by u.chunk;
$$;
