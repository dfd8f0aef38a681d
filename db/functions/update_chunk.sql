-- Replaces one chunk's sealed text, metadata and embedding (re-sealed and, when the text changed,
-- re-embedded by the daemon; p_embedding is its search vector, src/crypto/search-vector.ts, stored as
-- halfvec in memory.chunk_vectors with p_vector_scheme / p_vector_key_id as memory.index_chunks
-- takes them, and in memory_chunks.embedding only when clear) in one statement, if the row is still at p_expected_version: a writer
-- that read an older version gets 'version_mismatch' and the current version instead of
-- overwriting a change it has not seen. The version goes up by one and updated_at moves (the
-- _100_touch_updated_at trigger on memory_chunks). Statuses: 'updated', 'not_found',
-- 'version_mismatch'. Like index_chunks it refuses blobs sealed under a data key that is no longer
-- the tenant's active one (MV010), and checks the embedding's dimension (MV008).
--
-- With p_text_changed the lexical index follows the new text in the same statement: its row is
-- replaced by p_lex_length / p_lex_tokens / p_lex_tfs (keyed under data key p_term_key_id by
-- analyzer p_analyzer_version, as memory.index_chunks takes them), so the old terms stop matching
-- at once; p_lex_length null drops the row (the chunk is then missing from the index, which
-- `memvault doctor` reports and `memvault reindex lexical` repairs) rather than leave stale terms.
create or replace function memory.update_chunk(
  p_user_hash text,
  p_id uuid,
  p_expected_version bigint,
  p_text_cipher bytea,
  p_meta_cipher bytea,
  p_emb_cipher bytea,
  p_embedding public.vector,
  p_key_id integer,
  p_key_scheme smallint,
  p_text_changed boolean,
  p_lex_length integer,
  p_lex_tokens bigint[],
  p_lex_tfs integer[],
  p_term_key_id integer,
  p_analyzer_version smallint,
  p_vector_scheme smallint,
  p_vector_key_id integer
)
returns table (
  status text,
  doc_id text,
  source text,
  created_at timestamptz,
  updated_at timestamptz,
  version bigint
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row record;
begin
  perform memory.set_tenant(p_user_hash);
  if p_id is null or p_expected_version is null or p_text_cipher is null or p_meta_cipher is null
     or p_emb_cipher is null or p_embedding is null or p_key_id is null or p_key_scheme is distinct from 2 then
    raise exception 'id, expected version, ciphertexts, embedding and a data key (scheme 2) are required'
      using errcode = 'MV002';
  end if;
  if p_vector_scheme is null or p_vector_key_id is null
     or not ((p_vector_scheme = 0 and p_vector_key_id = 0) or (p_vector_scheme = 1 and p_vector_key_id = p_key_id)) then
    raise exception 'vector_scheme 0 with vector_key_id 0, or 1 with the sealing data key''s id' using errcode = 'MV002';
  end if;
  if public.vector_dims(p_embedding) <> memory.embedding_dim() then
    raise exception 'embedding has % dimensions, the schema has %', public.vector_dims(p_embedding), memory.embedding_dim()
      using errcode = 'MV008';
  end if;
  if not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;

  update memory.memory_chunks c
     set text_cipher = p_text_cipher, meta_cipher = p_meta_cipher, emb_cipher = p_emb_cipher,
         embedding = case when p_vector_scheme = 0 then p_embedding end, key_id = p_key_id, key_scheme = p_key_scheme, version = c.version + 1,
         -- The metadata may have changed: its filter tokens are keyed again before the next
         -- filtered read (memory.filter_backlog).
         filter_tokens = null, filter_key_id = null
   where c.user_hash = p_user_hash and c.id = p_id and c.version = p_expected_version
  returning c.doc_id, c.source, c.created_at, c.updated_at, c.version into v_row;
  if found then
    -- The narrow search layout's copy of the search vector follows (upsert: a chunk the vector
    -- backfill has not reached yet gets its row now).
    insert into memory.chunk_vectors as v (user_hash, id, embedding, vector_scheme, vector_key_id)
    values (p_user_hash, p_id, p_embedding::public.halfvec, p_vector_scheme, p_vector_key_id)
    on conflict (user_hash, id) do update
      set embedding = excluded.embedding, vector_scheme = excluded.vector_scheme, vector_key_id = excluded.vector_key_id;
    if p_text_changed and p_lex_length is null then
      delete from memory.lexical_chunks l where l.user_hash = p_user_hash and l.chunk_id = p_id;
    elsif p_text_changed then
      perform memory.assert_lexical_batch(p_user_hash, 1, array[p_lex_length],
        array_fill(1, array[coalesce(cardinality(p_lex_tokens), 0)]), p_lex_tokens, p_lex_tfs,
        p_term_key_id, p_analyzer_version);
      -- Upsert: the lexical_chunks triggers move the postings and the tenant's counts.
      insert into memory.lexical_chunks as l (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
      select p_user_hash, p_id, p_lex_length, coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_id, p_analyzer_version
      from (select 1) one
      left join memory.lexical_postings_by_chunk(array_fill(1, array[coalesce(cardinality(p_lex_tokens), 0)]), p_lex_tokens, p_lex_tfs) t on true
      on conflict (user_hash, chunk_id) do update
        set length = excluded.length, tokens = excluded.tokens, tfs = excluded.tfs,
            term_key_id = excluded.term_key_id, analyzer_version = excluded.analyzer_version;
    end if;
    perform memory.notify_event('chunk_updated', p_user_hash, 1, array[p_id]);
    return query select 'updated'::text, v_row.doc_id, v_row.source, v_row.created_at, v_row.updated_at, v_row.version;
    return;
  end if;
  -- Not updated: tell a missing row from a newer version (the current one, for the 412).
  return query
    select 'version_mismatch'::text, c.doc_id, c.source, c.created_at, c.updated_at, c.version
    from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = p_id;
  if not found then
    return query select 'not_found'::text, null::text, null::text, null::timestamptz, null::timestamptz, null::bigint;
  end if;
end;
$$;

-- The previous signature (no vector scheme): a clear search vector, for a daemon of the release
-- before protected vectors during a rolling deploy (`memvault reindex vectors` protects the row).
create or replace function memory.update_chunk(
  p_user_hash text,
  p_id uuid,
  p_expected_version bigint,
  p_text_cipher bytea,
  p_meta_cipher bytea,
  p_emb_cipher bytea,
  p_embedding public.vector,
  p_key_id integer,
  p_key_scheme smallint,
  p_text_changed boolean,
  p_lex_length integer,
  p_lex_tokens bigint[],
  p_lex_tfs integer[],
  p_term_key_id integer,
  p_analyzer_version smallint
)
returns table (
  status text,
  doc_id text,
  source text,
  created_at timestamptz,
  updated_at timestamptz,
  version bigint
)
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select * from memory.update_chunk(p_user_hash, p_id, p_expected_version, p_text_cipher, p_meta_cipher,
    p_emb_cipher, p_embedding, p_key_id, p_key_scheme, p_text_changed, p_lex_length, p_lex_tokens, p_lex_tfs,
    p_term_key_id, p_analyzer_version, 0::smallint, 0);
$$;
