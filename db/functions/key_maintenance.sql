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
