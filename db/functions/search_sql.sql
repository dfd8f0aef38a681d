-- The text of the ANN query over memory.memory_chunks alone, as memory.search ran it before the
-- narrow search layout (migration 000011); kept for the previous release's logic and SQL callers.
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
-- ann_exact_max_rows rows (default 5,000; 0 = always use HNSW). In the narrow layout the answer
-- usually comes from memory.tenant_search_sizes, an upper bound of the tenant's search vectors kept
-- by triggers (db/triggers/search_sizes.sql): one primary-key lookup instead of walking up to
-- ann_exact_max_rows entries of the tenant's primary-key range on every search (1.3 ms of a 5,000-
-- chunk tenant's ~9 ms procedure, measured). Without a bound, or with one above the threshold (the
-- bound never decreases on delete), it counts as before; counting stops at the threshold.
create or replace function memory.search_is_exact(p_user_hash text)
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_max integer := coalesce((select (s.value #>> '{}')::integer from memory.settings s where s.key = 'ann_exact_max_rows'), 5000);
  v_rows bigint;
begin
  if v_max = 0 then
    return false;
  end if;
  if memory.search_layout() = 'vectors' then
    select z.vectors_at_most into v_rows from memory.tenant_search_sizes z where z.user_hash = p_user_hash;
    if v_rows <= v_max then
      return true;
    end if;
    select count(*) into v_rows
    from (select 1 from memory.chunk_vectors v where v.user_hash = p_user_hash limit v_max + 1) t;
  else
    select count(*) into v_rows
    from (select 1 from memory.memory_chunks c where c.user_hash = p_user_hash limit v_max + 1) t;
  end if;
  return v_rows <= v_max;
end;
$$;
