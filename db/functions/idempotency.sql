-- Idempotency keys for the API's writes (POST, PATCH with an Idempotency-Key header). The daemon
-- runs claim, its write and record in ONE transaction:
--   claim_idempotency_key inserts (tenant, key) or, when another transaction holds the same key
--   uncommitted, waits on the primary key until it ends (PostgreSQL's unique-insert wait), then
--   returns the committed row: the first writer's request digest and response. Two daemons
--   retrying the same request at once therefore write once; a rolled-back first attempt leaves no
--   row, and the retry writes.
-- A key lives 24 hours: an expired row is replaced by the next claim of the same key, and each
-- claim removes up to 100 of the tenant's expired keys. The key and request are stored as the
-- daemon's keyed digests; the stored response holds ids, versions and timestamps only, never text
-- or metadata.
create or replace function memory.claim_idempotency_key(p_user_hash text, p_key_digest bytea, p_request_digest bytea)
returns table (fresh boolean, request_digest bytea, status integer, response jsonb)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_key_digest is null or length(p_key_digest) <> 32 or p_request_digest is null or length(p_request_digest) <> 32 then
    raise exception 'key and request digests of 32 bytes are required' using errcode = 'MV002';
  end if;
  delete from memory.idempotency_keys i
   where i.user_hash = p_user_hash
     and (i.user_hash, i.key_digest) in (
       select e.user_hash, e.key_digest from memory.idempotency_keys e
       where e.user_hash = p_user_hash and e.expires_at <= now()
       limit 100);
  insert into memory.idempotency_keys (user_hash, key_digest, request_digest)
  values (p_user_hash, p_key_digest, p_request_digest)
  on conflict on constraint idempotency_keys_pkey do nothing;
  if found then
    return query select true, p_request_digest, null::integer, null::jsonb;
    return;
  end if;
  -- The row of a committed first attempt (a fresh statement snapshot sees it).
  return query
    select false, i.request_digest, i.status, i.response
    from memory.idempotency_keys i
    where i.user_hash = p_user_hash and i.key_digest = p_key_digest;
end;
$$;

-- Records the response of the write that claimed the key (same transaction).
create or replace function memory.record_idempotent_response(p_user_hash text, p_key_digest bytea, p_status integer, p_response jsonb)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_status is null or p_status not between 200 and 299 or p_response is null then
    raise exception 'a 2xx status and a response are required' using errcode = 'MV002';
  end if;
  update memory.idempotency_keys i
     set status = p_status, response = p_response
   where i.user_hash = p_user_hash and i.key_digest = p_key_digest and i.status is null;
  if not found then
    raise exception 'no pending claim for this key' using errcode = 'MV002';
  end if;
end;
$$;
