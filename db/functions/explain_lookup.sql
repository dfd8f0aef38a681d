-- EXPLAIN (FORMAT JSON) of the lookups by id and by document, for `memvault doctor`.
create or replace function memory.explain_lookup(p_user_hash text)
returns table (lookup text, plan json)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_plan json;
begin
  perform memory.set_tenant(p_user_hash);
  execute 'explain (format json) select * from memory.memory_chunks where user_hash = $1 and id = any($2)'
    into v_plan using p_user_hash, array[gen_random_uuid()];
  lookup := 'by_id'; plan := v_plan; return next;
  execute 'explain (format json) select * from memory.memory_chunks where user_hash = $1 and doc_id = $2'
    into v_plan using p_user_hash, 'doc';
  lookup := 'by_doc'; plan := v_plan; return next;
end;
$$;
