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
