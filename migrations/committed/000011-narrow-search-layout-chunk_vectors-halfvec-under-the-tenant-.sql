--! Previous: sha1:eb8bf04771940fe23a64d3b405d15ce7620e09e2
--! Hash: sha1:d45823b9036a0d8d7e5080a60ef19414caff4aea
--! Message: Narrow search layout: chunk_vectors (halfvec) under the tenant policy, search_candidates with sealed embeddings for re-scoring, vector backfill (issue 17)

-- A narrow search layout (issue 17, docs/ARCHITECTURE.md "Search layout"): each chunk's search
-- vector as halfvec in a table of its own, so that dense search scans about 1 KB per chunk instead
-- of memory_chunks' rows of three sealed blobs and a TOASTed float32 vector. The daemon re-scores
-- the candidates from the sealed float32 embedding, so the rounding never changes what a query
-- returns (src/memory/rescore.ts).
--
-- Keyed like memory_chunks and under the same tenant policy; deleted (and moved) with its chunk by
-- cascade, so delete_doc and forget_tenant need no change.
create table if not exists memory.chunk_vectors (
  user_hash text not null,
  id uuid not null,
  embedding public.halfvec(:MEMVAULT_EMBEDDING_DIM) not null,
  constraint chunk_vectors_pkey primary key (user_hash, id),
  constraint chunk_vectors_chunk_fkey foreign key (user_hash, id)
    references memory.memory_chunks (user_hash, id) on delete cascade on update cascade
);
comment on table memory.chunk_vectors is 'Narrow search layout: each chunk''s search vector (halfvec) keyed like memory_chunks; dense search scans this, the daemon re-scores from emb_cipher.';
alter table memory.chunk_vectors enable row level security;
alter table memory.chunk_vectors force row level security;
create index if not exists chunk_vectors_embedding_hnsw_idx on memory.chunk_vectors
  using hnsw (embedding public.halfvec_cosine_ops);

--! Included policies/chunk_vectors_isolation.sql
-- The narrow search layout (memory.chunk_vectors): the tenant isolation of memory_chunks.
drop policy if exists chunk_vectors_isolation on memory.chunk_vectors;
create policy chunk_vectors_isolation on memory.chunk_vectors
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));
--! EndIncluded policies/chunk_vectors_isolation.sql
--! Included functions/search_layout.sql
-- Which layout dense search reads (migration 000012, docs/ARCHITECTURE.md "Search layout"):
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
--! EndIncluded functions/search_layout.sql
--! Included functions/settings.sql
-- Live settings. Known keys only, each with its type and range, so a typo cannot silently do
-- nothing. A change fires NOTIFY memory_settings (statement trigger) and every daemon re-reads.
create or replace function memory.validate_setting(p_key text, p_value jsonb)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  case p_key
    when 'rerank_enabled' then
      if jsonb_typeof(p_value) <> 'boolean' then
        raise exception 'rerank_enabled must be true or false' using errcode = 'MV006';
      end if;
    when 'active_kek_id' then
      if jsonb_typeof(p_value) <> 'number' or (p_value #>> '{}') !~ '^\d+$' or p_value::bigint < 1 or p_value::bigint > 2147483647 then
        raise exception 'active_kek_id must be a key id (a positive integer)' using errcode = 'MV006';
      end if;
    when 'rerank_circuit_ms', 'ann_ef_search', 'rerank_rollout_percent', 'ann_exact_max_rows' then
      if jsonb_typeof(p_value) <> 'number' or (p_value #>> '{}') !~ '^\d+$'
         or (p_key = 'ann_exact_max_rows' and p_value::bigint > 1000000)
         or (p_key = 'rerank_circuit_ms' and (p_value::int < 1 or p_value::int > 60000))
         or (p_key = 'ann_ef_search' and (p_value::int < 10 or p_value::int > 1000))
         or (p_key = 'rerank_rollout_percent' and p_value::int > 100) then
        raise exception '% must be an integer in its range (rerank_circuit_ms 1-60000, ann_ef_search 10-1000, rerank_rollout_percent 0-100, ann_exact_max_rows 0-1000000)', p_key
          using errcode = 'MV006';
      end if;
    when 'ann_iterative_scan' then
      if p_value #>> '{}' not in ('off', 'relaxed_order', 'strict_order') or jsonb_typeof(p_value) <> 'string' then
        raise exception 'ann_iterative_scan must be "off", "relaxed_order" or "strict_order"' using errcode = 'MV006';
      end if;
    when 'bm25_k1', 'bm25_b', 'hybrid_lexical_weight' then
      if jsonb_typeof(p_value) <> 'number'
         or (p_key = 'bm25_k1' and (p_value::float8 < 0 or p_value::float8 > 10))
         or (p_key <> 'bm25_k1' and (p_value::float8 < 0 or p_value::float8 > 1)) then
        raise exception '% must be a number in its range (bm25_k1 0-10, bm25_b 0-1, hybrid_lexical_weight 0-1)', p_key using errcode = 'MV006';
      end if;
    when 'rescore_overfetch' then
      if jsonb_typeof(p_value) <> 'number' or p_value::float8 < 1 or p_value::float8 > 10 then
        raise exception 'rescore_overfetch must be a number from 1 to 10' using errcode = 'MV006';
      end if;
    when 'retrieval_mode' then
      if jsonb_typeof(p_value) <> 'string' or p_value #>> '{}' not in ('hybrid', 'dense', 'lexical') then
        raise exception 'retrieval_mode must be "hybrid", "dense" or "lexical"' using errcode = 'MV006';
      end if;
    else
      raise exception 'unknown setting %', p_key using errcode = 'MV005';
  end case;
end;
$$;

create or replace function memory.set_setting(p_key text, p_value jsonb)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.validate_setting(p_key, p_value);
  -- The same refusal as memory.set_active_kek: a retired key-ring key may not become the active
  -- one through the generic setter either (MV011).
  if p_key = 'active_kek_id' then
    perform memory.assert_kek_usable((p_value #>> '{}')::integer);
  end if;
  insert into memory.settings (key, value) values (p_key, p_value)
  on conflict (key) do update set value = excluded.value, updated_at = now();
end;
$$;

-- Removes an override: the daemons fall back to their environment defaults.
create or replace function memory.reset_setting(p_key text)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  delete from memory.settings where key = p_key;
  return found;
end;
$$;

create or replace function memory.get_settings()
returns table (key text, value jsonb, updated_at timestamptz)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select s.key, s.value, s.updated_at from memory.settings s order by s.key;
$$;
--! EndIncluded functions/settings.sql
--! Included functions/search_sql.sql
-- The text of the ANN query over memory.memory_chunks alone, as memory.search ran it before the
-- narrow search layout (migration 000012); kept for the previous release's logic and SQL callers.
-- memory.dense_search_sql is what search runs now. Parameters: $1 user_hash, $2 query vector, $3 limit,
-- $4 doc_id, $5 source. Filters are added only when given, so each shape gets its own plan.
--
-- Two shapes, chosen per call by memory.search_is_exact:
-- * exact (small and medium tenants): the tenant's rows come from the tenant-first B-tree and are
--   sorted by distance; recall is 100% and the cost is proportional to the tenant, not the table.
--   The sort key is `distance + 0` so the planner cannot swap in the HNSW index: with a tenant
--   filter of a few percent, an HNSW scan must walk most of the graph to find enough of the
--   tenant's rows (measured: 158 ms vs 5 ms for 2,000 of 100,000 rows), and the planner's
--   estimate does not see that.
-- * ann (large tenants): pgvector's HNSW index with iterative scans; candidates may arrive slightly
--   out of order in relaxed mode, so the outer query re-sorts them (pgvector's documented pattern).
-- Both fetch only ids and distances first and the ciphertexts of the winners after.
create or replace function memory.search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean)
returns text
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
  with distance(expr) as (
    -- In the exact shape `+ 0` makes the sort key an expression no index provides; the select list
    -- and ORDER BY use the same expression, so it is computed once per row.
    select case when p_exact then '(c.embedding operator(public.<=>) $2) + 0' else 'c.embedding operator(public.<=>) $2' end
  )
  select 'with nearest as materialized ('
    || ' select c.id, ' || d.expr || ' as distance'
    || ' from memory.memory_chunks c'
    || ' where c.user_hash = $1'
    || case when p_has_doc_id then ' and c.doc_id = $4' else '' end
    || case when p_has_source then ' and c.source = $5' else '' end
    || ' order by ' || d.expr
    || ' limit $3)'
    || ' select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, n.distance::float8'
    || ' from nearest n join memory.memory_chunks c on c.user_hash = $1 and c.id = n.id'
    || ' order by n.distance, n.id'
  from distance d;
$$;

-- Whether dense search takes the exact shape for this tenant: it does when the tenant has at most
-- ann_exact_max_rows rows (default 5,000; 0 = always use HNSW). Counting stops at the threshold,
-- so the check costs at most that many entries of the tenant's primary-key range, in the narrow
-- memory.chunk_vectors when search reads it (memory.search_layout()).
create or replace function memory.search_is_exact(p_user_hash text)
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_max integer := coalesce((select (s.value #>> '{}')::integer from memory.settings s where s.key = 'ann_exact_max_rows'), 5000);
  v_rows integer;
begin
  if v_max = 0 then
    return false;
  end if;
  if memory.search_layout() = 'vectors' then
    select count(*) into v_rows
    from (select 1 from memory.chunk_vectors v where v.user_hash = p_user_hash limit v_max + 1) t;
  else
    select count(*) into v_rows
    from (select 1 from memory.memory_chunks c where c.user_hash = p_user_hash limit v_max + 1) t;
  end if;
  return v_rows <= v_max;
end;
$$;
--! EndIncluded functions/search_sql.sql
--! Included functions/dense_search_sql.sql
-- The text of the dense first stage, shared by memory.search, memory.search_candidates and
-- memory.explain_search, so that the plan doctor shows is the plan search runs. Parameters: $1
-- user_hash, $2 the query's search vector (halfvec for the narrow layout, vector for 'chunks'), $3
-- limit, $4 doc_id, $5 source. Filters are added only when given, so each shape gets its own plan.
-- Columns: id, doc_id, source, text_cipher, meta_cipher, emb_cipher, key_id, distance.
--
-- p_narrow: read the narrow memory.chunk_vectors (user_hash, id, halfvec) instead of the wide
-- memory.memory_chunks, whose rows carry three sealed blobs and a float32 vector (about three 8 KB
-- pages per row with TOAST: 16,718 buffers for a 5,183-chunk tenant). Distances are then halfvec
-- distances; the daemon re-scores the candidates from the sealed float32 embedding (emb_cipher,
-- returned for that) before anything is ranked (src/memory/rescore.ts). doc_id and source live on
-- the wide row: a filtered search checks them there for each candidate.
--
-- Two shapes, chosen per call by memory.search_is_exact:
-- * exact (small and medium tenants): the tenant's rows come from its primary-key range and are
--   sorted by distance; the cost is proportional to the tenant, not the table. The sort key is
--   `distance + 0` so the planner cannot swap in the HNSW index: with a tenant filter of a few
--   percent, an HNSW scan must walk most of the graph to find enough of the tenant's rows
--   (measured: 158 ms vs 5 ms for 2,000 of 100,000 rows), and the planner's estimate does not see it.
-- * ann (large tenants): pgvector's HNSW index with iterative scans; candidates may arrive slightly
--   out of order in relaxed mode, so the outer query re-sorts them (pgvector's documented pattern).
-- Both fetch only ids and distances first and the ciphertexts of the winners after.
create or replace function memory.dense_search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean)
returns text
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
  with distance(expr) as (
    -- In the exact shape `+ 0` makes the sort key an expression no index provides; the select list
    -- and ORDER BY use the same expression, so it is computed once per row.
    select case when p_exact then '(v.embedding operator(public.<=>) $2) + 0' else 'v.embedding operator(public.<=>) $2' end
  ),
  filters(expr) as (
    select case
      when not (p_has_doc_id or p_has_source) then ''
      when not p_narrow then
        case when p_has_doc_id then ' and v.doc_id = $4' else '' end
        || case when p_has_source then ' and v.source = $5' else '' end
      else ' and exists (select from memory.memory_chunks f where f.user_hash = $1 and f.id = v.id'
        || case when p_has_doc_id then ' and f.doc_id = $4' else '' end
        || case when p_has_source then ' and f.source = $5' else '' end
        || ')'
    end
  )
  select 'with nearest as materialized ('
    || ' select v.id, ' || d.expr || ' as distance'
    || case when p_narrow then ' from memory.chunk_vectors v' else ' from memory.memory_chunks v' end
    || ' where v.user_hash = $1' || f.expr
    || ' order by ' || d.expr
    || ' limit $3)'
    || ' select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_id, n.distance::float8 as distance'
    || ' from nearest n join memory.memory_chunks c on c.user_hash = $1 and c.id = n.id'
    || ' order by n.distance, n.id'
  from distance d, filters f;
$$;
--! EndIncluded functions/dense_search_sql.sql
--! Included functions/search.sql
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
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.assert_search_arguments(p_embedding, p_limit);
  perform memory.apply_ann_settings();
  if memory.search_layout() = 'vectors' then
    return query execute
      'select s.id, s.doc_id, s.source, s.text_cipher, s.meta_cipher, s.key_id, s.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, memory.search_is_exact(p_user_hash), true) || ') s'
      using p_user_hash, p_embedding::public.halfvec, p_limit, p_doc_id, p_source;
  else
    return query execute
      'select s.id, s.doc_id, s.source, s.text_cipher, s.meta_cipher, s.key_id, s.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, memory.search_is_exact(p_user_hash), false) || ') s'
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
--! EndIncluded functions/search.sql
--! Included functions/search_candidates.sql
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
  perform memory.apply_ann_settings();
  v_narrow := memory.search_layout() = 'vectors';
  if v_narrow then
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, memory.search_is_exact(p_user_hash), true) || ') d'
      using p_user_hash, p_query::public.halfvec, p_dense_limit, p_doc_id, p_source;
  else
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance from ('
      || memory.dense_search_sql(p_doc_id is not null, p_source is not null, memory.search_is_exact(p_user_hash), false) || ') d'
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
--! EndIncluded functions/search_candidates.sql
--! Included functions/explain_search.sql
-- EXPLAIN (FORMAT JSON) of exactly the dense query memory.search and memory.search_candidates run,
-- for `memvault doctor` and the check script: it proves which table and index serve search for a
-- given tenant, in the layout search reads (memory.search_layout()). With p_analyze the query runs
-- (inside this tenant's RLS context) and the plan carries timings; no row data is returned.
create or replace function memory.explain_search(
  p_user_hash text,
  p_embedding public.vector,
  p_limit integer default 24,
  p_analyze boolean default false
)
returns json
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_plan json;
  v_narrow boolean;
  v_sql text;
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.apply_ann_settings();
  v_narrow := memory.search_layout() = 'vectors';
  v_sql := 'explain (format json, analyze ' || case when p_analyze then 'true' else 'false' end || ') '
    || memory.dense_search_sql(false, false, memory.search_is_exact(p_user_hash), v_narrow);
  if v_narrow then
    execute v_sql into v_plan using p_user_hash, p_embedding::public.halfvec, p_limit, null::text, null::text;
  else
    execute v_sql into v_plan using p_user_hash, p_embedding, p_limit, null::text, null::text;
  end if;
  return v_plan;
end;
$$;
--! EndIncluded functions/explain_search.sql
--! Included functions/index_chunks.sql
-- Stores a batch of sealed chunks for one tenant in one statement (all or nothing). The arrays are
-- parallel: element i of each describes chunk i. Ciphertexts are opaque here; p_embeddings are the
-- chunks' search vectors (src/crypto/search-vector.ts makes them from the embeddings, the sealed
-- emb_cipher keeps the embedding itself), stored as halfvec in the narrow memory.chunk_vectors that
-- dense search reads, and as vector in memory_chunks.embedding, which the 'chunks' search layout
-- and the previous release's logic read until the contract release drops it (migration 000012). p_key_scheme/p_key_id say what sealed the blobs: 1 = a
-- key-ring key (legacy), 2 = the tenant's data key; rotation and retire checks read them. A legacy
-- store under a retired key-ring key is refused (MV011), as every other store under a KEK is.
--
-- The lexical index of the batch comes in the same call (all or nothing with the chunks):
-- p_lex_lengths[i] is chunk i's length in terms, and posting j says chunk p_lex_chunks[j] (1-based)
-- holds token p_lex_tokens[j] p_lex_tfs[j] times. Tokens are keyed under the term key of data key
-- p_term_key_id (the tenant's active one) by analyzer p_analyzer_version; the lexical_chunks
-- triggers write the postings and the tenant's counts. p_lex_lengths null: not indexed (yet).
create or replace function memory.index_chunks(
  p_user_hash text,
  p_ids uuid[],
  p_doc_ids text[],
  p_sources text[],
  p_text_ciphers bytea[],
  p_meta_ciphers bytea[],
  p_emb_ciphers bytea[],
  p_embeddings public.vector[],
  p_key_id integer,
  p_key_scheme smallint,
  p_lex_lengths integer[] default null,
  p_lex_chunks integer[] default null,
  p_lex_tokens bigint[] default null,
  p_lex_tfs integer[] default null,
  p_term_key_id integer default null,
  p_analyzer_version smallint default null
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_inserted integer;
begin
  perform memory.set_tenant(p_user_hash);
  if v_count = 0 or v_count > 1000 then
    raise exception 'a batch holds 1 to 1000 chunks, got %', v_count using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_doc_ids), -1) <> v_count
     or coalesce(cardinality(p_sources), -1) <> v_count
     or coalesce(cardinality(p_text_ciphers), -1) <> v_count
     or coalesce(cardinality(p_meta_ciphers), -1) <> v_count
     or coalesce(cardinality(p_emb_ciphers), -1) <> v_count
     or coalesce(cardinality(p_embeddings), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if p_key_id is null or p_key_scheme is null or p_key_scheme not in (1, 2) then
    raise exception 'key_id and key_scheme (1 or 2) are required' using errcode = 'MV002';
  end if;
  if array_position(p_ids, null) is not null
     or exists (select from unnest(p_doc_ids) d where d is null or length(d) not between 1 and 256)
     or exists (select from unnest(p_sources) s where s is null or length(s) > 256)
     or array_position(p_text_ciphers, null) is not null
     or array_position(p_meta_ciphers, null) is not null
     or array_position(p_emb_ciphers, null) is not null then
    raise exception 'ids, doc_ids (1-256 chars), sources (0-256 chars) and ciphertexts must be present'
      using errcode = 'MV002';
  end if;
  -- A writer holding a cached DEK that was destroyed meanwhile (tenant forgotten, key replaced
  -- elsewhere) must not seal rows nobody could open: refuse, and it re-reads the tenant's keys.
  if p_key_scheme = 2 and not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;
  -- Takes the key's shared retirement lock until commit, so retire_kek cannot count this key's
  -- legacy chunks between this check and the insert (db/functions/key_retirement.sql).
  if p_key_scheme = 1 then
    perform memory.assert_kek_usable(p_key_id);
  end if;
  if p_lex_lengths is not null then
    perform memory.assert_lexical_batch(p_user_hash, v_count, p_lex_lengths, p_lex_chunks, p_lex_tokens, p_lex_tfs, p_term_key_id, p_analyzer_version);
  end if;
  if exists (select from unnest(p_embeddings) e where e is null or public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every embedding must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;

  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme)
  select p_user_hash, u.id, u.doc_id, u.source, u.text_cipher, u.meta_cipher, u.emb_cipher, u.embedding, p_key_id, p_key_scheme
  from unnest(p_ids, p_doc_ids, p_sources, p_text_ciphers, p_meta_ciphers, p_emb_ciphers, p_embeddings)
    as u(id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding);
  get diagnostics v_inserted = row_count;
  insert into memory.chunk_vectors (user_hash, id, embedding)
  select p_user_hash, u.id, u.embedding::public.halfvec
  from unnest(p_ids, p_embeddings) as u(id, embedding);
  if p_lex_lengths is not null then
    insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
    select p_user_hash, p_ids[i], p_lex_lengths[i], coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_id, p_analyzer_version
    from generate_subscripts(p_ids, 1) as i
    left join memory.lexical_postings_by_chunk(p_lex_chunks, p_lex_tokens, p_lex_tfs) t on t.chunk = i;
  end if;
  return v_inserted;
end;
$$;
--! EndIncluded functions/index_chunks.sql
--! Included functions/rehash.sql
-- HMAC key rotation moves a tenant from its old user_hash to its new one. The daemon-side job opens
-- every blob with the old AAD and re-seals it with the new one; these procedures lock and move the
-- rows. One transaction per tenant makes the move atomic; a crash leaves the tenant wholly old.

-- The tenant's chunks after a keyset cursor, locked until the transaction ends.
create or replace function memory.rehash_read_chunks(p_old_hash text, p_limit integer, p_after_id uuid default null)
returns table (id uuid, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_scheme smallint, key_id integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select c.id, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where c.user_hash = p_old_hash
      and c.id > coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid)
    order by c.id
    limit p_limit
    for update;
end;
$$;

-- The key id in a sealed blob's envelope header: bytes 2-5, a big-endian uint32 (src/crypto/envelope.ts).
create or replace function memory.envelope_key_id(p_blob bytea)
returns integer
language sql
immutable
strict
set search_path = pg_catalog, pg_temp
as $$
  select ((get_byte(p_blob, 1)::bigint << 24) | (get_byte(p_blob, 2) << 16) | (get_byte(p_blob, 3) << 8)
          | get_byte(p_blob, 4))::integer;
$$;

-- Copies rows to the new hash with their re-sealed blobs and deletes the old rows. key_scheme and
-- key_id are taken from the new blobs' envelope header (version byte, then the uint32 key id), not
-- from the old row: the job may seal a legacy blob under another key-ring key than the one it was
-- under, and key_usage / retire_kek trust these columns to say which key each blob needs. A header
-- that lies only makes its blob unopenable (the header is authenticated), never a wrong count.
create or replace function memory.rehash_move_chunks(
  p_old_hash text, p_new_hash text, p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[]
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_n integer;
  v_kek_id integer;
begin
  perform memory.begin_maintenance();
  if p_new_hash !~ '^[0-9a-f]{64}$' or p_old_hash = p_new_hash then
    raise exception 'new user_hash must be 64 lowercase hex characters and differ from the old' using errcode = 'MV001';
  end if;
  if exists (select from unnest(p_text_ciphers, p_meta_ciphers, p_emb_ciphers) as u(text_cipher, meta_cipher, emb_cipher)
             where octet_length(u.text_cipher) < 5 or get_byte(u.text_cipher, 0) not in (1, 2)
                or substring(u.meta_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)
                or substring(u.emb_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)) then
    raise exception 'the three blobs of a chunk must carry one envelope header (scheme 1 or 2, one key id)'
      using errcode = 'MV002';
  end if;
  for v_kek_id in
    select distinct memory.envelope_key_id(t) from unnest(p_text_ciphers) t where get_byte(t, 0) = 1
  loop
    perform memory.assert_kek_usable(v_kek_id);
  end loop;
  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme, created_at)
  select p_new_hash, c.id, c.doc_id, c.source, u.text_cipher, u.meta_cipher, u.emb_cipher, c.embedding,
         memory.envelope_key_id(u.text_cipher), get_byte(u.text_cipher, 0)::smallint, c.created_at
  from unnest(p_ids, p_text_ciphers, p_meta_ciphers, p_emb_ciphers) as u(id, text_cipher, meta_cipher, emb_cipher)
  join memory.memory_chunks c on c.user_hash = p_old_hash and c.id = u.id;
  get diagnostics v_n = row_count;
  -- The lexical index moves with its chunks: its tokens are keyed under the tenant's data key,
  -- which keeps its id and material across a rehash (only its wrapping changes). Deleting the old
  -- chunks below cascades to their old index rows.
  insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
  select p_new_hash, l.chunk_id, l.length, l.tokens, l.tfs, l.term_key_id, l.analyzer_version
  from memory.lexical_chunks l
  join memory.memory_chunks c on c.user_hash = p_new_hash and c.id = l.chunk_id
  where l.user_hash = p_old_hash and l.chunk_id = any (p_ids);
  -- The search vectors move too (the chunk keeps its id; the old rows go with the cascade below).
  insert into memory.chunk_vectors (user_hash, id, embedding)
  select p_new_hash, v.id, v.embedding
  from memory.chunk_vectors v
  join memory.memory_chunks c on c.user_hash = p_new_hash and c.id = v.id
  where v.user_hash = p_old_hash and v.id = any (p_ids);
  delete from memory.memory_chunks c where c.user_hash = p_old_hash and c.id = any (p_ids);
  return v_n;
end;
$$;

-- Moves the tenant's DEKs (re-wrapped for the new hash) and reports whether the old tenant is
-- now empty.
create or replace function memory.rehash_move_keys(p_old_hash text, p_new_hash text, p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_n integer;
begin
  perform memory.begin_maintenance();
  perform memory.assert_kek_usable(p_kek_id);
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active, created_at)
  select p_new_hash, k.dek_id, u.wrapped, p_kek_id, k.active, k.created_at
  from unnest(p_dek_ids, p_wrapped) as u(dek_id, wrapped)
  join memory.tenant_keys k on k.user_hash = p_old_hash and k.dek_id = u.dek_id;
  get diagnostics v_n = row_count;
  delete from memory.tenant_keys k where k.user_hash = p_old_hash;
  return v_n;
end;
$$;

-- How many chunks and keys a hash holds: lets the job skip tenants already moved and report
-- ids that match nothing.
create or replace function memory.rehash_tenant_state(p_user_hash text)
returns table (chunks bigint, keys bigint)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select (select count(*) from memory.memory_chunks c where c.user_hash = p_user_hash),
           (select count(*) from memory.tenant_keys k where k.user_hash = p_user_hash);
end;
$$;
--! EndIncluded functions/rehash.sql
--! Included functions/vector_backfill.sql
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
returns table (user_hash text, id uuid, emb_cipher bytea, key_scheme smallint, key_id integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select c.user_hash, c.id, c.emb_cipher, c.key_scheme, c.key_id
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
-- written both layouts since migration 000012, so after the switch nothing can be missing.
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
--! EndIncluded functions/vector_backfill.sql
--! Included grants.sql
-- Ownership and privileges of every memory object. Idempotent: the migrations include it after
-- creating objects, and the rollback runbook re-runs it after re-applying procedure files.
--
-- Ownership: everything belongs to memory_owner, which is subject to FORCE RLS, so SECURITY DEFINER
-- procedures run with RLS applied (a superuser owner would bypass it).
alter schema memory owner to memory_owner;
do $owner$
declare
  v_table regclass;
  v_fn regprocedure;
begin
  for v_table in select c.oid::regclass from pg_catalog.pg_class c where c.relnamespace = 'memory'::regnamespace and c.relkind in ('r', 'S', 'v', 'm') loop
    execute format('alter table %s owner to memory_owner', v_table);
  end loop;
  for v_fn in select p.oid::regprocedure from pg_catalog.pg_proc p where p.pronamespace = 'memory'::regnamespace loop
    execute format('alter function %s owner to memory_owner', v_fn);
  end loop;
end
$owner$;

-- Privileges: tables are private; the app role gets EXECUTE on the interface procedures only.
revoke all on all tables in schema memory from public;
revoke all on all functions in schema memory from public;
grant usage on schema memory to memory_app;
grant execute on function
  memory.set_tenant(text),
  memory.index_chunk(text, uuid, text, text, bytea, bytea, bytea, public.vector, integer, smallint),
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint),
  memory.search(text, public.vector, integer, text, text),
  memory.search_lexical(text, bigint[], integer, text, text, integer),
  memory.search_hybrid(text, public.vector, bigint[], integer, text, text, integer),
  memory.search_candidates(text, public.vector, integer, bigint[], integer, text, text, integer),
  memory.explain_search_lexical(text, bigint[], integer, boolean),
  memory.get_chunks(text, uuid[]),
  memory.delete_doc(text, text),
  memory.forget_tenant(text),
  memory.tenant_stats(text),
  memory.get_settings(),
  memory.health(),
  memory.embedding_dim(),
  memory.explain_search(text, public.vector, integer, boolean),
  memory.search_layout(),
  memory.explain_lookup(text),
  memory.verify_rls_isolation(),
  memory.next_dek_id(),
  memory.get_tenant_keys(text),
  memory.add_tenant_key(text, integer, bytea, integer),
  memory.key_stats()
to memory_app;

-- The maintainer runs key rotation, re-sealing and re-hashing (cross-tenant, maintenance mode).
grant usage on schema memory to memory_maintainer;
grant execute on function
  memory.get_settings(),
  memory.set_setting(text, jsonb),
  memory.health(),
  memory.next_dek_id(),
  memory.get_tenant_keys(text),
  memory.add_tenant_key(text, integer, bytea, integer),
  memory.claim_dek_rewrap(integer, integer),
  memory.store_rewrapped_deks(text[], integer[], bytea[], integer),
  memory.key_usage(),
  memory.claim_reseal(integer, text, text, uuid),
  memory.store_resealed(text[], uuid[], bytea[], bytea[], bytea[], integer[]),
  memory.rotate_tenant_key(text, integer, bytea, integer),
  memory.drop_retired_tenant_keys(text),
  memory.tenant_keys_of(text[]),
  memory.rehash_read_chunks(text, integer, uuid),
  memory.rehash_move_chunks(text, text, uuid[], bytea[], bytea[], bytea[]),
  memory.rehash_move_keys(text, text, integer[], bytea[], integer),
  memory.rehash_tenant_state(text),
  memory.set_active_kek(integer),
  memory.retire_kek(integer, integer),
  memory.retired_keks(),
  memory.refresh_key_stats(),
  memory.key_stats(),
  memory.claim_lexical_reindex(integer, smallint, text, text, uuid),
  memory.store_lexical(text[], uuid[], integer[], integer[], integer[], bigint[], integer[], smallint),
  memory.lexical_coverage(smallint),
  memory.claim_vector_backfill(integer, text, text, uuid),
  memory.store_search_vectors(text[], uuid[], public.vector[]),
  memory.vector_coverage(),
  memory.search_layout(),
  memory.finish_vector_backfill()
to memory_maintainer;
grant usage on sequence memory.tenant_key_id_seq to memory_owner;
--! EndIncluded grants.sql

-- A database without chunks (a new install) searches the narrow layout from the start. One with
-- chunks keeps reading memory_chunks until `memvault reindex vectors` has filled chunk_vectors and
-- switched it (memory.finish_vector_backfill). The relation's size is read rather than its rows:
-- under FORCE RLS a migrating role without a tenant context would count none.
insert into memory.settings (key, value)
select 'search_layout', '"vectors"'
where pg_catalog.pg_relation_size('memory.memory_chunks') = 0
on conflict (key) do nothing;
