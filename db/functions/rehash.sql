-- HMAC key rotation moves a tenant from its old user_hash to its new one. The daemon-side job opens
-- every blob with the old AAD and re-seals it with the new one; these procedures lock and move the
-- rows. One transaction per tenant makes the move atomic; a crash leaves the tenant wholly old.

-- The tenant's chunks after a keyset cursor, locked until the transaction ends. doc_id and source
-- too: a version-3 blob's AAD binds them.
create or replace function memory.rehash_read_chunks(p_old_hash text, p_limit integer, p_after_id uuid default null)
returns table (
  id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_scheme smallint,
  key_id integer
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where c.user_hash = p_old_hash
      and c.id > coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid)
    order by c.id
    limit p_limit
    for update;
end;
$$;

-- The key id in a sealed blob's envelope header: bytes 2-5, a big-endian uint32 (src/crypto/envelope.ts).
create or replace function memory.envelope_key_id(p_blob bytea)
returns integer
language sql
immutable
strict
set search_path = pg_catalog, pg_temp
as $$
  select ((get_byte(p_blob, 1)::bigint << 24) | (get_byte(p_blob, 2) << 16) | (get_byte(p_blob, 3) << 8)
          | get_byte(p_blob, 4))::integer;
$$;

-- Copies rows to the new hash with their re-sealed blobs and deletes the old rows. key_scheme and
-- key_id are taken from the new blobs' envelope header (version byte, then the uint32 key id), not
-- from the old row: the job may seal a legacy blob under another key-ring key than the one it was
-- under, and key_usage / retire_kek trust these columns to say which key each blob needs. A header
-- that lies only makes its blob unopenable (the header is authenticated), never a wrong count.
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
  v_kek_id integer;
begin
  perform memory.begin_maintenance();
  if p_new_hash !~ '^[0-9a-f]{64}$' or p_old_hash = p_new_hash then
    raise exception 'new user_hash must be 64 lowercase hex characters and differ from the old' using errcode = 'MV001';
  end if;
  if exists (select from unnest(p_text_ciphers, p_meta_ciphers, p_emb_ciphers) as u(text_cipher, meta_cipher, emb_cipher)
             where octet_length(u.text_cipher) < 5 or get_byte(u.text_cipher, 0) not in (1, 2, 3)
                or substring(u.meta_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)
                or substring(u.emb_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)) then
    raise exception 'the three blobs of a chunk must carry one envelope header (version 1, 2 or 3, one key id)'
      using errcode = 'MV002';
  end if;
  for v_kek_id in
    select distinct memory.envelope_key_id(t) from unnest(p_text_ciphers) t where get_byte(t, 0) = 1
  loop
    perform memory.assert_kek_usable(v_kek_id);
  end loop;
  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme, created_at)
  select p_new_hash, c.id, c.doc_id, c.source, u.text_cipher, u.meta_cipher, u.emb_cipher, c.embedding,
         -- Envelope versions 2 and 3 are both the data-key scheme (3 also binds doc_id and source).
         memory.envelope_key_id(u.text_cipher), least(get_byte(u.text_cipher, 0), 2)::smallint, c.created_at
  from unnest(p_ids, p_text_ciphers, p_meta_ciphers, p_emb_ciphers) as u(id, text_cipher, meta_cipher, emb_cipher)
  join memory.memory_chunks c on c.user_hash = p_old_hash and c.id = u.id;
  get diagnostics v_n = row_count;
  -- The lexical index moves with its chunks: its tokens are keyed under the tenant's data key,
  -- which keeps its id and material across a rehash (only its wrapping changes). Deleting the old
  -- chunks below cascades to their old index rows.
  insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
  select p_new_hash, l.chunk_id, l.length, l.tokens, l.tfs, l.term_key_id, l.analyzer_version
  from memory.lexical_chunks l
  join memory.memory_chunks c on c.user_hash = p_new_hash and c.id = l.chunk_id
  where l.user_hash = p_old_hash and l.chunk_id = any (p_ids);
  -- The search vectors move too (the chunk keeps its id; the old rows go with the cascade below),
  -- with their scheme: a protected vector stays valid, its vector key comes from the data key,
  -- which keeps its id and material across a rehash, and its noise from the chunk id.
  insert into memory.chunk_vectors (user_hash, id, embedding, vector_scheme, vector_key_id)
  select p_new_hash, v.id, v.embedding, v.vector_scheme, v.vector_key_id
  from memory.chunk_vectors v
  join memory.memory_chunks c on c.user_hash = p_new_hash and c.id = v.id
  where v.user_hash = p_old_hash and v.id = any (p_ids);
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
  perform memory.assert_kek_usable(p_kek_id);
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
