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
