-- Size of one tenant's memory: chunks, documents, stored ciphertext bytes, first and last write.
create or replace function memory.tenant_stats(p_user_hash text)
returns table (chunks bigint, documents bigint, cipher_bytes bigint, first_at timestamptz, last_at timestamptz)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  return query
    select count(*), count(distinct c.doc_id),
           coalesce(sum(octet_length(c.text_cipher) + octet_length(c.meta_cipher) + octet_length(c.emb_cipher)), 0)::bigint,
           min(c.created_at), max(c.updated_at)
    from memory.memory_chunks c
    where c.user_hash = p_user_hash;
end;
$$;
