-- Publishes a memory event on channel memory_events for caches and other consumers. The payload
-- holds ids, hashes and counts only (never plaintext or ciphertext) plus a nonce, because
-- PostgreSQL folds identical notifications sent in one transaction into one.
create or replace function memory.notify_event(p_event text, p_user_hash text, p_count integer, p_ids uuid[] default null)
returns void
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
  select pg_notify('memory_events', json_build_object(
    'event', p_event,
    'user_hash', p_user_hash,
    'count', p_count,
    -- A NOTIFY payload must stay under 8000 bytes: large batches send counts only.
    'ids', case when cardinality(p_ids) <= 50 then p_ids end,
    'nonce', gen_random_uuid()
  )::text);
$$;
