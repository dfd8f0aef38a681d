--! Previous: sha1:8cbdf9038cb4642125c3b77e10f1fd9f63761ffa
--! Hash: sha1:dc9d67728a2ec90b7402b1eefe1d8cd5af918c95
--! Message: Citus-ready: set_setting leaves updated_at to its trigger (no now() in ON CONFLICT DO UPDATE on a reference table); lexical triggers write through memory.trigger_target (the co-located shard on a Citus worker); the settings NOTIFY fires on the Citus coordinator only; begin_maintenance refuses on Citus (MV013)

--! Included functions/settings.sql
-- Live settings. Known keys only, each with its type and range, so a typo cannot silently do
-- nothing. A change fires NOTIFY memory_settings (statement trigger) and every daemon re-reads.
create or replace function memory.validate_setting(p_key text, p_value jsonb)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  case p_key
    when 'rerank_enabled' then
      if jsonb_typeof(p_value) <> 'boolean' then
        raise exception 'rerank_enabled must be true or false' using errcode = 'MV006';
      end if;
    when 'active_kek_id' then
      if jsonb_typeof(p_value) <> 'number' or (p_value #>> '{}') !~ '^\d+$' or p_value::bigint < 1 or p_value::bigint > 2147483647 then
        raise exception 'active_kek_id must be a key id (a positive integer)' using errcode = 'MV006';
      end if;
    when 'rerank_circuit_ms', 'ann_ef_search', 'rerank_rollout_percent', 'ann_exact_max_rows' then
      if jsonb_typeof(p_value) <> 'number' or (p_value #>> '{}') !~ '^\d+$'
         or (p_key = 'ann_exact_max_rows' and p_value::bigint > 1000000)
         or (p_key = 'rerank_circuit_ms' and (p_value::int < 1 or p_value::int > 60000))
         or (p_key = 'ann_ef_search' and (p_value::int < 10 or p_value::int > 1000))
         or (p_key = 'rerank_rollout_percent' and p_value::int > 100) then
        raise exception '% must be an integer in its range (rerank_circuit_ms 1-60000, ann_ef_search 10-1000, rerank_rollout_percent 0-100, ann_exact_max_rows 0-1000000)', p_key
          using errcode = 'MV006';
      end if;
    when 'ann_iterative_scan' then
      if p_value #>> '{}' not in ('off', 'relaxed_order', 'strict_order') or jsonb_typeof(p_value) <> 'string' then
        raise exception 'ann_iterative_scan must be "off", "relaxed_order" or "strict_order"' using errcode = 'MV006';
      end if;
    when 'bm25_k1', 'bm25_b', 'hybrid_lexical_weight' then
      if jsonb_typeof(p_value) <> 'number'
         or (p_key = 'bm25_k1' and (p_value::float8 < 0 or p_value::float8 > 10))
         or (p_key <> 'bm25_k1' and (p_value::float8 < 0 or p_value::float8 > 1)) then
        raise exception '% must be a number in its range (bm25_k1 0-10, bm25_b 0-1, hybrid_lexical_weight 0-1)', p_key using errcode = 'MV006';
      end if;
    when 'rescore_overfetch' then
      if jsonb_typeof(p_value) <> 'number' or p_value::float8 < 1 or p_value::float8 > 10 then
        raise exception 'rescore_overfetch must be a number from 1 to 10' using errcode = 'MV006';
      end if;
    when 'retrieval_mode' then
      if jsonb_typeof(p_value) <> 'string' or p_value #>> '{}' not in ('hybrid', 'dense', 'lexical') then
        raise exception 'retrieval_mode must be "hybrid", "dense" or "lexical"' using errcode = 'MV006';
      end if;
    else
      raise exception 'unknown setting %', p_key using errcode = 'MV005';
  end case;
end;
$$;

create or replace function memory.set_setting(p_key text, p_value jsonb)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.validate_setting(p_key, p_value);
  -- The same refusal as memory.set_active_kek: a retired key-ring key may not become the active
  -- one through the generic setter either (MV011).
  if p_key = 'active_kek_id' then
    perform memory.assert_kek_usable((p_value #>> '{}')::integer);
  end if;
  -- updated_at comes from the _100_touch_updated_at trigger: Citus refuses a non-immutable
  -- function (now()) in ON CONFLICT DO UPDATE on a reference table (db/citus/distribute.sql).
  insert into memory.settings (key, value) values (p_key, p_value)
  on conflict (key) do update set value = excluded.value;
end;
$$;

-- Removes an override: the daemons fall back to their environment defaults.
create or replace function memory.reset_setting(p_key text)
returns boolean
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  delete from memory.settings where key = p_key;
  return found;
end;
$$;

create or replace function memory.get_settings()
returns table (key text, value jsonb, updated_at timestamptz)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select s.key, s.value, s.updated_at from memory.settings s order by s.key;
$$;
--! EndIncluded functions/settings.sql
--! Included functions/maintenance.sql
-- Maintenance mode: the one way to work across tenants (key rotation, re-sealing, re-hashing).
-- Only a session logged in as a member of memory_maintainer (or a superuser) may enter it — the
-- check is on session_user, which a client cannot change — and the mode is transaction-local, like
-- the tenant context. A transaction is either for one tenant or in maintenance, never both.
create or replace function memory.in_maintenance()
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(current_setting('memory.maintenance', true), '') = 'on'
     and pg_has_role(session_user, 'memory_maintainer', 'member');
$$;

create or replace function memory.begin_maintenance()
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if not pg_has_role(session_user, 'memory_maintainer', 'member') then
    raise exception 'maintenance procedures need a memory_maintainer session' using errcode = 'MV009';
  end if;
  if coalesce(current_setting('memory.user_hash', true), '') <> '' then
    raise exception 'this transaction already acts for a tenant' using errcode = 'MV004';
  end if;
  -- On Citus the tenant tables' shards live on the workers, which Citus reaches as memory_owner
  -- in a session that carries neither this mode nor a maintainer login: the policy would hide every
  -- row there and a key job would report work done that it never did (and a KEK still in use could
  -- pass as retirable). Refused until maintenance runs per worker (docs/DEPLOYMENT.md "Citus").
  if exists (select from pg_catalog.pg_extension where extname = 'citus') then
    raise exception 'maintenance across tenants is not supported on Citus yet' using errcode = 'MV013';
  end if;
  perform set_config('memory.maintenance', 'on', true);
end;
$$;
--! EndIncluded functions/maintenance.sql
--! Included functions/citus_placement.sql
-- The relation a statement trigger on a memory table writes to when it maintains memory.<p_table>:
-- that table when the trigger fired on a table of schema memory; on a Citus worker, where the
-- trigger fires on a shard (`<table>_<shardid>`, db/citus/distribute.sql), the co-located shard of
-- memory.<p_table> — the one covering the same hash range. A trigger cannot write through the
-- distributed table there: Citus plans that as a distributed query, which cannot see the trigger's
-- transition tables. Citus's catalogue is named only in dynamic SQL, so the function compiles and
-- runs without Citus.
create or replace function memory.trigger_target(p_trigger_relid oid, p_table text)
returns text
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_relname text;
  v_target text;
begin
  select c.relname into v_relname
  from pg_catalog.pg_class c
  where c.oid = p_trigger_relid and c.relnamespace = 'memory'::regnamespace;
  if v_relname is null or not exists (select from pg_catalog.pg_extension where extname = 'citus') then
    return format('memory.%I', p_table);
  end if;
  execute $q$
    select pg_catalog.shard_name(format('memory.%I', $2)::regclass, target.shardid)
    from pg_catalog.pg_dist_shard fired
    join pg_catalog.pg_dist_shard target
      on target.logicalrelid = format('memory.%I', $2)::regclass
     and target.shardminvalue = fired.shardminvalue
    where fired.shardid = substring($1 from '_(\d+)$')::bigint
  $q$ into v_target using v_relname, p_table;
  -- No shard suffix: the trigger fired on the distributed table itself (the coordinator's shell).
  return coalesce(v_target, format('memory.%I', p_table));
end;
$$;

-- True on a Citus worker (a node with the citus extension that is not the coordinator). A
-- reference table's triggers fire on every node's placement, a worker's inside a two-phase
-- transaction, where NOTIFY is refused; the daemons LISTEN on the coordinator, whose own placement
-- fires the same trigger. False without Citus.
create or replace function memory.on_citus_worker()
returns boolean
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_coordinator boolean;
begin
  if not exists (select from pg_catalog.pg_extension where extname = 'citus') then
    return false;
  end if;
  execute 'select pg_catalog.citus_is_coordinator()' into v_coordinator;
  return not v_coordinator;
end;
$$;
--! EndIncluded functions/citus_placement.sql
--! Included triggers/lexical.sql
-- The lexical index is kept by triggers on memory.lexical_chunks, so every path that adds, moves or
-- removes a chunk's index row (index_chunks, reindex, rehash, and the cascade from memory_chunks
-- when delete_doc, forget_tenant or a rehash deletes the chunk) keeps postings and per-tenant
-- statistics in step without repeating the bookkeeping. Statement-level with transition tables:
-- one set-based statement per write, not one per row. Not SECURITY DEFINER: they act with the
-- rights of whoever changed lexical_chunks — the procedures (memory_owner, under FORCE RLS, so
-- within the transaction's tenant or maintenance mode), the cascade from memory_chunks (run as the
-- table owner), or an operator's superuser session — so postings never outlive their chunk row.
--
-- Removed rows (delete, or the old side of an update): their postings, found through the tokens
-- they list (the postings' primary key), and their counts; a tenant left with no indexed chunk
-- has no statistics row. Added rows (insert, or the new side of an update): their postings
-- (token, chunk, tf, chunk length) and counts.
create or replace function memory.tg_lexical_chunks__sync_postings()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  -- memory.lexical_postings and memory.lexical_stats, or their co-located shards when this fires
  -- on a Citus shard (memory.trigger_target): hence the dynamic SQL.
  v_postings text := memory.trigger_target(tg_relid, 'lexical_postings');
  v_stats text := memory.trigger_target(tg_relid, 'lexical_stats');
begin
  -- Each branch names only the transition tables its trigger declares.
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from %s p
      using removed r cross join lateral unnest(r.tokens) as u(token)
      where p.user_hash = r.user_hash and p.token = u.token and p.chunk_id = r.chunk_id$q$, v_postings);
    execute format($q$
      update %s s
         set chunks = s.chunks - r.chunks, total_length = s.total_length - r.total_length
        from (select user_hash, count(*) as chunks, sum(length) as total_length from removed group by user_hash) r
       where s.user_hash = r.user_hash$q$, v_stats);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    execute format($q$
      insert into %s (user_hash, token, chunk_id, tf, chunk_length)
      select a.user_hash, u.token, a.chunk_id, u.tf, a.length
      from added a cross join lateral unnest(a.tokens, a.tfs) as u(token, tf)$q$, v_postings);
    execute format($q$
      insert into %s as s (user_hash, chunks, total_length)
      select a.user_hash, count(*), sum(a.length) from added a group by a.user_hash
      on conflict (user_hash) do update
        set chunks = s.chunks + excluded.chunks, total_length = s.total_length + excluded.total_length$q$, v_stats);
  end if;
  if tg_op in ('DELETE', 'UPDATE') then
    execute format($q$
      delete from %s s
       where s.chunks <= 0 and s.user_hash in (select distinct user_hash from removed)$q$, v_stats);
  end if;
  return null;
end;
$$;

drop trigger if exists _100_add_postings on memory.lexical_chunks;
create trigger _100_add_postings
  after insert on memory.lexical_chunks
  referencing new table as added
  for each statement execute function memory.tg_lexical_chunks__sync_postings();

drop trigger if exists _100_move_postings on memory.lexical_chunks;
create trigger _100_move_postings
  after update on memory.lexical_chunks
  referencing old table as removed new table as added
  for each statement execute function memory.tg_lexical_chunks__sync_postings();

drop trigger if exists _100_remove_postings on memory.lexical_chunks;
create trigger _100_remove_postings
  after delete on memory.lexical_chunks
  referencing old table as removed
  for each statement execute function memory.tg_lexical_chunks__sync_postings();
--! EndIncluded triggers/lexical.sql
--! Included triggers/notify.sql
-- Statement-level triggers: one NOTIFY per statement and tenant, not per row.
create or replace function memory.tg_memory_chunks__notify_indexed()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row record;
begin
  for v_row in select n.user_hash, count(*)::integer as n, array_agg(n.id) as ids from new_rows n group by n.user_hash loop
    perform memory.notify_event('chunks_indexed', v_row.user_hash, v_row.n, v_row.ids);
  end loop;
  return null;
end;
$$;

create or replace function memory.tg_settings__notify_changed()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  -- On Citus the coordinator's placement of this reference table notifies (memory.on_citus_worker).
  if memory.on_citus_worker() then
    return null;
  end if;
  perform pg_notify('memory_settings', json_build_object('nonce', gen_random_uuid())::text);
  return null;
end;
$$;

create or replace function memory.tg__touch_updated_at()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
--! EndIncluded triggers/notify.sql
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
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint),
  memory.search(text, public.vector, integer, text, text),
  memory.search_lexical(text, bigint[], integer, text, text, integer),
  memory.search_hybrid(text, public.vector, bigint[], integer, text, text, integer),
  memory.search_candidates(text, public.vector, integer, bigint[], integer, text, text, integer),
  memory.explain_search_lexical(text, bigint[], integer, boolean),
  memory.get_chunks(text, uuid[]),
  memory.get_chunk(text, uuid),
  memory.list_chunks(text, integer, text, text, bigint, uuid),
  memory.list_chunks_filtered(text, integer, text, text, bigint, uuid, jsonb),
  memory.search_lexical_chunks(text, bigint[], integer, text, text, integer, jsonb),
  memory.search_candidates_chunks(text, public.vector, integer, bigint[], integer, text, text, integer, jsonb),
  memory.filter_backlog(text, integer),
  memory.store_filter_tokens(text, uuid[], integer[], bigint[], integer),
  memory.update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint),
  memory.delete_chunk(text, uuid, bigint),
  memory.claim_idempotency_key(text, bytea, bytea),
  memory.record_idempotent_response(text, bytea, integer, jsonb),
  memory.delete_doc(text, text),
  memory.forget_tenant(text),
  memory.tenant_stats(text),
  memory.get_settings(),
  memory.health(),
  memory.embedding_dim(),
  memory.explain_search(text, public.vector, integer, boolean),
  memory.search_layout(),
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
  memory.key_stats(),
  memory.claim_lexical_reindex(integer, smallint, text, text, uuid),
  memory.store_lexical(text[], uuid[], integer[], integer[], integer[], bigint[], integer[], smallint),
  memory.lexical_coverage(smallint),
  memory.claim_vector_backfill(integer, text, text, uuid),
  memory.store_search_vectors(text[], uuid[], public.vector[]),
  memory.vector_coverage(),
  memory.search_layout(),
  memory.finish_vector_backfill()
to memory_maintainer;
grant usage on sequence memory.tenant_key_id_seq to memory_owner;
--! EndIncluded grants.sql
