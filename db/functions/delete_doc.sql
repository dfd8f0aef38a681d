-- Deletes every chunk of one document of one tenant; returns how many (0 when nothing matched).
create or replace function memory.delete_doc(p_user_hash text, p_doc_id text)
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
  if p_doc_id is null or length(p_doc_id) not between 1 and 256 then
    raise exception 'doc_id must be 1 to 256 characters' using errcode = 'MV002';
  end if;
  delete from memory.memory_chunks c where c.user_hash = p_user_hash and c.doc_id = p_doc_id;
  get diagnostics v_deleted = row_count;
  if v_deleted > 0 then
    perform memory.notify_event('doc_deleted', p_user_hash, v_deleted);
  end if;
  return v_deleted;
end;
$$;
