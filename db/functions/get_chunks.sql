-- The tenant's chunks with the given ids (missing ids are simply absent from the result).
create or replace function memory.get_chunks(p_user_hash text, p_ids uuid[])
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  emb_cipher bytea,
  key_id integer,
  created_at timestamptz,
  updated_at timestamptz
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_ids is null or cardinality(p_ids) > 1000 then
    raise exception 'ids: 0 to 1000 ids' using errcode = 'MV002';
  end if;
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_id, c.created_at, c.updated_at
    from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = any (p_ids)
    order by c.id;
end;
$$;
