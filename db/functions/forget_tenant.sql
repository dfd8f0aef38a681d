-- Forgets a tenant entirely: deletes all its chunks; returns how many.
create or replace function memory.forget_tenant(p_user_hash text)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_deleted integer;
begin
  perform memory.set_tenant(p_user_hash);
  delete from memory.memory_chunks c where c.user_hash = p_user_hash;
  get diagnostics v_deleted = row_count;
  perform memory.notify_event('tenant_forgotten', p_user_hash, v_deleted);
  return v_deleted;
end;
$$;
