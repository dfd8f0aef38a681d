-- The text of the ANN query, shared by memory.search and memory.explain_search so that the plan
-- doctor verifies is the plan search runs. Parameters: $1 user_hash, $2 query vector, $3 limit,
-- $4 doc_id, $5 source. Filters are added only when given, so each shape gets its own plan.
--
-- The inner query lets pgvector's HNSW index (or, for a small tenant, the tenant B-tree) produce
-- candidates; with iterative scans in relaxed order they may arrive slightly out of order, so the
-- outer query re-sorts the materialized candidates (pgvector's documented pattern).
create or replace function memory.search_sql(p_has_doc_id boolean, p_has_source boolean)
returns text
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select 'with candidates as materialized ('
    || ' select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id,'
    || ' c.embedding operator(public.<=>) $2 as distance'
    || ' from memory.memory_chunks c'
    || ' where c.user_hash = $1'
    || case when p_has_doc_id then ' and c.doc_id = $4' else '' end
    || case when p_has_source then ' and c.source = $5' else '' end
    || ' order by c.embedding operator(public.<=>) $2'
    || ' limit $3)'
    || ' select id, doc_id, source, text_cipher, meta_cipher, key_id, distance::float8'
    || ' from candidates order by distance, id';
$$;
