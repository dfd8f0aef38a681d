-- Statement-level triggers: one NOTIFY per statement and tenant, not per row.
create or replace function memory.tg_memory_chunks__notify_indexed()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row record;
begin
  for v_row in select n.user_hash, count(*)::integer as n, array_agg(n.id) as ids from new_rows n group by n.user_hash loop
    perform memory.notify_event('chunks_indexed', v_row.user_hash, v_row.n, v_row.ids);
  end loop;
  return null;
end;
$$;

create or replace function memory.tg_settings__notify_changed()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  -- On Citus the coordinator's placement of this reference table notifies (memory.on_citus_worker).
  if memory.on_citus_worker() then
    return null;
  end if;
  perform pg_notify('memory_settings', json_build_object('nonce', gen_random_uuid())::text);
  return null;
end;
$$;

create or replace function memory.tg__touch_updated_at()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
