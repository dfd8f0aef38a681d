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
    -- DETAIL carries the id for src/db/errors.ts, which maps MV011 to KeyRetiredError.
    raise exception 'key-ring key % is retired: nothing may be wrapped or sealed under it', p_kek_id
      using errcode = 'MV011', detail = format('kek_id=%s', p_kek_id);
  end if;
end;
$$;

-- Makes p_kek_id the live active key (setting active_kek_id, applied by every daemon through
-- NOTIFY memory_settings), unless it is retired (MV011: memory.set_setting asks assert_kek_usable).
create or replace function memory.set_active_kek(p_kek_id integer)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
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
    raise exception 'key % is the active key: rotate to another key first', p_kek_id
      using errcode = 'MV012', detail = format('kek_id=%s', p_kek_id);
  end if;
  select count(*) into v_deks from memory.tenant_keys k where k.kek_id = p_kek_id;
  select count(*) into v_chunks from memory.memory_chunks c where c.key_scheme = 1 and c.key_id = p_kek_id;
  if v_deks > 0 or v_chunks > 0 then
    raise exception 'key % still wraps % tenant key(s) and seals % legacy chunk(s)', p_kek_id, v_deks, v_chunks
      using errcode = 'MV012', detail = format('kek_id=%s', p_kek_id);
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
