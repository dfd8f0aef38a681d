-- Applies the ANN tuning settings (memory.settings keys ann_ef_search, ann_iterative_scan) to the
-- current transaction. Defaults: ef_search 100 (>= the largest candidate count we serve, so HNSW can
-- return that many) and relaxed-order iterative scans (pgvector >= 0.8), which keep scanning the
-- graph until enough rows pass the tenant filter instead of returning too few.
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
  perform set_config('hnsw.ef_search', coalesce(v_ef, '100'), true);
  perform set_config('hnsw.iterative_scan', coalesce(v_mode, 'relaxed_order'), true);
end;
$$;
