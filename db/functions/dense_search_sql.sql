-- The text of the dense first stage, shared by memory.search, memory.search_candidates and
-- memory.explain_search, so that the plan doctor shows is the plan search runs. Parameters: $1
-- user_hash, $2 the query's search vector (halfvec for the narrow layout, vector for 'chunks'), $3
-- limit, $4 doc_id, $5 source. Filters are added only when given, so each shape gets its own plan.
-- Columns: id, doc_id, source, text_cipher, meta_cipher, emb_cipher, key_id, distance, created_at,
-- updated_at (the timestamps the API reports, read from the same row as the ciphertexts).
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
    || ' select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_id, n.distance::float8 as distance,'
    || ' c.created_at, c.updated_at'
    || ' from nearest n join memory.memory_chunks c on c.user_hash = $1 and c.id = n.id'
    || ' order by n.distance, n.id'
  from distance d, filters f;
$$;
