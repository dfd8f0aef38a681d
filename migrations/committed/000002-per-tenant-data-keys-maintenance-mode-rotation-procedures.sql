--! Previous: sha1:d3538ca26032e36c65ab040f66db3f9f1bfe6f20
--! Hash: sha1:b22531ab5482476d6fd084632ec274a04c39b810
--! Message: per-tenant data keys, maintenance mode, rotation procedures

-- Per-tenant data keys (envelope encryption), maintenance mode, and the key-rotation, re-sealing
-- and re-hashing procedures (docs/KEYS.md). Expand-only: existing rows keep key_scheme 1 and keep
-- opening with the key ring until they are re-sealed.
-- current.sql must be idempotent: undo this migration's additions first.
drop table if exists memory.tenant_keys cascade;
drop sequence if exists memory.tenant_key_id_seq;
drop index if exists memory.memory_chunks_key_idx;
drop function if exists memory.index_chunk(text, uuid, text, text, bytea, bytea, bytea, public.vector, integer);
drop function if exists memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer);
drop function if exists memory.index_chunk(text, uuid, text, text, bytea, bytea, bytea, public.vector, integer, smallint);
drop function if exists memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint);
alter table memory.memory_chunks drop column if exists key_scheme;

alter table memory.memory_chunks
  add column key_scheme smallint not null default 1
  constraint memory_chunks_key_scheme check (key_scheme in (1, 2));
comment on column memory.memory_chunks.key_scheme is '1: blobs sealed directly under key-ring key key_id (legacy); 2: sealed under the tenant''s data key key_id';
-- Retire checks and usage counts look up chunks by the key that sealed them.
create index memory_chunks_key_idx on memory.memory_chunks (key_scheme, key_id);

create sequence memory.tenant_key_id_seq as integer;
create table memory.tenant_keys (
  user_hash text not null constraint tenant_keys_user_hash_format check (user_hash ~ '^[0-9a-f]{64}$'),
  dek_id integer not null,
  wrapped_dek bytea not null,
  kek_id integer not null,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tenant_keys_pkey primary key (user_hash, dek_id)
);
comment on table memory.tenant_keys is 'Per-tenant data keys, stored only wrapped (sealed) by key-ring key kek_id with AAD bound to the tenant and dek_id.';
-- One active DEK per tenant; add_tenant_key relies on it to settle races between daemons.
create unique index tenant_keys_one_active_idx on memory.tenant_keys (user_hash) where active;
-- KEK rotation claims DEKs by the key that wraps them.
create index tenant_keys_kek_idx on memory.tenant_keys (kek_id);
alter table memory.tenant_keys enable row level security;
alter table memory.tenant_keys force row level security;
create trigger _100_touch_updated_at
  before update on memory.tenant_keys
  for each row execute function memory.tg__touch_updated_at();

--! Included functions/maintenance.sql
-- Maintenance mode: the one way to work across tenants (key rotation, re-sealing, re-hashing).
-- Only a session logged in as a member of memory_maintainer (or a superuser) may enter it — the
-- check is on session_user, which a client cannot change — and the mode is transaction-local, like
-- the tenant context. A transaction is either for one tenant or in maintenance, never both.
create or replace function memory.in_maintenance()
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(current_setting('memory.maintenance', true), '') = 'on'
     and pg_has_role(session_user, 'memory_maintainer', 'member');
$$;

create or replace function memory.begin_maintenance()
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if not pg_has_role(session_user, 'memory_maintainer', 'member') then
    raise exception 'maintenance procedures need a memory_maintainer session' using errcode = 'MV009';
  end if;
  if coalesce(current_setting('memory.user_hash', true), '') <> '' then
    raise exception 'this transaction already acts for a tenant' using errcode = 'MV004';
  end if;
  perform set_config('memory.maintenance', 'on', true);
end;
$$;
--! EndIncluded functions/maintenance.sql
--! Included functions/set_tenant.sql
-- Sets the transaction-local tenant context that the RLS policy reads. Every tenant procedure calls
-- this first. It refuses a malformed hash and refuses to switch tenants inside one transaction, so a
-- caller cannot mix two tenants' work in one transaction by accident.
create or replace function memory.set_tenant(p_user_hash text)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_current text := coalesce(current_setting('memory.user_hash', true), '');
begin
  if p_user_hash is null or p_user_hash !~ '^[0-9a-f]{64}$' then
    raise exception 'user_hash must be 64 lowercase hex characters' using errcode = 'MV001';
  end if;
  if coalesce(current_setting('memory.maintenance', true), '') = 'on' then
    raise exception 'this transaction is in maintenance mode' using errcode = 'MV004';
  end if;
  if v_current <> '' and v_current <> p_user_hash then
    raise exception 'this transaction already acts for another tenant' using errcode = 'MV004';
  end if;
  perform set_config('memory.user_hash', p_user_hash, true);
end;
$$;
--! EndIncluded functions/set_tenant.sql
--! Included policies/memory_tenant_isolation.sql
-- Tenant isolation: a row is visible and writable only when its user_hash equals the transaction's
-- tenant context. The setting is read through a sub-select so it is evaluated once per query, not
-- once per row. No context (NULL or '') or a malformed one matches nothing, since user_hash is
-- always 64 hex characters. The second arm admits maintenance jobs (memory.in_maintenance(): a
-- memory_maintainer session that entered maintenance mode in this transaction).
drop policy if exists memory_tenant_isolation on memory.memory_chunks;
create policy memory_tenant_isolation on memory.memory_chunks
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

-- A tenant's data keys: the same isolation.
drop policy if exists tenant_keys_isolation on memory.tenant_keys;
create policy tenant_keys_isolation on memory.tenant_keys
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

-- Settings are not tenant data: readable and writable by the owner's procedures.
drop policy if exists settings_owner_access on memory.settings;
create policy settings_owner_access on memory.settings
  for all
  using (true)
  with check (true);
--! EndIncluded policies/memory_tenant_isolation.sql
--! Included functions/index_chunks.sql
-- Stores a batch of sealed chunks for one tenant in one statement (all or nothing). The arrays are
-- parallel: element i of each describes chunk i. Ciphertexts are opaque here; the embedding is the
-- plaintext vector the HNSW index needs. p_key_scheme/p_key_id say what sealed the blobs: 1 = a
-- key-ring key (legacy), 2 = the tenant's data key; rotation and retire checks read them.
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
--! Included functions/index_chunk.sql
-- One chunk: a batch of one, so there is a single code path for validation and storage.
create or replace function memory.index_chunk(
  p_user_hash text,
  p_id uuid,
  p_doc_id text,
  p_source text,
  p_text_cipher bytea,
  p_meta_cipher bytea,
  p_emb_cipher bytea,
  p_embedding public.vector,
  p_key_id integer,
  p_key_scheme smallint default 1
)
returns integer
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select memory.index_chunks(
    p_user_hash, array[p_id], array[p_doc_id], array[p_source], array[p_text_cipher],
    array[p_meta_cipher], array[p_emb_cipher], array[p_embedding], p_key_id, p_key_scheme);
$$;
--! EndIncluded functions/index_chunk.sql
--! Included functions/forget_tenant.sql
-- Forgets a tenant entirely: destroys its data keys first (crypto-shredding: any copy of its blobs
-- that survives elsewhere can no longer be opened), then deletes all its chunks, in one transaction.
-- Returns how many chunks were deleted.
create or replace function memory.forget_tenant(p_user_hash text)
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
  delete from memory.tenant_keys k where k.user_hash = p_user_hash;
  delete from memory.memory_chunks c where c.user_hash = p_user_hash;
  get diagnostics v_deleted = row_count;
  perform memory.notify_event('tenant_forgotten', p_user_hash, v_deleted);
  return v_deleted;
end;
$$;
--! EndIncluded functions/forget_tenant.sql
--! Included functions/settings.sql
-- Live settings. Known keys only, each with its type and range, so a typo cannot silently do
-- nothing. A change fires NOTIFY memory_settings (statement trigger) and every daemon re-reads.
create or replace function memory.validate_setting(p_key text, p_value jsonb)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  case p_key
    when 'rerank_enabled' then
      if jsonb_typeof(p_value) <> 'boolean' then
        raise exception 'rerank_enabled must be true or false' using errcode = 'MV006';
      end if;
    when 'active_kek_id' then
      if jsonb_typeof(p_value) <> 'number' or (p_value #>> '{}') !~ '^\d+$' or p_value::bigint < 1 or p_value::bigint > 2147483647 then
        raise exception 'active_kek_id must be a key id (a positive integer)' using errcode = 'MV006';
      end if;
    when 'rerank_circuit_ms', 'ann_ef_search', 'rerank_rollout_percent' then
      if jsonb_typeof(p_value) <> 'number' or (p_value #>> '{}') !~ '^\d+$'
         or (p_key = 'rerank_circuit_ms' and (p_value::int < 1 or p_value::int > 60000))
         or (p_key = 'ann_ef_search' and (p_value::int < 10 or p_value::int > 1000))
         or (p_key = 'rerank_rollout_percent' and p_value::int > 100) then
        raise exception '% must be an integer in its range (rerank_circuit_ms 1-60000, ann_ef_search 10-1000, rerank_rollout_percent 0-100)', p_key
          using errcode = 'MV006';
      end if;
    when 'ann_iterative_scan' then
      if p_value #>> '{}' not in ('off', 'relaxed_order', 'strict_order') or jsonb_typeof(p_value) <> 'string' then
        raise exception 'ann_iterative_scan must be "off", "relaxed_order" or "strict_order"' using errcode = 'MV006';
      end if;
    else
      raise exception 'unknown setting %', p_key using errcode = 'MV005';
  end case;
end;
$$;

create or replace function memory.set_setting(p_key text, p_value jsonb)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.validate_setting(p_key, p_value);
  insert into memory.settings (key, value) values (p_key, p_value)
  on conflict (key) do update set value = excluded.value, updated_at = now();
end;
$$;

-- Removes an override: the daemons fall back to their environment defaults.
create or replace function memory.reset_setting(p_key text)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  delete from memory.settings where key = p_key;
  return found;
end;
$$;

create or replace function memory.get_settings()
returns table (key text, value jsonb, updated_at timestamptz)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select s.key, s.value, s.updated_at from memory.settings s order by s.key;
$$;
--! EndIncluded functions/settings.sql
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
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active)
  values (p_user_hash, p_dek_id, p_wrapped_dek, p_kek_id, true)
  on conflict (user_hash) where active do nothing;
  return query
    select k.dek_id, k.wrapped_dek, k.kek_id from memory.tenant_keys k
    where k.user_hash = p_user_hash and k.active;
end;
$$;
--! EndIncluded functions/tenant_keys.sql
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
-- under a DEK being replaced). Keyset pagination after (p_after_hash, p_after_id) keeps each claim
-- a forward index scan, so a pass over the table is linear.
create or replace function memory.claim_reseal(
  p_limit integer,
  p_user_hash text default null,
  p_after_hash text default '',
  p_after_id uuid default '00000000-0000-0000-0000-000000000000'
)
returns table (user_hash text, id uuid, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_scheme smallint, key_id integer)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select c.user_hash, c.id, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and (c.key_scheme = 1 or not exists (
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
--! EndIncluded functions/rehash.sql
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
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint),
  memory.search(text, public.vector, integer, text, text),
  memory.get_chunks(text, uuid[]),
  memory.delete_doc(text, text),
  memory.forget_tenant(text),
  memory.tenant_stats(text),
  memory.get_settings(),
  memory.health(),
  memory.embedding_dim(),
  memory.explain_search(text, public.vector, integer, boolean),
  memory.explain_lookup(text),
  memory.verify_rls_isolation(),
  memory.next_dek_id(),
  memory.get_tenant_keys(text),
  memory.add_tenant_key(text, integer, bytea, integer)
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
  memory.rehash_tenant_state(text)
to memory_maintainer;
grant usage on sequence memory.tenant_key_id_seq to memory_owner;
--! EndIncluded grants.sql
