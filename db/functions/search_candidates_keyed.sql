-- The daemon's dense and hybrid first stage over protected search vectors (issue 13, docs/CRYPTO.md
-- "Protected vectors"): memory.search_candidates_chunks with one query vector per vector scheme and
-- key instead of one. A stored search vector is clear (vector_scheme 0, vector_key_id 0) or
-- protected under the vector key of one of the tenant's data keys (1, its id); a query is compared
-- only with the vectors of its own (scheme, key), each of which gets up to p_dense_limit
-- candidates, and the daemon re-scores them all from the sealed float32 embeddings before the cut
-- (src/memory/rescore.ts), so a tenant whose vectors are being migrated (`memvault reindex
-- vectors`, `reseal --tenant`) is searched completely.
--
-- The daemon sends the query for the tenant's active data key. When the tenant also holds vectors
-- under a (scheme, key) it sent no query for, nothing is searched: one row per such pair comes
-- back with side 'vector_key', key_id = the key and score = the scheme, and the daemon calls again
-- with those queries added. Which pairs a tenant holds is read from chunk_vectors_scheme_idx by a
-- loose index scan: one index descent per pair, not a scan of the tenant. In the 'chunks' layout
-- (a database upgraded before the narrow layout was filled) clear vectors are searched in
-- memory_chunks.embedding, where every clear chunk has one, so a clear query is always wanted there.
create or replace function memory.search_candidates_chunks(
  p_user_hash text,
  p_queries public.vector[],
  p_query_schemes smallint[],
  p_query_key_ids integer[],
  p_dense_limit integer,
  p_tokens bigint[],
  p_lexical_limit integer,
  p_doc_id text,
  p_source text,
  p_term_key_id integer,
  p_filter jsonb
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
  score double precision,
  created_at timestamptz,
  updated_at timestamptz
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_n integer := coalesce(cardinality(p_queries), 0);
  v_narrow boolean;
  v_exact boolean;
  v_params record;
  v_missing boolean := false;
  v_schemes smallint[];
  v_keys integer[];
  v_i integer;
  v_sql text;
  v_dense text;
begin
  perform memory.set_tenant(p_user_hash);
  if v_n < 1 or v_n > 16 then
    raise exception 'queries: 1 to 16 query vectors' using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_query_schemes), -1) <> v_n or coalesce(cardinality(p_query_key_ids), -1) <> v_n then
    raise exception 'queries, schemes and key ids differ in length' using errcode = 'MV003';
  end if;
  for v_i in 1 .. v_n loop
    perform memory.assert_search_arguments(p_queries[v_i], p_dense_limit);
    if p_query_schemes[v_i] is null or p_query_key_ids[v_i] is null then
      raise exception 'every query needs its vector scheme and key id' using errcode = 'MV002';
    end if;
  end loop;
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
  v_narrow := memory.search_layout() = 'vectors';

  -- The (scheme, key) pairs the tenant's search vectors are under (one index descent each).
  with recursive pairs as (
    (select v.vector_scheme, v.vector_key_id from memory.chunk_vectors v
      where v.user_hash = p_user_hash order by v.vector_scheme, v.vector_key_id limit 1)
    union all
    select n.vector_scheme, n.vector_key_id
    from pairs pr cross join lateral (
      select v.vector_scheme, v.vector_key_id from memory.chunk_vectors v
      where v.user_hash = p_user_hash and (v.vector_scheme, v.vector_key_id) > (pr.vector_scheme, pr.vector_key_id)
      order by v.vector_scheme, v.vector_key_id limit 1) n
  ),
  held as (
    select pr.vector_scheme as scheme, pr.vector_key_id as key_id from pairs pr
    union
    select 0::smallint, 0 where not v_narrow
  )
  select coalesce(array_agg(h.scheme), '{}'), coalesce(array_agg(h.key_id), '{}')
    into v_schemes, v_keys
  from held h;

  -- Pairs held without a query: ask for them, search nothing yet.
  for v_i in 1 .. coalesce(cardinality(v_keys), 0) loop
    if not exists (select from generate_subscripts(p_queries, 1) q
                   where p_query_schemes[q] = v_schemes[v_i] and p_query_key_ids[q] = v_keys[v_i]) then
      v_missing := true;
      return query select 'vector_key'::text, null::uuid, null::text, null::text, null::bytea, null::bytea,
        null::bytea, v_keys[v_i], v_schemes[v_i]::float8, null::timestamptz, null::timestamptz;
    end if;
  end loop;
  if v_missing then
    return;
  end if;

  v_exact := memory.search_is_exact(p_user_hash);
  -- The ANN tuning matters to the HNSW shape only.
  if not v_exact then
    perform memory.apply_ann_settings();
  end if;
  for v_i in 1 .. v_n loop
    -- A query for a pair the tenant does not hold would find nothing: skip its scan.
    continue when not exists (select from generate_subscripts(v_keys, 1) h
                              where v_schemes[h] = p_query_schemes[v_i] and v_keys[h] = p_query_key_ids[v_i]);
    if p_query_schemes[v_i] = 0 and not v_narrow then
      -- 'chunks' layout: clear vectors are read from the wide rows that still hold one.
      v_sql := memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, false, p_filter);
      v_dense := replace(v_sql, ' where v.user_hash = $1', ' where v.user_hash = $1 and v.embedding is not null');
    else
      v_sql := memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, true, p_filter);
      v_dense := replace(v_sql, ' where v.user_hash = $1',
        ' where v.user_hash = $1 and v.vector_scheme = $6 and v.vector_key_id = $7');
    end if;
    -- Never search without the scheme condition: if the query text changed shape, fail loudly.
    if v_dense = v_sql then
      raise exception 'search_candidates_chunks: the search query has no tenant condition to extend' using errcode = 'XX000';
    end if;
    v_sql := 'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' d.created_at, d.updated_at from (' || v_dense || ') d';
    if p_query_schemes[v_i] = 0 and not v_narrow then
      return query execute v_sql
        using p_user_hash, p_queries[v_i], p_dense_limit, p_doc_id, p_source, p_query_schemes[v_i], p_query_key_ids[v_i];
    else
      return query execute v_sql
        using p_user_hash, p_queries[v_i]::public.halfvec, p_dense_limit, p_doc_id, p_source, p_query_schemes[v_i], p_query_key_ids[v_i];
    end if;
  end loop;
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    v_params := memory.bm25_parameters();
    return query execute
      'select ''lexical''::text, l.id, l.doc_id, l.source, l.text_cipher, l.meta_cipher, null::bytea, l.key_id, l.score,'
      || ' c.created_at, c.updated_at from ('
      || memory.search_lexical_sql_filtered(p_doc_id is not null, p_source is not null, p_filter)
      || ') l join memory.memory_chunks c on c.user_hash = $1 and c.id = l.id'
      using p_user_hash, p_tokens, p_lexical_limit, p_doc_id, p_source, v_params.k1, v_params.b;
  end if;
end;
$$;
