--! Previous: sha1:dc9d67728a2ec90b7402b1eefe1d8cd5af918c95
--! Hash: sha1:60ce45a8837845cfb60a699147bd986175c8091b
--! Message: chunks sealed with doc_id and source bound (envelope v3): key-job claims and filter_backlog return doc_id and source, reseal claims version-2 rows, rehash accepts version 3

-- Issue 11, item 9: chunks are sealed with doc_id and source bound into their AAD (envelope
-- version 3), so a row relabelled in the table fails to open. The key jobs open such blobs, so the
-- procedures that hand them rows now return doc_id and source too (a new return shape: dropped and
-- created again; callers read columns by name, so older daemons are unaffected), and re-sealing
-- also claims rows still at version 2 (`memvault reseal` moves a database to version 3).
drop function if exists memory.claim_reseal(integer, text, text, uuid);
drop function if exists memory.rehash_read_chunks(text, integer, uuid);
drop function if exists memory.claim_lexical_reindex(integer, smallint, text, text, uuid);
drop function if exists memory.claim_vector_backfill(integer, text, text, uuid);
drop function if exists memory.filter_backlog(text, integer);
--! Included functions/key_maintenance.sql
-- Maintenance procedures for keys over time (docs/KEYS.md). They work across tenants, so each
-- enters maintenance mode first (memory_maintainer sessions only). Work is claimed with
-- FOR UPDATE SKIP LOCKED: several workers share a job safely, and a crashed worker's rows are
-- simply claimed again, which makes every job resumable.

-- KEK rotation: DEKs still wrapped under another key-ring key than the target.
create or replace function memory.claim_dek_rewrap(p_target_kek_id integer, p_limit integer)
returns table (user_hash text, dek_id integer, wrapped_dek bytea, kek_id integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select k.user_hash, k.dek_id, k.wrapped_dek, k.kek_id
    from memory.tenant_keys k
    where k.kek_id <> p_target_kek_id
    limit p_limit
    for update skip locked;
end;
$$;

create or replace function memory.store_rewrapped_deks(p_user_hashes text[], p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer)
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
  update memory.tenant_keys k
     set wrapped_dek = u.wrapped, kek_id = p_kek_id, updated_at = now()
    from unnest(p_user_hashes, p_dek_ids, p_wrapped) as u(user_hash, dek_id, wrapped)
   where k.user_hash = u.user_hash and k.dek_id = u.dek_id;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- What still needs each key-ring key: DEKs it wraps and legacy chunks sealed directly under it.
-- A key may be retired only when both are zero.
create or replace function memory.key_usage()
returns table (kek_id integer, wrapped_deks bigint, legacy_chunks bigint)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select u.kek_id, sum(u.deks)::bigint, sum(u.chunks)::bigint
    from (
      select k.kek_id, count(*) as deks, 0::bigint as chunks from memory.tenant_keys k group by k.kek_id
      union all
      select c.key_id, 0, count(*) from memory.memory_chunks c where c.key_scheme = 1 group by c.key_id
    ) u
    group by u.kek_id
    order by u.kek_id;
end;
$$;

-- Re-sealing: chunks not sealed under their tenant's active DEK (legacy key-ring blobs, or blobs
-- under a DEK being replaced), or sealed before doc_id and source were bound into the AAD
-- (envelope version 2; the version is the blob's first byte, and the job seals all three fields
-- alike, so the text blob speaks for the row). doc_id and source are returned because a version-3
-- blob opens only with them. Keyset pagination after (p_after_hash, p_after_id) keeps each claim
-- a forward index scan, so a pass over the table is linear.
create or replace function memory.claim_reseal(
  p_limit integer,
  p_user_hash text default null,
  p_after_hash text default '',
  p_after_id uuid default '00000000-0000-0000-0000-000000000000'
)
returns table (
  user_hash text, id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea,
  key_scheme smallint, key_id integer
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select c.user_hash, c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and (c.key_scheme = 1 or get_byte(c.text_cipher, 0) <> 3 or not exists (
            select from memory.tenant_keys k
            where k.user_hash = c.user_hash and k.dek_id = c.key_id and k.active))
    order by c.user_hash, c.id
    limit p_limit
    for update of c skip locked;
end;
$$;

create or replace function memory.store_resealed(
  p_user_hashes text[], p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[], p_key_ids integer[]
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
  update memory.memory_chunks c
     set text_cipher = u.text_cipher, meta_cipher = u.meta_cipher, emb_cipher = u.emb_cipher,
         key_id = u.key_id, key_scheme = 2
    from unnest(p_user_hashes, p_ids, p_text_ciphers, p_meta_ciphers, p_emb_ciphers, p_key_ids)
      as u(user_hash, id, text_cipher, meta_cipher, emb_cipher, key_id)
   where c.user_hash = u.user_hash and c.id = u.id;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- Replaces a tenant's active DEK (after a suspected compromise): the old one stays, inactive, until
-- re-sealing has moved every chunk off it; then drop_retired_tenant_keys destroys it.
create or replace function memory.rotate_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  perform memory.assert_kek_usable(p_kek_id);
  update memory.tenant_keys k set active = false, updated_at = now() where k.user_hash = p_user_hash and k.active;
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active)
  values (p_user_hash, p_dek_id, p_wrapped_dek, p_kek_id, true);
end;
$$;

create or replace function memory.drop_retired_tenant_keys(p_user_hash text default null)
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
  delete from memory.tenant_keys k
   where not k.active
     and (p_user_hash is null or k.user_hash = p_user_hash)
     and not exists (select from memory.memory_chunks c
                     where c.user_hash = k.user_hash and c.key_scheme = 2 and c.key_id = k.dek_id);
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- The DEKs of several tenants at once, for re-sealing batches that span tenants.
create or replace function memory.tenant_keys_of(p_user_hashes text[])
returns table (user_hash text, dek_id integer, wrapped_dek bytea, kek_id integer, active boolean)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select k.user_hash, k.dek_id, k.wrapped_dek, k.kek_id, k.active
    from memory.tenant_keys k where k.user_hash = any (p_user_hashes);
end;
$$;
--! EndIncluded functions/key_maintenance.sql
--! Included functions/rehash.sql
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
  -- The search vectors move too (the chunk keeps its id; the old rows go with the cascade below).
  insert into memory.chunk_vectors (user_hash, id, embedding)
  select p_new_hash, v.id, v.embedding
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
--! EndIncluded functions/rehash.sql
--! Included functions/lexical_maintenance.sql
-- Maintenance of the lexical index (maintenance mode, memory_maintainer): `memvault reindex lexical`
-- claims chunks whose index row is missing or stale and stores their new analysis; doctor counts.
-- A chunk's index is stale when it was analysed by another analyzer version, or keyed under a data
-- key that is no longer the tenant's active one (after `reseal --tenant` the term key changed, and
-- queries key their terms under the active key only).

-- Chunks needing (re)indexing, oldest tenant/id first after the keyset cursor, locked SKIP LOCKED
-- so several workers share a pass and live writers are never waited on.
create or replace function memory.claim_lexical_reindex(
  p_limit integer,
  p_analyzer_version smallint,
  p_user_hash text default null,
  p_after_hash text default '',
  p_after_id uuid default '00000000-0000-0000-0000-000000000000'
)
returns table (user_hash text, id uuid, doc_id text, source text, text_cipher bytea, key_id integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    -- doc_id and source: a version-3 blob's AAD binds them.
    select c.user_hash, c.id, c.doc_id, c.source, c.text_cipher, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and not exists (
        select from memory.lexical_chunks l
        join memory.tenant_keys k on k.user_hash = l.user_hash and k.dek_id = l.term_key_id and k.active
        where l.user_hash = c.user_hash and l.chunk_id = c.id and l.analyzer_version = p_analyzer_version)
    order by c.user_hash, c.id
    limit p_limit
    for update of c skip locked;
end;
$$;

-- Replaces the index rows of the given chunks (parallel arrays per chunk; postings as in
-- memory.index_chunks, p_chunks indexing into p_ids). Chunks deleted meanwhile are skipped. Each
-- term key must be its tenant's active data key (MV010: the job re-reads the keys and retries).
create or replace function memory.store_lexical(
  p_user_hashes text[],
  p_ids uuid[],
  p_term_key_ids integer[],
  p_lengths integer[],
  p_chunks integer[],
  p_tokens bigint[],
  p_tfs integer[],
  p_analyzer_version smallint
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_n integer;
begin
  perform memory.begin_maintenance();
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_term_key_ids), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_term_key_ids) as u(user_hash, id, term_key_id)
             where u.user_hash is null or u.id is null or u.term_key_id is null) then
    raise exception 'user_hashes, ids and term_key_ids must be present' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_user_hashes, p_term_key_ids) as u(user_hash, term_key_id)
             where not exists (select from memory.tenant_keys k
                               where k.user_hash = u.user_hash and k.dek_id = u.term_key_id and k.active)) then
    raise exception 'a term key is not its tenant''s active data key' using errcode = 'MV010';
  end if;
  -- One tenant's check covers the array shapes and values; the key check above covered all tenants.
  perform memory.assert_lexical_batch_shape(v_count, p_lengths, p_chunks, p_tokens, p_tfs, p_analyzer_version);
  delete from memory.lexical_chunks l
  using unnest(p_user_hashes, p_ids) as u(user_hash, id)
  where l.user_hash = u.user_hash and l.chunk_id = u.id;
  insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
  select p_user_hashes[i], p_ids[i], p_lengths[i], coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_ids[i], p_analyzer_version
  from generate_subscripts(p_ids, 1) as i
  join memory.memory_chunks c on c.user_hash = p_user_hashes[i] and c.id = p_ids[i]
  left join memory.lexical_postings_by_chunk(p_chunks, p_tokens, p_tfs) t on t.chunk = i;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- Index coverage across tenants, for doctor: chunks, chunks indexed under the current analyzer and
-- the tenant's active key, chunks not indexed at all, and chunks indexed but stale. Counts only.
create or replace function memory.lexical_coverage(p_analyzer_version smallint)
returns table (chunks bigint, current bigint, missing bigint, stale bigint)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select count(*),
           count(*) filter (where l.chunk_id is not null and l.analyzer_version = p_analyzer_version and k.dek_id is not null),
           count(*) filter (where l.chunk_id is null),
           count(*) filter (where l.chunk_id is not null and (l.analyzer_version <> p_analyzer_version or k.dek_id is null))
    from memory.memory_chunks c
    left join memory.lexical_chunks l on l.user_hash = c.user_hash and l.chunk_id = c.id
    left join memory.tenant_keys k on k.user_hash = l.user_hash and k.dek_id = l.term_key_id and k.active;
end;
$$;
--! EndIncluded functions/lexical_maintenance.sql
--! Included functions/vector_backfill.sql
-- Filling the narrow search layout for chunks written before it (maintenance mode,
-- memory_maintainer): `memvault reindex vectors` claims chunks without a memory.chunk_vectors row,
-- opens their sealed embedding, makes the search vector the write path would have made
-- (src/crypto/search-vector.ts) and stores it; when no chunk is left without one, it switches dense
-- search to the narrow layout (memory.search_layout()). Until then search reads memory_chunks, so
-- queries are complete at every moment of the migration.

-- Chunks without a search vector, oldest tenant/id first after the keyset cursor, locked SKIP
-- LOCKED so several workers share a pass and live writers are never waited on.
create or replace function memory.claim_vector_backfill(
  p_limit integer,
  p_user_hash text default null,
  p_after_hash text default '',
  p_after_id uuid default '00000000-0000-0000-0000-000000000000'
)
returns table (
  user_hash text, id uuid, doc_id text, source text, emb_cipher bytea, key_scheme smallint, key_id integer
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    -- doc_id and source: a version-3 blob's AAD binds them.
    select c.user_hash, c.id, c.doc_id, c.source, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and not exists (select from memory.chunk_vectors v where v.user_hash = c.user_hash and v.id = c.id)
    order by c.user_hash, c.id
    limit p_limit
    for update of c skip locked;
end;
$$;

-- Stores search vectors for the given chunks (parallel arrays). Chunks deleted meanwhile, and
-- chunks that got their vector meanwhile, are skipped. Returns how many it stored.
create or replace function memory.store_search_vectors(
  p_user_hashes text[],
  p_ids uuid[],
  p_vectors public.vector[]
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_n integer;
begin
  perform memory.begin_maintenance();
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_vectors), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_vectors) as u(user_hash, id, vec)
             where u.user_hash is null or u.id is null or u.vec is null) then
    raise exception 'user_hashes, ids and vectors must be present' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_vectors) e where public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every vector must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;
  insert into memory.chunk_vectors (user_hash, id, embedding)
  select u.user_hash, u.id, u.vec::public.halfvec
  from unnest(p_user_hashes, p_ids, p_vectors) as u(user_hash, id, vec)
  join memory.memory_chunks c on c.user_hash = u.user_hash and c.id = u.id
  on conflict do nothing;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- Coverage across tenants, for doctor and the job's progress: chunks, chunks without a search
-- vector, and the layout dense search reads. Counts only.
create or replace function memory.vector_coverage()
returns table (chunks bigint, missing bigint, layout text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select count(*),
           count(*) filter (where v.id is null),
           memory.search_layout()
    from memory.memory_chunks c
    left join memory.chunk_vectors v on v.user_hash = c.user_hash and v.id = c.id;
end;
$$;

-- Switches dense search to the narrow layout once every chunk has its search vector, and returns
-- the layout in force and how many chunks still miss one. The check and the switch are atomic
-- against writers: memory_chunks is locked in SHARE mode (writers wait, readers do not) for the
-- check, so no chunk can appear without its vector between the count and the switch. Writers have
-- written both layouts since migration 000011, so after the switch nothing can be missing.
create or replace function memory.finish_vector_backfill()
returns table (missing bigint, layout text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_missing bigint;
begin
  perform memory.begin_maintenance();
  if memory.search_layout() <> 'vectors' then
    lock table memory.memory_chunks in share mode;
    select count(*) into v_missing
    from memory.memory_chunks c
    where not exists (select from memory.chunk_vectors v where v.user_hash = c.user_hash and v.id = c.id);
    if v_missing = 0 then
      insert into memory.settings (key, value) values ('search_layout', '"vectors"')
      on conflict (key) do update set value = excluded.value, updated_at = now();
    end if;
  else
    v_missing := 0;
  end if;
  return query select v_missing, memory.search_layout();
end;
$$;
--! EndIncluded functions/vector_backfill.sql
--! Included functions/filter.sql
-- Filters over sealed metadata (issue 14). Each chunk carries filter_tokens: the keyed tokens of
-- its top-level scalar metadata fields, (field, value) → 64-bit HMAC under a key derived from the
-- tenant's data key (src/crypto/filter-key.ts), and filter_key_id, the data key they were keyed
-- under. The database never sees a field name or a value, only which chunks share a token.

-- The SQL predicate of a compiled filter (src/memory/filter.ts) on the chunk row aliased p_alias:
--   {"any": ["<token>", ...]}             the chunk has one of these tokens
--   {"all": [f, ...]} / {"either": [f, ...]} / {"not": f}
--   {"time": "created_at"|"updated_at", "op": ">"|">="|"<"|"<=", "at": "<ISO 8601>"}
-- Only integers (cast to bigint), timestamps (cast to timestamptz) and the fixed operators above
-- reach the text, each through a cast that raises on anything else, so the predicate is safe to
-- EXECUTE. A chunk without tokens (not yet keyed) has no token: `any` is false for it, `not any`
-- true. The callers key the tenant's backlog first (memory.filter_backlog), so that case is rare.
create or replace function memory.filter_predicate(p_filter jsonb, p_alias text, p_depth integer default 0)
returns text
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
  v_parts text[];
  v_tokens bigint[];
  v_op text;
begin
  if p_depth > 16 or p_filter is null or jsonb_typeof(p_filter) <> 'object' then
    raise exception 'filter: an object, nested at most 16 deep' using errcode = 'MV002';
  end if;
  if p_filter ? 'any' and jsonb_typeof(p_filter -> 'any') = 'array' and jsonb_array_length(p_filter -> 'any') > 0 then
    select array_agg(t::bigint) into v_tokens from jsonb_array_elements_text(p_filter -> 'any') as t;
    return format('coalesce(%I.filter_tokens && %L::bigint[], false)', p_alias, v_tokens);
  elsif (p_filter ? 'all' or p_filter ? 'either')
        and jsonb_typeof(coalesce(p_filter -> 'all', p_filter -> 'either')) = 'array'
        and jsonb_array_length(coalesce(p_filter -> 'all', p_filter -> 'either')) > 0 then
    select array_agg(memory.filter_predicate(f, p_alias, p_depth + 1))
      into v_parts
      from jsonb_array_elements(coalesce(p_filter -> 'all', p_filter -> 'either')) as f;
    return '(' || array_to_string(v_parts, case when p_filter ? 'all' then ' and ' else ' or ' end) || ')';
  elsif p_filter ? 'not' then
    return 'not ' || memory.filter_predicate(p_filter -> 'not', p_alias, p_depth + 1);
  elsif p_filter ->> 'time' in ('created_at', 'updated_at') then
    v_op := p_filter ->> 'op';
    if v_op is null or v_op not in ('>', '>=', '<', '<=') then
      raise exception 'filter: time operator must be >, >=, < or <=' using errcode = 'MV002';
    end if;
    return format('%I.%I %s %L::timestamptz', p_alias, p_filter ->> 'time', v_op, (p_filter ->> 'at')::timestamptz);
  end if;
  raise exception 'filter: unknown node' using errcode = 'MV002';
end;
$$;

-- The tenant's active data key and up to p_limit of its chunks whose tokens were not keyed under
-- it (written before filters existed or without tokens, corrected by an update, or keyed before
-- `reseal --tenant` replaced the key), with their sealed metadata, for the daemon to key
-- (memory.store_filter_tokens) before it filters. Every row carries the key id; with no backlog
-- there is one row (key_id and nulls); a tenant without a data key has no chunks and no row.
-- Each probe is a range of memory_chunks_filter_key_idx, so a tenant without backlog costs three
-- index probes.
create or replace function memory.filter_backlog(p_user_hash text, p_limit integer)
returns table (key_id integer, id uuid, doc_id text, source text, meta_cipher bytea)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_key integer;
begin
  perform memory.set_tenant(p_user_hash);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  select k.dek_id into v_key from memory.tenant_keys k where k.user_hash = p_user_hash and k.active;
  if v_key is null then
    return;
  end if;
  return query
    -- doc_id and source: a version-3 blob's AAD binds them, so the daemon needs them to open it.
    select v_key, b.id, b.doc_id, b.source, b.meta_cipher from (
      (select c.id, c.doc_id, c.source, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id is null limit p_limit)
      union all
      (select c.id, c.doc_id, c.source, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id < v_key limit p_limit)
      union all
      (select c.id, c.doc_id, c.source, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id > v_key limit p_limit)
      limit p_limit) b;
  if not found then
    return query select v_key, null::uuid, null::text, null::text, null::bytea;
  end if;
end;
$$;

-- Stores the filter tokens of some of the tenant's chunks: chunk p_ids[p_chunks[j]] (1-based) has
-- token p_tokens[j]; a chunk listed in p_ids with no token gets an empty set (its metadata has no
-- scalar field). Keyed under data key p_key_id, which must be the tenant's active key (MV010, as
-- for writes). Neither the version nor updated_at moves: the content did not change. Returns how
-- many chunks were updated (one deleted meanwhile is skipped).
create or replace function memory.store_filter_tokens(
  p_user_hash text,
  p_ids uuid[],
  p_chunks integer[],
  p_tokens bigint[],
  p_key_id integer
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_updated integer;
begin
  perform memory.set_tenant(p_user_hash);
  if p_ids is null or cardinality(p_ids) not between 1 and 1000 or array_position(p_ids, null) is not null then
    raise exception 'ids: 1 to 1000, none null' using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_chunks), -1) <> coalesce(cardinality(p_tokens), -2) then
    raise exception 'filter token arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_chunks, p_tokens) as u(chunk, token)
             where u.chunk is null or u.chunk not between 1 and cardinality(p_ids) or u.token is null) then
    raise exception 'filter tokens: chunk 1..n and a token each' using errcode = 'MV002';
  end if;
  if p_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;
  update memory.memory_chunks c
     set filter_tokens = coalesce(t.tokens, '{}'), filter_key_id = p_key_id
    from generate_subscripts(p_ids, 1) as i
    left join (select u.chunk, array_agg(distinct u.token order by u.token) as tokens
                 from unnest(p_chunks, p_tokens) as u(chunk, token) group by u.chunk) t on t.chunk = i
   where c.user_hash = p_user_hash and c.id = p_ids[i];
  get diagnostics v_updated = row_count;
  return v_updated;
end;
$$;
--! EndIncluded functions/filter.sql
--! Included grants.sql
-- Ownership and privileges of every memory object. Idempotent: the migrations include it after
-- creating objects, and the rollback runbook re-runs it after re-applying procedure files.
--
-- Ownership: everything belongs to memory_owner, which is subject to FORCE RLS, so SECURITY DEFINER
-- procedures run with RLS applied (a superuser owner would bypass it).
alter schema memory owner to memory_owner;
do $owner$
declare
  v_table regclass;
  v_fn regprocedure;
begin
  for v_table in select c.oid::regclass from pg_catalog.pg_class c where c.relnamespace = 'memory'::regnamespace and c.relkind in ('r', 'S', 'v', 'm') loop
    execute format('alter table %s owner to memory_owner', v_table);
  end loop;
  for v_fn in select p.oid::regprocedure from pg_catalog.pg_proc p where p.pronamespace = 'memory'::regnamespace loop
    execute format('alter function %s owner to memory_owner', v_fn);
  end loop;
end
$owner$;

-- Privileges: tables are private; the app role gets EXECUTE on the interface procedures only.
revoke all on all tables in schema memory from public;
revoke all on all functions in schema memory from public;
grant usage on schema memory to memory_app;
grant execute on function
  memory.set_tenant(text),
  memory.index_chunk(text, uuid, text, text, bytea, bytea, bytea, public.vector, integer, smallint),
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint),
  memory.search(text, public.vector, integer, text, text),
  memory.search_lexical(text, bigint[], integer, text, text, integer),
  memory.search_hybrid(text, public.vector, bigint[], integer, text, text, integer),
  memory.search_candidates(text, public.vector, integer, bigint[], integer, text, text, integer),
  memory.explain_search_lexical(text, bigint[], integer, boolean),
  memory.get_chunks(text, uuid[]),
  memory.get_chunk(text, uuid),
  memory.list_chunks(text, integer, text, text, bigint, uuid),
  memory.list_chunks_filtered(text, integer, text, text, bigint, uuid, jsonb),
  memory.search_lexical_chunks(text, bigint[], integer, text, text, integer, jsonb),
  memory.search_candidates_chunks(text, public.vector, integer, bigint[], integer, text, text, integer, jsonb),
  memory.filter_backlog(text, integer),
  memory.store_filter_tokens(text, uuid[], integer[], bigint[], integer),
  memory.update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint),
  memory.delete_chunk(text, uuid, bigint),
  memory.claim_idempotency_key(text, bytea, bytea),
  memory.record_idempotent_response(text, bytea, integer, jsonb),
  memory.delete_doc(text, text),
  memory.forget_tenant(text),
  memory.tenant_stats(text),
  memory.get_settings(),
  memory.health(),
  memory.embedding_dim(),
  memory.explain_search(text, public.vector, integer, boolean),
  memory.search_layout(),
  memory.explain_lookup(text),
  memory.verify_rls_isolation(),
  memory.next_dek_id(),
  memory.get_tenant_keys(text),
  memory.add_tenant_key(text, integer, bytea, integer),
  memory.key_stats()
to memory_app;

-- The maintainer runs key rotation, re-sealing and re-hashing (cross-tenant, maintenance mode).
grant usage on schema memory to memory_maintainer;
grant execute on function
  memory.get_settings(),
  memory.set_setting(text, jsonb),
  memory.health(),
  memory.next_dek_id(),
  memory.get_tenant_keys(text),
  memory.add_tenant_key(text, integer, bytea, integer),
  memory.claim_dek_rewrap(integer, integer),
  memory.store_rewrapped_deks(text[], integer[], bytea[], integer),
  memory.key_usage(),
  memory.claim_reseal(integer, text, text, uuid),
  memory.store_resealed(text[], uuid[], bytea[], bytea[], bytea[], integer[]),
  memory.rotate_tenant_key(text, integer, bytea, integer),
  memory.drop_retired_tenant_keys(text),
  memory.tenant_keys_of(text[]),
  memory.rehash_read_chunks(text, integer, uuid),
  memory.rehash_move_chunks(text, text, uuid[], bytea[], bytea[], bytea[]),
  memory.rehash_move_keys(text, text, integer[], bytea[], integer),
  memory.rehash_tenant_state(text),
  memory.set_active_kek(integer),
  memory.retire_kek(integer, integer),
  memory.retired_keks(),
  memory.refresh_key_stats(),
  memory.key_stats(),
  memory.claim_lexical_reindex(integer, smallint, text, text, uuid),
  memory.store_lexical(text[], uuid[], integer[], integer[], integer[], bigint[], integer[], smallint),
  memory.lexical_coverage(smallint),
  memory.claim_vector_backfill(integer, text, text, uuid),
  memory.store_search_vectors(text[], uuid[], public.vector[]),
  memory.vector_coverage(),
  memory.search_layout(),
  memory.finish_vector_backfill()
to memory_maintainer;
grant usage on sequence memory.tenant_key_id_seq to memory_owner;
--! EndIncluded grants.sql
