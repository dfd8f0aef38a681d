--! Previous: sha1:60ce45a8837845cfb60a699147bd986175c8091b
--! Hash: sha1:39a01f96a244cfcb1f547ee018cc48a687816e69
--! Message: Search per-call costs (issue 17): tenant_search_sizes, an upper bound of each tenant's search vectors kept by chunk_vectors triggers, lets search_is_exact skip counting; the dense query returns the timestamps; ANN settings for the HNSW shape only; verify_rls_isolation probes chunk_vectors and tenant_search_sizes

-- Search at memory speed, the per-call costs (issue 17): dense search decides exact vs HNSW from a
-- per-tenant upper bound of its search vectors kept by triggers (memory.tenant_search_sizes)
-- instead of counting the tenant's rows on every call; the dense query returns the timestamps
-- from the row it already reads, and the ANN settings are applied for the HNSW shape only.
-- verify_rls_isolation (doctor) probes memory.chunk_vectors and the new table too.
--
-- No backfill: a tenant without a size row is counted as before, and its first write after this
-- migration records what it has (db/triggers/search_sizes.sql).
create table if not exists memory.tenant_search_sizes (
  user_hash text primary key,
  vectors_at_most bigint not null
);
comment on table memory.tenant_search_sizes is 'Per tenant: an upper bound of its rows in memory.chunk_vectors (never lowered by deletes), kept by the chunk_vectors triggers; memory.search_is_exact reads it.';
alter table memory.tenant_search_sizes enable row level security;
alter table memory.tenant_search_sizes force row level security;

--! Included policies/tenant_search_sizes_isolation.sql
-- memory.tenant_search_sizes (how many search vectors a tenant has at most): the tenant isolation
-- of memory_chunks, so one tenant cannot learn another's size.
drop policy if exists tenant_search_sizes_isolation on memory.tenant_search_sizes;
create policy tenant_search_sizes_isolation on memory.tenant_search_sizes
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));
--! EndIncluded policies/tenant_search_sizes_isolation.sql
--! Included triggers/search_sizes.sql
-- memory.tenant_search_sizes is kept by triggers on memory.chunk_vectors, so that dense search can
-- choose between the exact and the HNSW shape from one primary-key lookup instead of counting the
-- tenant's rows on every call (memory.search_is_exact). The number is an upper bound of the
-- tenant's search vectors, never less:
-- * an insert adds the rows it inserted; the tenant's first insert after this table appeared
--   (migration 000015) counts the rows it already had, so tenants written before need no backfill;
-- * a move to another tenant (rehash's update of user_hash) adds the moved rows to the new tenant;
-- * a delete does not subtract: it only removes the row of a tenant left without vectors
--   (delete_doc of the last document, forget_tenant, rehash's old hash), and skips it when a
--   concurrent writer holds it (that tenant is not empty), so a delete never waits on a writer here
--   and cannot deadlock against one.
-- A tenant with no row, or whose bound exceeds ann_exact_max_rows, is counted as before.
--
-- Not SECURITY DEFINER, like the lexical triggers: they act with the rights of whoever changed
-- chunk_vectors (the procedures under the tenant's context, maintenance jobs, the cascade from
-- memory_chunks) and write the co-located shard on a Citus worker (memory.trigger_target).
create or replace function memory.tg_chunk_vectors__search_sizes()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sizes text := memory.trigger_target(tg_relid, 'tenant_search_sizes');
  v_vectors text := memory.trigger_target(tg_relid, 'chunk_vectors');
  -- The rows this statement gave a tenant: all inserted rows, or the updated rows that changed
  -- tenant (an update of the vector itself changes no size).
  v_gained text := case tg_op
    when 'INSERT' then 'added'
    when 'UPDATE' then '(select a.user_hash from added a where not exists (select from removed r where r.user_hash = a.user_hash and r.id = a.id))'
  end;
  v_sized text[];
begin
  if tg_op in ('INSERT', 'UPDATE') then
    -- Tenants with a size: add what they gained.
    execute format($q$
      with grown as (
        update %1$s s set vectors_at_most = s.vectors_at_most + g.n
        from (select user_hash, count(*) as n from %2$s g group by user_hash) g
        where s.user_hash = g.user_hash
        returning s.user_hash)
      select coalesce(array_agg(user_hash), '{}') from grown$q$, v_sizes, v_gained)
      into v_sized;
    -- Tenants without one: count what they have, this statement's rows included. A concurrent first
    -- writer may have inserted the row meanwhile: then add only what this statement gained.
    execute format($q$
      insert into %1$s as s (user_hash, vectors_at_most)
      select g.user_hash, (select count(*) from %3$s v where v.user_hash = g.user_hash)
      from (select distinct user_hash from %2$s g) g
      where g.user_hash <> all($1)
      on conflict (user_hash) do update
        set vectors_at_most = s.vectors_at_most + (select count(*) from %2$s x where x.user_hash = excluded.user_hash)$q$,
      v_sizes, v_gained, v_vectors)
      using v_sized;
  end if;
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from %1$s s
      using (select e.user_hash from %1$s e
             where e.user_hash in (select distinct user_hash from removed)
               and not exists (select from %2$s v where v.user_hash = e.user_hash)
             for update skip locked) gone
      where s.user_hash = gone.user_hash$q$,
      v_sizes, v_vectors);
  end if;
  return null;
end;
$$;

drop trigger if exists _100_add_search_sizes on memory.chunk_vectors;
create trigger _100_add_search_sizes
  after insert on memory.chunk_vectors
  referencing new table as added
  for each statement execute function memory.tg_chunk_vectors__search_sizes();

drop trigger if exists _100_move_search_sizes on memory.chunk_vectors;
create trigger _100_move_search_sizes
  after update on memory.chunk_vectors
  referencing old table as removed new table as added
  for each statement execute function memory.tg_chunk_vectors__search_sizes();

drop trigger if exists _100_remove_search_sizes on memory.chunk_vectors;
create trigger _100_remove_search_sizes
  after delete on memory.chunk_vectors
  referencing old table as removed
  for each statement execute function memory.tg_chunk_vectors__search_sizes();
--! EndIncluded triggers/search_sizes.sql
--! Included functions/search_sql.sql
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
--! EndIncluded functions/search_sql.sql
--! Included functions/dense_search_sql.sql
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
--! EndIncluded functions/search_candidates.sql
--! Included functions/filtered.sql
-- Listing and the first stages (memory.search_candidates for dense and hybrid, BM25 for lexical) with a filter over sealed metadata
-- and timestamps (p_filter: a compiled filter, see memory.filter_predicate), and with each hit's
-- created_at / updated_at. Separate functions rather than new parameters: the unfiltered ones keep
-- their signatures (the logic-only rollback re-applies an older release's files over them). All
-- are planned per call (EXECUTE) with the filter's tokens as literals, so a selective filter can
-- use memory_chunks_filter_tokens_idx.

create or replace function memory.list_chunks_filtered(
  p_user_hash text,
  p_limit integer,
  p_doc_id text,
  p_source text,
  p_before_us bigint,
  p_before_id uuid,
  p_filter jsonb
)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  key_id integer,
  created_at timestamptz,
  updated_at timestamptz,
  version bigint,
  created_us bigint
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if (p_before_us is null) <> (p_before_id is null) then
    raise exception 'a cursor needs both created_at and id' using errcode = 'MV002';
  end if;
  return query execute
    'select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, c.created_at, c.updated_at, c.version,'
    || ' (extract(epoch from c.created_at) * 1000000)::bigint'
    || ' from memory.memory_chunks c'
    || ' where c.user_hash = $1'
    || case when p_doc_id is not null then ' and c.doc_id = $2' else '' end
    || case when p_source is not null then ' and c.source = $3' else '' end
    || case when p_before_us is not null
         then ' and (c.created_at, c.id) < (timestamptz ''epoch'' + $4 * interval ''1 microsecond'', $5)' else '' end
    || ' and ' || memory.filter_predicate(p_filter, 'c')
    || ' order by c.created_at desc, c.id desc limit $6'
    using p_user_hash, p_doc_id, p_source, p_before_us, p_before_id, p_limit;
end;
$$;

-- The dense query (memory.dense_search_sql) with a filter added to the tenant condition, so
-- pgvector's iterative scans keep walking the HNSW graph until `limit` rows pass the filter
-- (bounded by pgvector's hnsw.max_scan_tuples), and the exact shape reads only matching rows. In the
-- narrow layout the filter is checked on each candidate's wide row (as doc_id and source are).
-- Null: unchanged.
create or replace function memory.dense_search_sql_filtered(
  p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean, p_filter jsonb)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sql text := memory.dense_search_sql(p_has_doc_id, p_has_source, p_exact, p_narrow);
  v_filtered text;
begin
  if p_filter is null then
    return v_sql;
  end if;
  v_filtered := replace(v_sql, ' where v.user_hash = $1', ' where v.user_hash = $1 and ' ||
    case when p_narrow
      then 'exists (select from memory.memory_chunks ff where ff.user_hash = $1 and ff.id = v.id and '
           || memory.filter_predicate(p_filter, 'ff') || ')'
      else memory.filter_predicate(p_filter, 'v') end);
  -- Never run the query without the filter: if the query text changed shape, fail loudly.
  if v_filtered = v_sql then
    raise exception 'dense_search_sql_filtered: the search query has no tenant condition to extend' using errcode = 'XX000';
  end if;
  return v_filtered;
end;
$$;

-- The BM25 query (memory.search_lexical_sql) with the filter applied to the scored chunks before
-- the cut to `limit` (as doc_id and source are). Null: unchanged.
create or replace function memory.search_lexical_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_filter jsonb)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sql text := memory.search_lexical_sql(p_has_doc_id, p_has_source);
  v_filtered text;
begin
  if p_filter is null then
    return v_sql;
  end if;
  v_filtered := replace(v_sql, ' from scored s',
    ' from scored s join memory.memory_chunks ff on ff.user_hash = $1 and ff.id = s.chunk_id and '
    || memory.filter_predicate(p_filter, 'ff'));
  if v_filtered = v_sql then
    raise exception 'search_lexical_sql_filtered: the BM25 query has no scored chunks to filter' using errcode = 'XX000';
  end if;
  return v_filtered;
end;
$$;

-- memory.search_lexical with each hit's created_at and updated_at and an optional filter (null:
-- none). The same checks and the same query text, so the plan doctor verifies is the one run.
create or replace function memory.search_lexical_chunks(
  p_user_hash text,
  p_tokens bigint[],
  p_limit integer,
  p_doc_id text,
  p_source text,
  p_term_key_id integer,
  p_filter jsonb
)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
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
  v_params record := memory.bm25_parameters();
begin
  perform memory.set_tenant(p_user_hash);
  if p_tokens is null or cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
    raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if p_term_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
    raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
  end if;
  return query execute
    'select l.id, l.doc_id, l.source, l.text_cipher, l.meta_cipher, l.key_id, l.score, c.created_at, c.updated_at from ('
    || memory.search_lexical_sql_filtered(p_doc_id is not null, p_source is not null, p_filter)
    || ') l join memory.memory_chunks c on c.user_hash = $1 and c.id = l.id order by l.score desc, l.id'
    using p_user_hash, p_tokens, p_limit, p_doc_id, p_source, v_params.k1, v_params.b;
end;
$$;

-- memory.search_candidates (the daemon's dense and hybrid first stage) with each row's created_at
-- and updated_at and an optional filter applied to both sides (null: none). Same checks, same
-- query texts; rows unordered, as memory.search_candidates's.
create or replace function memory.search_candidates_chunks(
  p_user_hash text,
  p_query public.vector,
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
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' d.created_at, d.updated_at from ('
      || memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, true, p_filter)
      || ') d'
      using p_user_hash, p_query::public.halfvec, p_dense_limit, p_doc_id, p_source;
  else
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' d.created_at, d.updated_at from ('
      || memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, false, p_filter)
      || ') d'
      using p_user_hash, p_query, p_dense_limit, p_doc_id, p_source;
  end if;
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
--! EndIncluded functions/filtered.sql
--! Included functions/verify_rls_isolation.sql
-- Proves on the live database that one tenant can neither read nor write another's rows, through
-- the same policy the procedures rely on. It writes probe rows for two random tenants inside a
-- subtransaction and rolls it back, so it leaves nothing behind.
create or replace function memory.verify_rls_isolation()
returns table (check_name text, passed boolean, detail text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_a text := md5(random()::text) || md5(random()::text);
  v_b text := md5(random()::text) || md5(random()::text);
  v_id uuid := gen_random_uuid();
  v_zero public.vector := array_fill(0, array[memory.embedding_dim()])::real[]::public.vector;
  -- Results are kept in a variable: they must survive the rollback of the probe subtransaction.
  v_results jsonb := '[]';
  v_n bigint;
  v_count bigint;
begin
  begin
    perform set_config('memory.user_hash', v_a, true);
    insert into memory.memory_chunks (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id)
    values (v_a, v_id, 'probe', '', '\x00', '\x00', '\x00', v_zero, 0);

    select count(*) into v_n from memory.memory_chunks where id = v_id;
    v_results := v_results || jsonb_build_object('check_name', 'own_tenant_reads_own_row', 'passed', (v_n = 1), 'detail', format('%s row(s)', v_n));

    -- The lexical index of the probe chunk (one token): its postings and the tenant's counts follow.
    insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
    values (v_a, v_id, 1, array[42]::bigint[], array[1], 0, 1);
    select (select count(*) from memory.lexical_postings where chunk_id = v_id) + (select count(*) from memory.lexical_stats where user_hash = v_a)
      into v_n;
    v_results := v_results || jsonb_build_object('check_name', 'own_tenant_reads_own_postings', 'passed', (v_n = 2), 'detail', format('%s row(s)', v_n));

    -- Its search vector in the narrow layout (memory.chunk_vectors), and the tenant's search size
    -- that the insert's trigger records (memory.tenant_search_sizes).
    insert into memory.chunk_vectors (user_hash, id, embedding) values (v_a, v_id, v_zero::public.halfvec);
    select (select count(*) from memory.chunk_vectors where id = v_id) + (select count(*) from memory.tenant_search_sizes where user_hash = v_a)
      into v_n;
    v_results := v_results || jsonb_build_object('check_name', 'own_tenant_reads_own_search_vector', 'passed', (v_n = 2), 'detail', format('%s row(s)', v_n));

    perform set_config('memory.user_hash', '', true);
    select count(*) into v_n from memory.memory_chunks;
    v_results := v_results || jsonb_build_object('check_name', 'no_context_reads_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    perform set_config('memory.user_hash', 'not-a-hash'' or ''1''=''1', true);
    select count(*) into v_n from memory.memory_chunks;
    v_results := v_results || jsonb_build_object('check_name', 'malformed_context_reads_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    perform set_config('memory.user_hash', v_b, true);
    select count(*) into v_n from memory.memory_chunks where id = v_id;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_reads_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    select (select count(*) from memory.lexical_chunks) + (select count(*) from memory.lexical_postings) + (select count(*) from memory.lexical_stats)
      into v_n;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_reads_no_postings', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    select (select count(*) from memory.chunk_vectors) + (select count(*) from memory.tenant_search_sizes)
      into v_n;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_reads_no_search_vectors', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    update memory.chunk_vectors set embedding = embedding where id = v_id;
    get diagnostics v_n = row_count;
    delete from memory.chunk_vectors where id = v_id;
    get diagnostics v_count = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_changes_no_search_vector', 'passed', (v_n + v_count = 0), 'detail', format('%s row(s)', v_n + v_count));

    delete from memory.lexical_postings where chunk_id = v_id;
    get diagnostics v_n = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_deletes_no_postings', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    update memory.memory_chunks set doc_id = 'stolen' where id = v_id;
    get diagnostics v_n = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_updates_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    delete from memory.memory_chunks where id = v_id;
    get diagnostics v_n = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_deletes_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    begin
      insert into memory.memory_chunks (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id)
      values (v_a, gen_random_uuid(), 'probe', '', '\x00', '\x00', '\x00', v_zero, 0);
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_insert_rejected', 'passed', false, 'detail', 'insert succeeded');
    exception when insufficient_privilege then
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_insert_rejected', 'passed', true, 'detail', 'rejected (42501)');
    end;

    begin
      insert into memory.chunk_vectors (user_hash, id, embedding) values (v_a, v_id, v_zero::public.halfvec);
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_search_vector_rejected', 'passed', false, 'detail', 'insert succeeded');
    exception when insufficient_privilege then
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_search_vector_rejected', 'passed', true, 'detail', 'rejected (42501)');
    when others then
      -- Past the policy, the row collides with the probe's own vector: isolation did not stop it.
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_search_vector_rejected', 'passed', false, 'detail', format('not refused by the policy (%s)', sqlstate));
    end;

    raise exception 'rollback probe' using errcode = 'MV999';
  exception when sqlstate 'MV999' then
    null; -- the probe rows and context changes are rolled back with the subtransaction
  end;
  return query select r.check_name, r.passed, r.detail from jsonb_to_recordset(v_results) as r(check_name text, passed boolean, detail text);
end;
$$;
--! EndIncluded functions/verify_rls_isolation.sql
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
  memory.get_chunk(text, uuid),
  memory.list_chunks(text, integer, text, text, bigint, uuid),
  memory.list_chunks_filtered(text, integer, text, text, bigint, uuid, jsonb),
  memory.search_lexical_chunks(text, bigint[], integer, text, text, integer, jsonb),
  memory.search_candidates_chunks(text, public.vector, integer, bigint[], integer, text, text, integer, jsonb),
  memory.filter_backlog(text, integer),
  memory.store_filter_tokens(text, uuid[], integer[], bigint[], integer),
  memory.update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint),
  memory.delete_chunk(text, uuid, bigint),
  memory.claim_idempotency_key(text, bytea, bytea),
  memory.record_idempotent_response(text, bytea, integer, jsonb),
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
