--! Previous: sha1:5fde9c0232778fe17d9e31bafb46326345c81a06
--! Hash: sha1:f85479304c8d164af63d79c34389040a8c3acca1
--! Message: tenant proofs: every tenant procedure checks the caller's proof against the tenant's verifier (MV014); set_tenant(hash, proof); verifiers registered with a tenant's first key or rows, moved by rehash, deleted by forget; rollout procedures for memvault tenants prove

-- Issue 11, item 5: a tenant hash alone no longer lets a database role act for the tenant. Each
-- tenant has a proof verifier (sha256 of an HMAC only the daemon's tenant key computes), and every
-- tenant procedure checks the caller's proof against it (db/functions/tenant_proof.sql, MV014).
create table memory.tenant_proofs (
  user_hash text not null constraint tenant_proofs_user_hash_format check (user_hash ~ '^[0-9a-f]{64}$'),
  verifier bytea not null constraint tenant_proofs_verifier_length check (octet_length(verifier) = 32),
  created_at timestamptz not null default now(),
  constraint tenant_proofs_pkey primary key (user_hash)
);
comment on table memory.tenant_proofs is 'Per-tenant proof verifiers: sha256 of the proof the daemon derives from MEMORY_TENANT_HMAC_KEY; the proof itself never reaches the database at rest.';
alter table memory.tenant_proofs enable row level security;
alter table memory.tenant_proofs force row level security;
--! Included policies/tenant_proofs_isolation.sql
-- A tenant's proof verifier (memory.tenant_proofs): the same isolation as its chunks and keys.
drop policy if exists tenant_proofs_isolation on memory.tenant_proofs;
create policy tenant_proofs_isolation on memory.tenant_proofs
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));
--! EndIncluded policies/tenant_proofs_isolation.sql
--! Included functions/tenant_proof.sql
-- Per-tenant proof (issue 11, item 5; docs/CRYPTO.md "Database credentials without the daemon's
-- keys"). A tenant's user_hash is a pseudonym, not a secret: it is in every row. To act for a
-- tenant, a caller must also present the tenant's proof, HMAC-SHA256 under a subkey of
-- MEMORY_TENANT_HMAC_KEY over the user_hash (src/crypto/hmac.ts, purpose 'tenant-proof'), which
-- only holders of that key can compute. The database keeps sha256(proof), the verifier, in
-- memory.tenant_proofs: a dump or a reader of that table learns verifiers, from which no proof
-- follows. The proof travels as the transaction-local setting memory.tenant_proof (hex), set by
-- memory.set_tenant(p_user_hash, p_proof), and memory.enter_tenant checks it on every tenant
-- procedure call, so database credentials plus a hash no longer read, write or delete a tenant.
--
-- Rollout: a database with tenants from before this check has no verifiers for them. Until
-- `memvault tenants prove` has stored theirs (maintenance: it holds the HMAC key) and switched
-- the check to required, a tenant without a verifier is still served by hash alone. A database
-- created empty starts required (migration 000017).

-- Whether a tenant that has data (keys or chunks) but no verifier is refused (setting
-- 'tenant_proofs': "required"), or still served by hash alone ("optional", during the rollout).
create or replace function memory.tenant_proofs_required()
returns boolean
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select coalesce((select s.value #>> '{}' from memory.settings s where s.key = 'tenant_proofs'), 'optional')
         = 'required';
$$;

-- Called by memory.enter_tenant once the tenant context is set (RLS lets it read the tenant's
-- verifier). A tenant with a verifier needs the matching proof in memory.tenant_proof (MV014). A
-- tenant without one is either new or forgotten (no keys, no chunks: nothing to read, and its
-- first data key registers the verifier, memory.add_tenant_key), or from before the rollout:
-- refused once proofs are required.
create or replace function memory.assert_tenant_proof(p_user_hash text)
returns void
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_verifier bytea;
  v_proof text := current_setting('memory.tenant_proof', true);
begin
  select p.verifier into v_verifier from memory.tenant_proofs p where p.user_hash = p_user_hash;
  if v_verifier is not null then
    if v_proof is null or v_proof !~ '^[0-9a-f]{64}$' or sha256(decode(v_proof, 'hex')) <> v_verifier then
      raise exception 'the tenant proof is missing or does not match' using errcode = 'MV014';
    end if;
  elsif memory.tenant_proofs_required() then
    -- One table per statement: on Citus each is a router query on the tenant's own shards.
    if exists (select from memory.tenant_keys k where k.user_hash = p_user_hash) then
      raise exception 'the tenant has no proof verifier (run memvault tenants prove)' using errcode = 'MV014';
    end if;
    if exists (select from memory.memory_chunks c where c.user_hash = p_user_hash) then
      raise exception 'the tenant has no proof verifier (run memvault tenants prove)' using errcode = 'MV014';
    end if;
  end if;
end;
$$;

-- Enters the tenant with its proof: what the daemon calls first in each tenant transaction. The
-- proof stays set (transaction-local) for the procedures called after it, which check it again.
create or replace function memory.set_tenant(p_user_hash text, p_proof text)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform set_config('memory.tenant_proof', coalesce(p_proof, ''), true);
  perform memory.enter_tenant(p_user_hash, false);
end;
$$;

-- Registers the verifier of a tenant that has none yet, from the proof in memory.tenant_proof:
-- called by memory.add_tenant_key (a tenant's first data key) and memory.index_chunks (its first
-- rows), so a tenant has a verifier from its first write on. A tenant with keys or chunks but no
-- verifier is left to `memvault tenants prove`: its verifier comes from the HMAC key, never from a
-- caller's claim.
create or replace function memory.register_tenant_proof(p_user_hash text)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_proof text := current_setting('memory.tenant_proof', true);
begin
  -- One table per statement: on Citus each is a router query on the tenant's own shards.
  if exists (select from memory.tenant_proofs p where p.user_hash = p_user_hash) then
    return;
  end if;
  if exists (select from memory.tenant_keys k where k.user_hash = p_user_hash) then
    return;
  end if;
  if exists (select from memory.memory_chunks c where c.user_hash = p_user_hash) then
    return;
  end if;
  if v_proof is null or v_proof !~ '^[0-9a-f]{64}$' then
    raise exception 'a new tenant needs its proof (memory.set_tenant(user_hash, proof))' using errcode = 'MV014';
  end if;
  insert into memory.tenant_proofs (user_hash, verifier)
  values (p_user_hash, sha256(decode(v_proof, 'hex')))
  on conflict (user_hash) do nothing;
end;
$$;

-- Rollout (maintenance, `memvault tenants prove`): tenants with data and no verifier, after a
-- keyset cursor.
create or replace function memory.claim_tenant_proofs(p_limit integer, p_after_hash text default '')
returns table (user_hash text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select t.user_hash from (
      select k.user_hash from memory.tenant_keys k where k.user_hash > coalesce(p_after_hash, '')
      union
      select c.user_hash from memory.memory_chunks c where c.user_hash > coalesce(p_after_hash, '')
    ) t
    where not exists (select from memory.tenant_proofs p where p.user_hash = t.user_hash)
    order by t.user_hash
    limit p_limit;
end;
$$;

-- Stores verifiers the job computed (sha256 of each tenant's proof); an existing one is kept.
create or replace function memory.store_tenant_verifiers(p_user_hashes text[], p_verifiers bytea[])
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
  if coalesce(cardinality(p_user_hashes), -1) <> coalesce(cardinality(p_verifiers), -2) then
    raise exception 'user hashes and verifiers differ in length' using errcode = 'MV003';
  end if;
  insert into memory.tenant_proofs (user_hash, verifier)
  select u.user_hash, u.verifier from unnest(p_user_hashes, p_verifiers) as u(user_hash, verifier)
  on conflict (user_hash) do nothing;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- Ends the rollout: once every tenant with data has a verifier, proofs become required. Returns
-- how many tenants still lack one and whether proofs are required now.
create or replace function memory.require_tenant_proofs()
returns table (missing bigint, required boolean)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_missing bigint;
begin
  perform memory.begin_maintenance();
  -- Writers wait (a first write registers its verifier with its first key anyway); readers do not.
  lock table memory.tenant_keys in share mode;
  select count(*) into v_missing from (
    select k.user_hash from memory.tenant_keys k
    union
    select c.user_hash from memory.memory_chunks c
  ) t
  where not exists (select from memory.tenant_proofs p where p.user_hash = t.user_hash);
  if v_missing = 0 then
    insert into memory.settings (key, value) values ('tenant_proofs', '"required"')
    on conflict (key) do update set value = excluded.value;
  end if;
  return query select v_missing, memory.tenant_proofs_required();
end;
$$;

-- HMAC key rotation (`memvault tenants rehash`): the tenant's verifier moves to its new hash, as
-- computed by the job from the new key's proof (the old one no longer matches).
create or replace function memory.rehash_move_proof(p_old_hash text, p_new_hash text, p_verifier bytea)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  delete from memory.tenant_proofs p where p.user_hash = p_old_hash;
  insert into memory.tenant_proofs (user_hash, verifier) values (p_new_hash, p_verifier)
  on conflict (user_hash) do update set verifier = excluded.verifier;
end;
$$;
--! EndIncluded functions/tenant_proof.sql
--! Included functions/set_tenant.sql
-- Sets the transaction-local tenant context that the RLS policy reads. Every tenant procedure calls
-- this first. It refuses a malformed hash and refuses to switch tenants inside one transaction, so a
-- caller cannot mix two tenants' work in one transaction.
--
-- The context itself is a custom setting, which any caller can rewrite with set_config() between
-- two procedure calls; so it cannot be the record of which tenant the transaction acted for. That
-- record is a transaction-level advisory lock on the tenant (single bigint key: the hash's first 64
-- bits), which no caller can release before the transaction ends: MV004 is decided from the locks
-- this backend holds, not from the setting.
--
-- The same lock serialises a tenant's writers against forgetting it (memory.forget_tenant takes
-- it exclusively): every tenant procedure holds it shared until commit, so forget waits for
-- in-flight writes and then deletes them too, and a write that starts after a forget sees the
-- tenant's keys gone (MV010) instead of storing rows under a destroyed data key.
create or replace function memory.tenant_lock_key(p_user_hash text)
returns bigint
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select ('x' || substr(p_user_hash, 1, 16))::bit(64)::bigint;
$$;

create or replace function memory.enter_tenant(p_user_hash text, p_exclusive boolean)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_key bigint;
begin
  if p_user_hash is null or p_user_hash !~ '^[0-9a-f]{64}$' then
    raise exception 'user_hash must be 64 lowercase hex characters' using errcode = 'MV001';
  end if;
  if coalesce(current_setting('memory.maintenance', true), '') = 'on' then
    raise exception 'this transaction is in maintenance mode' using errcode = 'MV004';
  end if;
  v_key := memory.tenant_lock_key(p_user_hash);
  -- Single-bigint advisory locks (objsubid 1) are reserved for tenants (db/CONVENTIONS.md).
  if exists (
       select from pg_catalog.pg_locks l
       where l.pid = pg_catalog.pg_backend_pid() and l.locktype = 'advisory' and l.objsubid = 1
         and (l.classid::bigint <> ((v_key >> 32) & 4294967295) or l.objid::bigint <> (v_key & 4294967295))) then
    raise exception 'this transaction already acts for another tenant' using errcode = 'MV004';
  end if;
  if p_exclusive then
    perform pg_catalog.pg_advisory_xact_lock(v_key);
  else
    perform pg_catalog.pg_advisory_xact_lock_shared(v_key);
  end if;
  perform set_config('memory.user_hash', p_user_hash, true);
  -- The hash alone does not let a caller act for the tenant: it needs the tenant's proof too
  -- (db/functions/tenant_proof.sql), read after the context is set so RLS lets the check see the
  -- tenant's verifier.
  perform memory.assert_tenant_proof(p_user_hash);
end;
$$;

create or replace function memory.set_tenant(p_user_hash text)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.enter_tenant(p_user_hash, false);
end;
$$;
--! EndIncluded functions/set_tenant.sql
--! Included functions/tenant_keys.sql
-- A tenant's data keys (DEKs), stored only wrapped by a key-ring key (the KEK). The daemon unwraps
-- them in memory; the database never sees a DEK in the clear.

-- A fresh DEK id: the id is bound into the wrapping AAD, so it is needed before the DEK is stored.
create or replace function memory.next_dek_id()
returns integer
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select nextval('memory.tenant_key_id_seq')::integer;
$$;

-- Every DEK of the tenant, active one first (older ones still open blobs not yet re-sealed).
create or replace function memory.get_tenant_keys(p_user_hash text)
returns table (dek_id integer, wrapped_dek bytea, kek_id integer, active boolean)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  return query
    select k.dek_id, k.wrapped_dek, k.kek_id, k.active
    from memory.tenant_keys k
    where k.user_hash = p_user_hash
    order by k.active desc, k.dek_id desc;
end;
$$;

-- Stores the tenant's first DEK unless another daemon won the race; returns the active key either
-- way, so every writer seals under the same DEK.
create or replace function memory.add_tenant_key(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer)
returns table (dek_id integer, wrapped_dek bytea, kek_id integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_dek_id is null or p_wrapped_dek is null or p_kek_id is null then
    raise exception 'dek_id, wrapped_dek and kek_id are required' using errcode = 'MV002';
  end if;
  -- A daemon still configured with a retired key fails here (MV011) rather than wrap under it.
  perform memory.assert_kek_usable(p_kek_id);
  -- A new tenant's first key registers its proof verifier (from memory.set_tenant's proof).
  perform memory.register_tenant_proof(p_user_hash);
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active)
  values (p_user_hash, p_dek_id, p_wrapped_dek, p_kek_id, true)
  on conflict (user_hash) where active do nothing;
  return query
    select k.dek_id, k.wrapped_dek, k.kek_id from memory.tenant_keys k
    where k.user_hash = p_user_hash and k.active;
end;
$$;

-- Maintenance (re-sealing or reindexing a tenant from before per-tenant keys): the tenant's first
-- DEK, kept as add_tenant_key keeps it (the first one stored wins), inside the job's maintenance
-- transaction. It takes no tenant proof: memory_maintainer works across tenants by design and
-- does not hold the tenant HMAC key; such a tenant's verifier comes from `memvault tenants prove`.
create or replace function memory.add_tenant_key_in_maintenance(p_user_hash text, p_dek_id integer, p_wrapped_dek bytea, p_kek_id integer)
returns table (dek_id integer, wrapped_dek bytea, kek_id integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  if p_user_hash is null or p_user_hash !~ '^[0-9a-f]{64}$' then
    raise exception 'user_hash must be 64 lowercase hex characters' using errcode = 'MV001';
  end if;
  if p_dek_id is null or p_wrapped_dek is null or p_kek_id is null then
    raise exception 'dek_id, wrapped_dek and kek_id are required' using errcode = 'MV002';
  end if;
  perform memory.assert_kek_usable(p_kek_id);
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active)
  values (p_user_hash, p_dek_id, p_wrapped_dek, p_kek_id, true)
  on conflict (user_hash) where active do nothing;
  return query
    select k.dek_id, k.wrapped_dek, k.kek_id from memory.tenant_keys k
    where k.user_hash = p_user_hash and k.active;
end;
$$;
--! EndIncluded functions/tenant_keys.sql
--! Included functions/index_chunks.sql
-- Stores a batch of sealed chunks for one tenant in one statement (all or nothing). The arrays are
-- parallel: element i of each describes chunk i. Ciphertexts are opaque here; p_embeddings are the
-- chunks' search vectors (src/crypto/search-vector.ts makes them from the embeddings, the sealed
-- emb_cipher keeps the embedding itself), stored as halfvec in the narrow memory.chunk_vectors that
-- dense search reads. p_vector_scheme / p_vector_key_id say what they are (issue 13, docs/CRYPTO.md
-- "Protected vectors"): 0 / 0, the embeddings in clear, also kept as vector in
-- memory_chunks.embedding, which the 'chunks' search layout and the previous release's logic read
-- until a later (contract) migration drops it; 1 / the sealing data key's id, protected by that
-- key's vector key, and memory_chunks.embedding is left null (no clear copy anywhere).
-- p_key_scheme/p_key_id say what sealed the blobs: 1 = a key-ring key (legacy), 2 = the tenant's
-- data key; rotation and retire checks read them. A legacy store under a retired key-ring key is
-- refused (MV011), as every other store under a KEK is.
--
-- The lexical index of the batch comes in the same call (all or nothing with the chunks):
-- p_lex_lengths[i] is chunk i's length in terms, and posting j says chunk p_lex_chunks[j] (1-based)
-- holds token p_lex_tokens[j] p_lex_tfs[j] times. Tokens are keyed under the term key of data key
-- p_term_key_id (the tenant's active one) by analyzer p_analyzer_version; the lexical_chunks
-- triggers write the postings and the tenant's counts. p_lex_lengths null: not indexed (yet).
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
  p_key_scheme smallint,
  p_lex_lengths integer[],
  p_lex_chunks integer[],
  p_lex_tokens bigint[],
  p_lex_tfs integer[],
  p_term_key_id integer,
  p_analyzer_version smallint,
  p_vector_scheme smallint,
  p_vector_key_id integer
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
  -- The search vectors are clear (0) or protected under the vector key of the data key that seals
  -- the batch (1): a vector key is derived from the tenant's active data key, checked below.
  if p_vector_scheme is null or p_vector_key_id is null
     or not ((p_vector_scheme = 0 and p_vector_key_id = 0)
             or (p_vector_scheme = 1 and p_key_scheme = 2 and p_vector_key_id = p_key_id)) then
    raise exception 'vector_scheme 0 with vector_key_id 0, or 1 with the sealing data key''s id' using errcode = 'MV002';
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
  if p_lex_lengths is not null then
    perform memory.assert_lexical_batch(p_user_hash, v_count, p_lex_lengths, p_lex_chunks, p_lex_tokens, p_lex_tfs, p_term_key_id, p_analyzer_version);
  end if;
  if exists (select from unnest(p_embeddings) e where e is null or public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every embedding must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;

  -- A tenant's first rows register its proof verifier (a no-op once it has one).
  perform memory.register_tenant_proof(p_user_hash);
  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme)
  select p_user_hash, u.id, u.doc_id, u.source, u.text_cipher, u.meta_cipher, u.emb_cipher,
         -- A protected batch keeps no clear copy: the exact embedding is in emb_cipher only.
         case when p_vector_scheme = 0 then u.embedding end, p_key_id, p_key_scheme
  from unnest(p_ids, p_doc_ids, p_sources, p_text_ciphers, p_meta_ciphers, p_emb_ciphers, p_embeddings)
    as u(id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding);
  get diagnostics v_inserted = row_count;
  insert into memory.chunk_vectors (user_hash, id, embedding, vector_scheme, vector_key_id)
  select p_user_hash, u.id, u.embedding::public.halfvec, p_vector_scheme, p_vector_key_id
  from unnest(p_ids, p_embeddings) as u(id, embedding);
  if p_lex_lengths is not null then
    insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
    select p_user_hash, p_ids[i], p_lex_lengths[i], coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_id, p_analyzer_version
    from generate_subscripts(p_ids, 1) as i
    left join memory.lexical_postings_by_chunk(p_lex_chunks, p_lex_tokens, p_lex_tfs) t on t.chunk = i;
  end if;
  return v_inserted;
end;
$$;

-- The previous signature (no vector scheme): clear search vectors, as the release before protected
-- vectors wrote them. Kept so that a daemon of that release, during a rolling deploy, still writes
-- (its rows are clear and `memvault reindex vectors` protects them); the daemon of this release
-- calls the overload above with all eighteen arguments, which no shorter call can resolve to.
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
  p_key_scheme smallint,
  p_lex_lengths integer[] default null,
  p_lex_chunks integer[] default null,
  p_lex_tokens bigint[] default null,
  p_lex_tfs integer[] default null,
  p_term_key_id integer default null,
  p_analyzer_version smallint default null
)
returns integer
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select memory.index_chunks(p_user_hash, p_ids, p_doc_ids, p_sources, p_text_ciphers, p_meta_ciphers,
    p_emb_ciphers, p_embeddings, p_key_id, p_key_scheme, p_lex_lengths, p_lex_chunks, p_lex_tokens,
    p_lex_tfs, p_term_key_id, p_analyzer_version, 0::smallint, 0);
$$;
--! EndIncluded functions/index_chunks.sql
--! Included functions/forget_tenant.sql
-- Forgets a tenant entirely: destroys its data keys first (crypto-shredding: any copy of its blobs
-- that survives elsewhere can no longer be opened), then deletes all its chunks, in one transaction.
-- Returns how many chunks were deleted. The tenant's lock is taken exclusively (memory.enter_tenant):
-- writes in flight for the tenant commit first and are deleted here too; later ones find no key.
-- Its idempotency keys go too (their records name the chunk ids it wrote), and its proof verifier.
create or replace function memory.forget_tenant(p_user_hash text)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_deleted integer;
  v_dek_ids integer[];
begin
  perform memory.enter_tenant(p_user_hash, true);
  with dropped as (delete from memory.tenant_keys k where k.user_hash = p_user_hash returning k.dek_id)
  select coalesce(array_agg(dropped.dek_id), '{}') into v_dek_ids from dropped;
  delete from memory.memory_chunks c where c.user_hash = p_user_hash;
  get diagnostics v_deleted = row_count;
  delete from memory.idempotency_keys i where i.user_hash = p_user_hash;
  -- Its proof verifier too: nothing of the tenant stays (a later write starts it afresh).
  delete from memory.tenant_proofs p where p.user_hash = p_user_hash;
  perform memory.notify_keys_dropped('tenant_forgotten', v_dek_ids, v_deleted);
  return v_deleted;
end;
$$;
--! EndIncluded functions/forget_tenant.sql

-- A database without tenants starts with proofs required; one with tenants from before stays
-- optional until `memvault tenants prove` has stored their verifiers. The owner is subject to
-- FORCE RLS and would see no rows without a tenant context, so it looks with FORCE lifted for
-- the two reads (inside this migration's transaction).
do $proofs$
declare
  v_empty boolean;
begin
  alter table memory.tenant_keys no force row level security;
  alter table memory.memory_chunks no force row level security;
  v_empty := not exists (select from memory.tenant_keys) and not exists (select from memory.memory_chunks);
  alter table memory.tenant_keys force row level security;
  alter table memory.memory_chunks force row level security;
  if v_empty then
    insert into memory.settings (key, value) values ('tenant_proofs', '"required"')
    on conflict (key) do nothing;
  end if;
end
$proofs$;
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
  memory.set_tenant(text, text),
  memory.tenant_proofs_required(),
  memory.index_chunk(text, uuid, text, text, bytea, bytea, bytea, public.vector, integer, smallint),
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint),
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint, smallint, integer),
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
  memory.search_candidates_chunks(text, public.vector[], smallint[], integer[], integer, bigint[], integer, text, text, integer, jsonb),
  memory.filter_backlog(text, integer),
  memory.store_filter_tokens(text, uuid[], integer[], bigint[], integer),
  memory.update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint),
  memory.update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint, smallint, integer),
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
  memory.store_search_vectors(text[], uuid[], public.vector[], smallint[], integer[]),
  memory.vector_protection(),
  memory.vector_coverage(),
  memory.search_layout(),
  memory.finish_vector_backfill(),
  memory.tenant_proofs_required(),
  memory.add_tenant_key_in_maintenance(text, integer, bytea, integer),
  memory.claim_tenant_proofs(integer, text),
  memory.store_tenant_verifiers(text[], bytea[]),
  memory.require_tenant_proofs(),
  memory.rehash_move_proof(text, text, bytea)
to memory_maintainer;
grant usage on sequence memory.tenant_key_id_seq to memory_owner;
--! EndIncluded grants.sql
