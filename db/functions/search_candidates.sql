-- The daemon's first stage for the dense and hybrid modes, in one round trip (one pooled
-- connection per query): the tenant's p_dense_limit nearest chunks to p_query, the query's search
-- vector (memory.dense_search_sql, over the layout memory.search_layout() names), and, when tokens
-- are given, its p_lexical_limit best chunks by BM25 (memory.search_lexical_sql). The dense side
-- carries the sealed float32 embedding (emb_cipher): the daemon over-fetches it, re-scores it
-- exactly and cuts it (src/memory/rescore.ts) before fusing the two sides, so halfvec rounding never
-- decides what is returned. `score`: cosine similarity of the search vectors for the dense side,
-- BM25 for the lexical side. Rows are not in rank order. Tokens keyed under a data key that is not
-- the tenant's active one are refused (MV010), as in memory.search_lexical.
create or replace function memory.search_candidates(
  p_user_hash text,
  p_query public.vector,
  p_dense_limit integer,
  p_tokens bigint[],
  p_lexical_limit integer,
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
  emb_cipher bytea,
  key_id integer,
  score double precision
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_exact boolean;
  v_narrow boolean;
  v_params record;
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.assert_search_arguments(p_query, p_dense_limit);
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    if p_lexical_limit is null or p_lexical_limit < 1 or p_lexical_limit > 1000 then
      raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
    end if;
    if cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
      raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
    end if;
    if p_term_key_id is null or not exists (
         select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
      raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
    end if;
  end if;
  v_exact := memory.search_is_exact(p_user_hash);
  -- The ANN tuning matters to the HNSW shape only.
  if not v_exact then
    perform memory.apply_ann_settings();
  end if;
  v_narrow := memory.search_layout() = 'vectors';
  if v_narrow then
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, v_exact, true) || ') d'
      using p_user_hash, p_query::public.halfvec, p_dense_limit, p_doc_id, p_source;
  else
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, v_exact, false) || ') d'
      using p_user_hash, p_query, p_dense_limit, p_doc_id, p_source;
  end if;
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    v_params := memory.bm25_parameters();
    return query execute
      'select ''lexical''::text, l.id, l.doc_id, l.source, l.text_cipher, l.meta_cipher, null::bytea, l.key_id, l.score from ('
      || memory.search_lexical_sql(p_doc_id is not null, p_source is not null) || ') l'
      using p_user_hash, p_tokens, p_lexical_limit, p_doc_id, p_source, v_params.k1, v_params.b;
  end if;
end;
$$;
