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
