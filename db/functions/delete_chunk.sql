-- Deletes one chunk of the tenant; with p_expected_version, only if the row is still at that
-- version. Statuses as memory.update_chunk: 'deleted', 'not_found', 'version_mismatch' (with the
-- current version).
create or replace function memory.delete_chunk(p_user_hash text, p_id uuid, p_expected_version bigint default null)
returns table (status text, version bigint)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_version bigint;
begin
  perform memory.set_tenant(p_user_hash);
  if p_id is null then
    raise exception 'id is required' using errcode = 'MV002';
  end if;
  delete from memory.memory_chunks c
   where c.user_hash = p_user_hash and c.id = p_id
     and (p_expected_version is null or c.version = p_expected_version)
  returning c.version into v_version;
  if found then
    perform memory.notify_event('chunk_deleted', p_user_hash, 1, array[p_id]);
    return query select 'deleted'::text, v_version;
    return;
  end if;
  return query
    select 'version_mismatch'::text, c.version from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = p_id;
  if not found then
    return query select 'not_found'::text, null::bigint;
  end if;
end;
$$;
