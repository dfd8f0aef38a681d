-- One chunk of the tenant by id, with its version (the API's ETag); no row when the tenant has no
-- such chunk (another tenant's id included: RLS and the user_hash condition both hide it).
create or replace function memory.get_chunk(p_user_hash text, p_id uuid)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  emb_cipher bytea,
  key_id integer,
  created_at timestamptz,
  updated_at timestamptz,
  version bigint
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_id is null then
    raise exception 'id is required' using errcode = 'MV002';
  end if;
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_id, c.created_at, c.updated_at, c.version
    from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = p_id;
end;
$$;
