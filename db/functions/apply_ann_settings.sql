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
