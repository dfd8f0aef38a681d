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
