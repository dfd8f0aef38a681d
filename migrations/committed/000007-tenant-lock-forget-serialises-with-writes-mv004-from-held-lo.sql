--! Previous: sha1:dc159e6efbf8e03aff3c90df3ed734f0e907a1e6
--! Hash: sha1:769bbfe07f79a8f933ca2aaa3e33ffb053ee5a91
--! Message: tenant lock: forget serialises with writes; MV004 from held locks

-- Issue 11 hardening. A per-tenant transaction-level advisory lock (memory.enter_tenant): every
-- tenant procedure holds it shared, memory.forget_tenant exclusively, so a forget and a write of
-- the same tenant serialise; MV004 is decided from the locks the backend holds, so rewriting the
-- memory.user_hash setting between two calls no longer lets one transaction act for two tenants.
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
--! Included functions/forget_tenant.sql
-- Forgets a tenant entirely: destroys its data keys first (crypto-shredding: any copy of its blobs
-- that survives elsewhere can no longer be opened), then deletes all its chunks, in one transaction.
-- Returns how many chunks were deleted. The tenant's lock is taken exclusively (memory.enter_tenant):
-- writes in flight for the tenant commit first and are deleted here too; later ones find no key.
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
  perform memory.enter_tenant(p_user_hash, true);
  delete from memory.tenant_keys k where k.user_hash = p_user_hash;
  delete from memory.memory_chunks c where c.user_hash = p_user_hash;
  get diagnostics v_deleted = row_count;
  perform memory.notify_event('tenant_forgotten', p_user_hash, v_deleted);
  return v_deleted;
end;
$$;
--! EndIncluded functions/forget_tenant.sql
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
