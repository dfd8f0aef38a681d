--! Previous: sha1:b22531ab5482476d6fd084632ec274a04c39b810
--! Hash: sha1:a02ce81efcf9068dd7c9837cfcc7a8b74b67194d
--! Message: search: exact shape for small and medium tenants, ef_search 400

-- Search: an exact shape for small and medium tenants (tenant B-tree + sort, 100% recall) and the
-- HNSW shape for large ones, chosen per call (memory.search_is_exact, setting ann_exact_max_rows);
-- ef_search default 400. See db/functions/search_sql.sql for the measurements behind it.
drop function if exists memory.search_sql(boolean, boolean);

--! Included functions/search_sql.sql
-- The text of the ANN query, shared by memory.search and memory.explain_search so that the plan
-- doctor verifies is the plan search runs. Parameters: $1 user_hash, $2 query vector, $3 limit,
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

-- Whether memory.search takes the exact shape for this tenant: it does when the tenant has at
-- most ann_exact_max_rows rows (default 5,000; 0 = always use HNSW). Counting stops at the
-- threshold, so the check costs at most that many entries of the tenant's B-tree range.
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
  select count(*) into v_rows
  from (select 1 from memory.memory_chunks c where c.user_hash = p_user_hash limit v_max + 1) t;
  return v_rows <= v_max;
end;
$$;
--! EndIncluded functions/search_sql.sql
--! Included functions/apply_ann_settings.sql
-- Applies the ANN tuning settings (memory.settings keys ann_ef_search, ann_iterative_scan) to the
-- current transaction. Defaults: ef_search 400 (the ann bench's sweep on 100k chunks, large
-- tenants of 10k-50k rows: recall@10 0.89 at 100, 0.945 at 200, 0.983 at 400 for +1.5 ms; small
-- and medium tenants take the exact path and do not use it) and relaxed-order iterative scans
-- (pgvector >= 0.8), which keep scanning until enough rows pass the tenant filter.
create or replace function memory.apply_ann_settings()
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_ef text;
  v_mode text;
begin
  select (select value #>> '{}' from memory.settings where key = 'ann_ef_search'),
         (select value #>> '{}' from memory.settings where key = 'ann_iterative_scan')
    into v_ef, v_mode;
  perform set_config('hnsw.ef_search', coalesce(v_ef, '400'), true);
  perform set_config('hnsw.iterative_scan', coalesce(v_mode, 'relaxed_order'), true);
end;
$$;
--! EndIncluded functions/apply_ann_settings.sql
--! Included functions/search.sql
-- Top-N chunks of one tenant by cosine distance to p_embedding, optionally filtered by doc_id and
-- source. Returns ciphertexts; the daemon opens them. Exact for small and medium tenants, HNSW for
-- large ones (memory.search_sql explains why); planned per call (EXECUTE) with the tenant known.
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
  perform memory.apply_ann_settings();
  return query execute memory.search_sql(p_doc_id is not null, p_source is not null, memory.search_is_exact(p_user_hash))
    using p_user_hash, p_embedding, p_limit, p_doc_id, p_source;
end;
$$;
--! EndIncluded functions/search.sql
--! Included functions/explain_search.sql
-- EXPLAIN (FORMAT JSON) of exactly the query memory.search runs, for `memvault doctor` and the
-- check script: it proves which index serves search for a given tenant. With p_analyze the query
-- runs (inside this tenant's RLS context) and the plan carries timings; no row data is returned.
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
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.apply_ann_settings();
  execute 'explain (format json, analyze ' || case when p_analyze then 'true' else 'false' end || ') ' || memory.search_sql(false, false, memory.search_is_exact(p_user_hash))
    into v_plan
    using p_user_hash, p_embedding, p_limit, null::text, null::text;
  return v_plan;
end;
$$;
--! EndIncluded functions/explain_search.sql
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
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint),
  memory.search(text, public.vector, integer, text, text),
  memory.get_chunks(text, uuid[]),
  memory.delete_doc(text, text),
  memory.forget_tenant(text),
  memory.tenant_stats(text),
  memory.get_settings(),
  memory.health(),
  memory.embedding_dim(),
  memory.explain_search(text, public.vector, integer, boolean),
  memory.explain_lookup(text),
  memory.verify_rls_isolation(),
  memory.next_dek_id(),
  memory.get_tenant_keys(text),
  memory.add_tenant_key(text, integer, bytea, integer)
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
  memory.rehash_tenant_state(text)
to memory_maintainer;
grant usage on sequence memory.tenant_key_id_seq to memory_owner;
--! EndIncluded grants.sql
