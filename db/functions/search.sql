-- Top-N chunks of one tenant by cosine distance to p_embedding, optionally filtered by doc_id and
-- source. Returns ciphertexts; the caller opens them. Exact for small and medium tenants, HNSW for
-- large ones (memory.dense_search_sql explains why); planned per call (EXECUTE) with the tenant
-- known. p_embedding is the query's search vector; with the narrow layout (memory.search_layout())
-- distances are halfvec distances, so two nearly tied chunks may swap places against float32: the
-- daemon calls memory.search_candidates and re-scores; this procedure is for SQL callers.
create or replace function memory.search(
  p_user_hash text,
  p_embedding public.vector,
  p_limit integer default 24,
  p_doc_id text default null,
  p_source text default null
)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  key_id integer,
  distance double precision
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_exact boolean;
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.assert_search_arguments(p_embedding, p_limit);
  v_exact := memory.search_is_exact(p_user_hash);
  -- The ANN tuning matters to the HNSW shape only.
  if not v_exact then
    perform memory.apply_ann_settings();
  end if;
  if memory.search_layout() = 'vectors' then
    return query execute
      'select s.id, s.doc_id, s.source, s.text_cipher, s.meta_cipher, s.key_id, s.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, v_exact, true) || ') s'
      using p_user_hash, p_embedding::public.halfvec, p_limit, p_doc_id, p_source;
  else
    return query execute
      'select s.id, s.doc_id, s.source, s.text_cipher, s.meta_cipher, s.key_id, s.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, v_exact, false) || ') s'
      using p_user_hash, p_embedding, p_limit, p_doc_id, p_source;
  end if;
end;
$$;

-- The checks every dense search makes of its query vector and limit (MV002, MV008, MV007).
create or replace function memory.assert_search_arguments(p_embedding public.vector, p_limit integer)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
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
end;
$$;
