--! Previous: sha1:8b6805c48c9f40e73542f4a1e80c9522a05992e0
--! Hash: sha1:dc159e6efbf8e03aff3c90df3ed734f0e907a1e6
--! Message: legacy stores refuse a retired KEK (MV011), MV011/MV012 name the key in DETAIL, one key-usage count

-- Legacy (scheme 1) stores ask memory.assert_kek_usable, so a store under a retired key-ring key is
-- refused (MV011) like every other store under a KEK; MV011/MV012 carry the key id in DETAIL;
-- set_active_kek leaves the retirement check to set_setting; refresh_key_stats publishes
-- memory.key_usage() instead of repeating its counts.
--! Included functions/key_retirement.sql
-- Retiring key-ring keys (KEKs). A retired id is recorded in memory.retired_keks, and every
-- procedure that stores something wrapped or sealed under a KEK asks memory.assert_kek_usable
-- first, so a daemon or job still configured with a retired key fails loudly (MV011) instead of
-- creating a blob that needs a key the operator is about to destroy.
--
-- Check-then-record races are closed with a transaction-scoped advisory lock per KEK id (class
-- 1836477291 = 'mvkk'): writers take it shared (they do not block each other), retire takes it
-- exclusive. Either a writer's row commits before retire counts (and retire refuses), or the
-- writer waits for retire to commit and then sees the key retired. Read committed only: each
-- statement below takes a fresh snapshot after the lock is held.

-- Raises MV011 when p_kek_id is retired; holds the shared lock until the transaction ends.
create or replace function memory.assert_kek_usable(p_kek_id integer)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_kek_id is null or p_kek_id < 1 then
    raise exception 'kek_id must be a key id (a positive integer)' using errcode = 'MV002';
  end if;
  perform pg_advisory_xact_lock_shared(1836477291, p_kek_id);
  if exists (select from memory.retired_keks r where r.kek_id = p_kek_id) then
    -- DETAIL carries the id for src/db/errors.ts, which maps MV011 to KeyRetiredError.
    raise exception 'key-ring key % is retired: nothing may be wrapped or sealed under it', p_kek_id
      using errcode = 'MV011', detail = format('kek_id=%s', p_kek_id);
  end if;
end;
$$;

-- Makes p_kek_id the live active key (setting active_kek_id, applied by every daemon through
-- NOTIFY memory_settings), unless it is retired (MV011: memory.set_setting asks assert_kek_usable).
create or replace function memory.set_active_kek(p_kek_id integer)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  perform memory.set_setting('active_kek_id', to_jsonb(p_kek_id));
end;
$$;

-- Records p_kek_id as retired once nothing needs it. Refuses (MV012) while it is the live active
-- key (the setting active_kek_id, or when it is unset p_active_kek_id: what the caller's environment
-- wraps with), while any DEK is wrapped under it, or while any legacy chunk is sealed
-- directly under it. Returns false when it was already retired.
create or replace function memory.retire_kek(p_kek_id integer, p_active_kek_id integer)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_setting integer;
  v_deks bigint;
  v_chunks bigint;
begin
  perform memory.begin_maintenance();
  if p_kek_id is null or p_kek_id < 1 then
    raise exception 'kek_id must be a key id (a positive integer)' using errcode = 'MV002';
  end if;
  perform pg_advisory_xact_lock(1836477291, p_kek_id);
  if exists (select from memory.retired_keks r where r.kek_id = p_kek_id) then
    return false;
  end if;
  select (s.value #>> '{}')::integer into v_setting from memory.settings s where s.key = 'active_kek_id';
  if p_kek_id = coalesce(v_setting, p_active_kek_id) then
    raise exception 'key % is the active key: rotate to another key first', p_kek_id
      using errcode = 'MV012', detail = format('kek_id=%s', p_kek_id);
  end if;
  select count(*) into v_deks from memory.tenant_keys k where k.kek_id = p_kek_id;
  select count(*) into v_chunks from memory.memory_chunks c where c.key_scheme = 1 and c.key_id = p_kek_id;
  if v_deks > 0 or v_chunks > 0 then
    raise exception 'key % still wraps % tenant key(s) and seals % legacy chunk(s)', p_kek_id, v_deks, v_chunks
      using errcode = 'MV012', detail = format('kek_id=%s', p_kek_id);
  end if;
  insert into memory.retired_keks (kek_id) values (p_kek_id);
  return true;
end;
$$;

-- Retired KEK ids, oldest first. Not secret: ids only.
create or replace function memory.retired_keks()
returns table (kek_id integer, retired_at timestamptz)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select r.kek_id, r.retired_at from memory.retired_keks r order by r.retired_at, r.kek_id;
$$;
--! EndIncluded functions/key_retirement.sql
--! Included functions/index_chunks.sql
-- Stores a batch of sealed chunks for one tenant in one statement (all or nothing). The arrays are
-- parallel: element i of each describes chunk i. Ciphertexts are opaque here; the embedding is the
-- plaintext vector the HNSW index needs. p_key_scheme/p_key_id say what sealed the blobs: 1 = a
-- key-ring key (legacy), 2 = the tenant's data key; rotation and retire checks read them. A legacy
-- store under a retired key-ring key is refused (MV011), as every other store under a KEK is.
create or replace function memory.index_chunks(
  p_user_hash text,
  p_ids uuid[],
  p_doc_ids text[],
  p_sources text[],
  p_text_ciphers bytea[],
  p_meta_ciphers bytea[],
  p_emb_ciphers bytea[],
  p_embeddings public.vector[],
  p_key_id integer,
  p_key_scheme smallint default 1
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_inserted integer;
begin
  perform memory.set_tenant(p_user_hash);
  if v_count = 0 or v_count > 1000 then
    raise exception 'a batch holds 1 to 1000 chunks, got %', v_count using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_doc_ids), -1) <> v_count
     or coalesce(cardinality(p_sources), -1) <> v_count
     or coalesce(cardinality(p_text_ciphers), -1) <> v_count
     or coalesce(cardinality(p_meta_ciphers), -1) <> v_count
     or coalesce(cardinality(p_emb_ciphers), -1) <> v_count
     or coalesce(cardinality(p_embeddings), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if p_key_id is null or p_key_scheme is null or p_key_scheme not in (1, 2) then
    raise exception 'key_id and key_scheme (1 or 2) are required' using errcode = 'MV002';
  end if;
  if array_position(p_ids, null) is not null
     or exists (select from unnest(p_doc_ids) d where d is null or length(d) not between 1 and 256)
     or exists (select from unnest(p_sources) s where s is null or length(s) > 256)
     or array_position(p_text_ciphers, null) is not null
     or array_position(p_meta_ciphers, null) is not null
     or array_position(p_emb_ciphers, null) is not null then
    raise exception 'ids, doc_ids (1-256 chars), sources (0-256 chars) and ciphertexts must be present'
      using errcode = 'MV002';
  end if;
  -- A writer holding a cached DEK that was destroyed meanwhile (tenant forgotten, key replaced
  -- elsewhere) must not seal rows nobody could open: refuse, and it re-reads the tenant's keys.
  if p_key_scheme = 2 and not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;
  -- Takes the key's shared retirement lock until commit, so retire_kek cannot count this key's
  -- legacy chunks between this check and the insert (db/functions/key_retirement.sql).
  if p_key_scheme = 1 then
    perform memory.assert_kek_usable(p_key_id);
  end if;
  if exists (select from unnest(p_embeddings) e where e is null or public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every embedding must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;

  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme)
  select p_user_hash, u.id, u.doc_id, u.source, u.text_cipher, u.meta_cipher, u.emb_cipher, u.embedding, p_key_id, p_key_scheme
  from unnest(p_ids, p_doc_ids, p_sources, p_text_ciphers, p_meta_ciphers, p_emb_ciphers, p_embeddings)
    as u(id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding);
  get diagnostics v_inserted = row_count;
  return v_inserted;
end;
$$;
--! EndIncluded functions/index_chunks.sql
--! Included functions/key_stats.sql
-- Key rotation and re-sealing progress for the daemons' /metrics. The daemon's role cannot count
-- across tenants (RLS admits it to one tenant per transaction, and that is the point), so the key
-- jobs, which run in maintenance mode, publish aggregate counts into memory.key_stats and the
-- daemons read that small table at scrape time. Counts only: no user_hash, no key material.

-- Recomputes the counts (maintenance). Both counts are index scans: tenant_keys_kek_idx and
-- memory_chunks_key_idx on (key_scheme, key_id), so legacy chunks cost in proportion to how many
-- are left, not to the table. If another session is refreshing right now, returns false and lets it.
create or replace function memory.refresh_key_stats()
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  -- Key 0 of the retirement lock class is never a KEK id (ids start at 1).
  if not pg_try_advisory_xact_lock(1836477291, 0) then
    return false;
  end if;
  delete from memory.key_stats;
  -- One definition of what needs each key: memory.key_usage(), which retire_kek's counts match.
  insert into memory.key_stats (kek_id, wrapped_deks, legacy_chunks)
  select u.kek_id, u.wrapped_deks, u.legacy_chunks from memory.key_usage() u;
  return true;
end;
$$;

-- The last published counts per KEK id, with retired ids (even those nothing counts any more).
-- For the daemon's metrics collector (memory_app); one small table read.
create or replace function memory.key_stats()
returns table (kek_id integer, wrapped_deks bigint, legacy_chunks bigint, retired boolean, computed_at timestamptz)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(s.kek_id, r.kek_id), coalesce(s.wrapped_deks, 0), coalesce(s.legacy_chunks, 0),
         r.kek_id is not null, s.computed_at
  from memory.key_stats s
  full join memory.retired_keks r on r.kek_id = s.kek_id
  order by 1;
$$;
--! EndIncluded functions/key_stats.sql
