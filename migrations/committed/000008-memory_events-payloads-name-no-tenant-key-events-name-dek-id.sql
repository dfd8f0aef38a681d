--! Previous: sha1:769bbfe07f79a8f933ca2aaa3e33ffb053ee5a91
--! Hash: sha1:1f7e5d96aacfe753f59cf3961a902afbdcded4cc
--! Message: memory_events payloads name no tenant; key events name DEK ids

-- Issue 11 hardening, NOTIFY: memory_events payloads carry the event, a count and a nonce, never a
-- tenant identifier (user_hash, chunk ids); key events name the DEK ids dropped, so daemons drop
-- exactly the cached tenant that holds them. (CONNECT is revoked from PUBLIC in
-- db/bootstrap/database.sql, which is not a migration.)
--! Included functions/notify_event.sql
-- Publishes a memory event on channel memory_events for caches and other consumers. LISTEN needs
-- no privilege, so any role that can connect hears every payload: payloads carry the event name, a
-- count and a nonce (PostgreSQL folds identical notifications sent in one transaction into one),
-- never a tenant identifier (user_hash, chunk or doc ids), ciphertext or plaintext. p_user_hash and
-- p_ids are kept in the signature for existing callers and ignored (db/CONVENTIONS.md).
create or replace function memory.notify_event(p_event text, p_user_hash text, p_count integer, p_ids uuid[] default null)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
  select pg_notify('memory_events', json_build_object(
    'event', p_event,
    'count', p_count,
    'nonce', gen_random_uuid()
  )::text);
$$;

-- A tenant's data keys were destroyed or replaced: names the DEK ids (sequence numbers that say
-- nothing about the tenant without its hash), so each daemon drops exactly the cached tenant that
-- holds one of them.
create or replace function memory.notify_keys_dropped(p_event text, p_dek_ids integer[], p_count integer)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
  select pg_notify('memory_events', json_build_object(
    'event', p_event,
    'count', p_count,
    -- A NOTIFY payload must stay under 8000 bytes; a tenant has one or two DEKs.
    'dek_ids', case when cardinality(p_dek_ids) <= 100 then p_dek_ids else '{}'::integer[] end,
    'nonce', gen_random_uuid()
  )::text);
$$;
--! EndIncluded functions/notify_event.sql
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
  v_dek_ids integer[];
begin
  perform memory.enter_tenant(p_user_hash, true);
  with dropped as (delete from memory.tenant_keys k where k.user_hash = p_user_hash returning k.dek_id)
  select coalesce(array_agg(dropped.dek_id), '{}') into v_dek_ids from dropped;
  delete from memory.memory_chunks c where c.user_hash = p_user_hash;
  get diagnostics v_deleted = row_count;
  perform memory.notify_keys_dropped('tenant_forgotten', v_dek_ids, v_deleted);
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
