--! Previous: sha1:a02ce81efcf9068dd7c9837cfcc7a8b74b67194d
--! Hash: sha1:f61645455c0fa2f4077fe82a5e367de4b535c7be
--! Message: keys: record retired KEKs and refuse them (MV011/MV012), rehash stores the key that sealed each blob, key stats for daemon metrics

-- Keys over time, fixes: a retired key-ring key is recorded and refused everywhere a blob or DEK
-- is stored under a KEK (MV011), retire checks and records in one locked step (MV012), rehash
-- stores the key that actually sealed each moved blob, and key jobs publish aggregate progress
-- counts that the daemons' /metrics read. See docs/KEYS.md.

-- Retired KEK ids. Not tenant data: readable and writable only through the owner's procedures.
create table if not exists memory.retired_keks (
  kek_id integer primary key constraint retired_keks_kek_id_positive check (kek_id > 0),
  retired_at timestamptz not null default now()
);
comment on table memory.retired_keks is 'Key-ring keys (KEKs) retired by memvault keys retire: nothing may be wrapped or sealed under them again.';
alter table memory.retired_keks enable row level security;
alter table memory.retired_keks force row level security;
drop policy if exists retired_keks_owner_access on memory.retired_keks;
create policy retired_keks_owner_access on memory.retired_keks
  for all
  using (true)
  with check (true);

-- Aggregate key counts published by the key jobs (memory.refresh_key_stats) for the daemons'
-- metrics: counts per KEK id, no tenant identifiers.
create table if not exists memory.key_stats (
  kek_id integer primary key,
  wrapped_deks bigint not null,
  legacy_chunks bigint not null,
  computed_at timestamptz not null default now()
);
comment on table memory.key_stats is 'Per KEK id: tenant DEKs it wraps and legacy chunks sealed under it, as of computed_at (published by key jobs).';
alter table memory.key_stats enable row level security;
alter table memory.key_stats force row level security;
drop policy if exists key_stats_owner_access on memory.key_stats;
create policy key_stats_owner_access on memory.key_stats
  for all
  using (true)
  with check (true);

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
    raise exception 'key-ring key % is retired: nothing may be wrapped or sealed under it', p_kek_id
      using errcode = 'MV011';
  end if;
end;
$$;

-- Makes p_kek_id the live active key (setting active_kek_id, applied by every daemon through
-- NOTIFY memory_settings), unless it is retired (MV011).
create or replace function memory.set_active_kek(p_kek_id integer)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  perform memory.assert_kek_usable(p_kek_id);
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
    raise exception 'key % is the active key: rotate to another key first', p_kek_id using errcode = 'MV012';
  end if;
  select count(*) into v_deks from memory.tenant_keys k where k.kek_id = p_kek_id;
  select count(*) into v_chunks from memory.memory_chunks c where c.key_scheme = 1 and c.key_id = p_kek_id;
  if v_deks > 0 or v_chunks > 0 then
    raise exception 'key % still wraps % tenant key(s) and seals % legacy chunk(s)', p_kek_id, v_deks, v_chunks
      using errcode = 'MV012';
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
  insert into memory.key_stats (kek_id, wrapped_deks, legacy_chunks)
  select u.kek_id, sum(u.deks)::bigint, sum(u.chunks)::bigint
  from (
    select k.kek_id, count(*) as deks, 0::bigint as chunks from memory.tenant_keys k group by k.kek_id
    union all
    select c.key_id, 0, count(*) from memory.memory_chunks c where c.key_scheme = 1 group by c.key_id
  ) u
  group by u.kek_id;
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
             where octet_length(u.text_cipher) < 5 or get_byte(u.text_cipher, 0) not in (1, 2)
                or substring(u.meta_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)
                or substring(u.emb_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)) then
    raise exception 'the three blobs of a chunk must carry one envelope header (scheme 1 or 2, one key id)'
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
         memory.envelope_key_id(u.text_cipher), get_byte(u.text_cipher, 0)::smallint, c.created_at
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
  memory.key_stats()
to memory_maintainer;
grant usage on sequence memory.tenant_key_id_seq to memory_owner;
--! EndIncluded grants.sql
