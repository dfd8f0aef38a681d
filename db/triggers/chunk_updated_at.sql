-- A chunk's updated_at is when its content last changed (memory.update_chunk raises its version),
-- not when key maintenance re-sealed or re-hashed it: the API reports and filters on it, and a
-- re-seal changes nothing a caller wrote.
create or replace function memory.tg_memory_chunks__touch_updated_at()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.version is distinct from old.version then
    new.updated_at := now();
  else
    new.updated_at := old.updated_at;
  end if;
  return new;
end;
$$;

drop trigger if exists _100_touch_updated_at on memory.memory_chunks;
create trigger _100_touch_updated_at
  before update on memory.memory_chunks
  for each row execute function memory.tg_memory_chunks__touch_updated_at();
