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
