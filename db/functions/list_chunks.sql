-- A page of the tenant's chunks, newest first: keyset pagination on (created_at, id) strictly
-- after the cursor (p_before_us, p_before_id), read from memory_chunks_user_created_idx, so every
-- page costs the same however deep it is. Optional doc_id / source filters. Positions are
-- microseconds since the epoch (created_us), exact where a client's timestamp type may round.
-- The daemon MACs the cursor it hands out (bound to the tenant); here it is a plain position.
create or replace function memory.list_chunks(
  p_user_hash text,
  p_limit integer,
  p_doc_id text default null,
  p_source text default null,
  p_before_us bigint default null,
  p_before_id uuid default null
)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  key_id integer,
  created_at timestamptz,
  updated_at timestamptz,
  version bigint,
  created_us bigint
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if (p_before_us is null) <> (p_before_id is null) then
    raise exception 'a cursor needs both created_at and id' using errcode = 'MV002';
  end if;
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, c.created_at, c.updated_at, c.version,
           (extract(epoch from c.created_at) * 1000000)::bigint
    from memory.memory_chunks c
    where c.user_hash = p_user_hash
      and (p_doc_id is null or c.doc_id = p_doc_id)
      and (p_source is null or c.source = p_source)
      and (p_before_us is null
           or (c.created_at, c.id) < (timestamptz 'epoch' + p_before_us * interval '1 microsecond', p_before_id))
    order by c.created_at desc, c.id desc
    limit p_limit;
end;
$$;
