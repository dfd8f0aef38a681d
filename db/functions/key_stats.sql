-- Key rotation and re-sealing progress for the daemons' /metrics. The daemon's role cannot count
-- across tenants (RLS admits it to one tenant per transaction, and that is the point), so the key
-- jobs, which run in maintenance mode, publish aggregate counts into memory.key_stats and the
-- daemons read that small table at scrape time. Counts only: no user_hash, no key material.

-- Recomputes the counts (maintenance). Both counts are index scans: tenant_keys_kek_idx and
-- memory_chunks_key_idx on (key_scheme, key_id), so legacy chunks cost in proportion to how many
-- are left, not to the table. If another session is refreshing right now, returns false and lets it.
create or replace function memory.refresh_key_stats()
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  -- Key 0 of the retirement lock class is never a KEK id (ids start at 1).
  if not pg_try_advisory_xact_lock(1836477291, 0) then
    return false;
  end if;
  delete from memory.key_stats;
  -- One definition of what needs each key: memory.key_usage(), which retire_kek's counts match.
  insert into memory.key_stats (kek_id, wrapped_deks, legacy_chunks)
  select u.kek_id, u.wrapped_deks, u.legacy_chunks from memory.key_usage() u;
  return true;
end;
$$;

-- The last published counts per KEK id, with retired ids (even those nothing counts any more).
-- For the daemon's metrics collector (memory_app); one small table read.
create or replace function memory.key_stats()
returns table (kek_id integer, wrapped_deks bigint, legacy_chunks bigint, retired boolean, computed_at timestamptz)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(s.kek_id, r.kek_id), coalesce(s.wrapped_deks, 0), coalesce(s.legacy_chunks, 0),
         r.kek_id is not null, s.computed_at
  from memory.key_stats s
  full join memory.retired_keks r on r.kek_id = s.kek_id
  order by 1;
$$;
