-- HMAC key rotation moves a tenant from its old user_hash to its new one. The daemon-side job opens
-- every blob with the old AAD and re-seals it with the new one; these procedures lock and move the
-- rows. One transaction per tenant makes the move atomic; a crash leaves the tenant wholly old.

-- The tenant's chunks after a keyset cursor, locked until the transaction ends.
create or replace function memory.rehash_read_chunks(p_old_hash text, p_limit integer, p_after_id uuid default null)
returns table (id uuid, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_scheme smallint, key_id integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select c.id, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where c.user_hash = p_old_hash
      and c.id > coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid)
    order by c.id
    limit p_limit
    for update;
end;
$$;

-- Copies rows to the new hash with their re-sealed blobs and deletes the old rows.
create or replace function memory.rehash_move_chunks(
  p_old_hash text, p_new_hash text, p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[]
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_n integer;
begin
  perform memory.begin_maintenance();
  if p_new_hash !~ '^[0-9a-f]{64}$' or p_old_hash = p_new_hash then
    raise exception 'new user_hash must be 64 lowercase hex characters and differ from the old' using errcode = 'MV001';
  end if;
  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme, created_at)
  select p_new_hash, c.id, c.doc_id, c.source, u.text_cipher, u.meta_cipher, u.emb_cipher, c.embedding, c.key_id, c.key_scheme, c.created_at
  from unnest(p_ids, p_text_ciphers, p_meta_ciphers, p_emb_ciphers) as u(id, text_cipher, meta_cipher, emb_cipher)
  join memory.memory_chunks c on c.user_hash = p_old_hash and c.id = u.id;
  get diagnostics v_n = row_count;
  delete from memory.memory_chunks c where c.user_hash = p_old_hash and c.id = any (p_ids);
  return v_n;
end;
$$;

-- Moves the tenant's DEKs (re-wrapped for the new hash) and reports whether the old tenant is
-- now empty.
create or replace function memory.rehash_move_keys(p_old_hash text, p_new_hash text, p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_n integer;
begin
  perform memory.begin_maintenance();
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active, created_at)
  select p_new_hash, k.dek_id, u.wrapped, p_kek_id, k.active, k.created_at
  from unnest(p_dek_ids, p_wrapped) as u(dek_id, wrapped)
  join memory.tenant_keys k on k.user_hash = p_old_hash and k.dek_id = u.dek_id;
  get diagnostics v_n = row_count;
  delete from memory.tenant_keys k where k.user_hash = p_old_hash;
  return v_n;
end;
$$;

-- How many chunks and keys a hash holds: lets the job skip tenants already moved and report
-- ids that match nothing.
create or replace function memory.rehash_tenant_state(p_user_hash text)
returns table (chunks bigint, keys bigint)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select (select count(*) from memory.memory_chunks c where c.user_hash = p_user_hash),
           (select count(*) from memory.tenant_keys k where k.user_hash = p_user_hash);
end;
$$;
