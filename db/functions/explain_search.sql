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
