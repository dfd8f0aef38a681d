-- Hybrid first stage in one round trip, for SQL callers (the daemon calls memory.search_candidates): the tenant's top-N by cosine distance (memory.search's
-- query) and its top-N by BM25 (memory.search_lexical's query), as one result with a `side`
-- column; the daemon fuses them. One call holds one connection, as a dense query does (two
-- concurrent calls per query would double a busy pool's queue). `score`: cosine similarity for
-- the dense side, BM25 for the lexical side. Rows are not in rank order: the daemon sorts each
-- side by score, then id, the order the two queries use.
create or replace function memory.search_hybrid(
  p_user_hash text,
  p_embedding public.vector,
  p_tokens bigint[],
  p_limit integer,
  p_doc_id text,
  p_source text,
  p_term_key_id integer
)
returns table (
  side text,
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  key_id integer,
  score double precision
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_params record := memory.bm25_parameters();
begin
  perform memory.set_tenant(p_user_hash);
  if p_embedding is null then
    raise exception 'embedding is required' using errcode = 'MV002';
  end if;
  if public.vector_dims(p_embedding) <> memory.embedding_dim() then
    raise exception 'embedding has % dimensions, the schema has %', public.vector_dims(p_embedding), memory.embedding_dim()
      using errcode = 'MV008';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if p_tokens is null or cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
    raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
  end if;
  -- As in search_lexical: tokens keyed under a replaced data key would silently match nothing.
  if cardinality(p_tokens) > 0 and (p_term_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active)) then
    raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
  end if;
  perform memory.apply_ann_settings();
  -- The dense side as memory.search reads it (the layout in force); the daemon itself calls
  -- memory.search_candidates, which also returns the sealed embeddings it re-scores.
  return query
    select 'dense'::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.key_id, 1 - d.distance
    from memory.search(p_user_hash, p_embedding, p_limit, p_doc_id, p_source) d;
  if cardinality(p_tokens) > 0 then
    return query execute
      'select ''lexical''::text, l.* from (' || memory.search_lexical_sql(p_doc_id is not null, p_source is not null) || ') l'
      using p_user_hash, p_tokens, p_limit, p_doc_id, p_source, v_params.k1, v_params.b;
  end if;
end;
$$;
