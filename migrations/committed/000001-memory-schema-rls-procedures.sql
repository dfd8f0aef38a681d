--! Previous: -
--! Hash: sha1:d3538ca26032e36c65ab040f66db3f9f1bfe6f20
--! Message: memory schema, RLS, procedures

-- The first migration: schema, table, indexes, RLS, procedures and grants.
-- current.sql must be idempotent (graphile-migrate watch re-runs it), hence the drop at the top.
-- Roles and the pgvector extension come from the bootstrap (db/bootstrap/*.sql), run with privilege.
do $check$
begin
  if not exists (select from pg_catalog.pg_extension where extname = 'vector') then
    raise exception 'pgvector is not installed in this database: run the bootstrap (memvault migrate as a superuser, or db/bootstrap/database.sql)';
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'memory_owner')
     or not exists (select from pg_catalog.pg_roles where rolname = 'memory_app') then
    raise exception 'roles memory_owner and memory_app are missing: run db/bootstrap/roles.sql with CREATEROLE';
  end if;
end
$check$;

drop schema if exists memory cascade;
create schema memory;
comment on schema memory is 'memvault: sealed long-term memory; the procedures are the interface, tables are private';

-- The embedding dimension is fixed when the schema is created (placeholder from MEMVAULT_EMBEDDING_DIM).
create function memory.embedding_dim()
returns integer
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$ select :MEMVAULT_EMBEDDING_DIM $$;

create table memory.memory_chunks (
  user_hash text not null constraint memory_chunks_user_hash_format check (user_hash ~ '^[0-9a-f]{64}$'),
  id uuid not null,
  doc_id text not null constraint memory_chunks_doc_id_length check (length(doc_id) between 1 and 256),
  source text not null default '' constraint memory_chunks_source_length check (length(source) <= 256),
  text_cipher bytea not null,
  meta_cipher bytea not null,
  emb_cipher bytea not null,
  embedding public.vector(:MEMVAULT_EMBEDDING_DIM) not null,
  key_id integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint memory_chunks_pkey primary key (user_hash, id)
);
comment on table memory.memory_chunks is 'One sealed memory chunk per row. text/meta/emb ciphers are AES-256-GCM envelopes bound to (tenant, row, column); embedding is plaintext for ANN.';

-- Tenant-first B-tree: serves delete_doc and doc-filtered search, and is the small-tenant search
-- path (fetch the tenant''s rows, sort exactly). The primary key serves lookups by id.
create index memory_chunks_user_doc_idx on memory.memory_chunks (user_hash, doc_id);
-- HNSW (cosine) for large tenants; pgvector's iterative scans keep the tenant filter from starving it.
create index memory_chunks_embedding_hnsw_idx on memory.memory_chunks using hnsw (embedding public.vector_cosine_ops);

create table memory.settings (
  key text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now()
);
comment on table memory.settings is 'Live overrides (rerank_enabled, rerank_circuit_ms, rerank_rollout_percent, ann_ef_search, ann_iterative_scan); changes NOTIFY memory_settings.';

alter table memory.memory_chunks enable row level security;
alter table memory.memory_chunks force row level security;
alter table memory.settings enable row level security;
alter table memory.settings force row level security;

--! Included policies/memory_tenant_isolation.sql
-- Tenant isolation: a row is visible and writable only when its user_hash equals the transaction's
-- tenant context. The setting is read through a sub-select so it is evaluated once per query, not
-- once per row. No context (NULL or '') or a malformed one matches nothing, since user_hash is
-- always 64 hex characters.
drop policy if exists memory_tenant_isolation on memory.memory_chunks;
create policy memory_tenant_isolation on memory.memory_chunks
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)))
  with check (user_hash = (select current_setting('memory.user_hash', true)));

-- Settings are not tenant data: readable and writable by the owner's procedures.
drop policy if exists settings_owner_access on memory.settings;
create policy settings_owner_access on memory.settings
  for all
  using (true)
  with check (true);
--! EndIncluded policies/memory_tenant_isolation.sql
--! Included functions/set_tenant.sql
-- Sets the transaction-local tenant context that the RLS policy reads. Every tenant procedure calls
-- this first. It refuses a malformed hash and refuses to switch tenants inside one transaction, so a
-- caller cannot mix two tenants' work in one transaction by accident.
create or replace function memory.set_tenant(p_user_hash text)
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_current text := coalesce(current_setting('memory.user_hash', true), '');
begin
  if p_user_hash is null or p_user_hash !~ '^[0-9a-f]{64}$' then
    raise exception 'user_hash must be 64 lowercase hex characters' using errcode = 'MV001';
  end if;
  if v_current <> '' and v_current <> p_user_hash then
    raise exception 'this transaction already acts for another tenant' using errcode = 'MV004';
  end if;
  perform set_config('memory.user_hash', p_user_hash, true);
end;
$$;
--! EndIncluded functions/set_tenant.sql
--! Included functions/notify_event.sql
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
--! EndIncluded functions/notify_event.sql
--! Included functions/search_sql.sql
-- The text of the ANN query, shared by memory.search and memory.explain_search so that the plan
-- doctor verifies is the plan search runs. Parameters: $1 user_hash, $2 query vector, $3 limit,
-- $4 doc_id, $5 source. Filters are added only when given, so each shape gets its own plan.
--
-- The inner query lets pgvector's HNSW index (or, for a small tenant, the tenant B-tree) produce
-- candidates; with iterative scans in relaxed order they may arrive slightly out of order, so the
-- outer query re-sorts the materialized candidates (pgvector's documented pattern).
create or replace function memory.search_sql(p_has_doc_id boolean, p_has_source boolean)
returns text
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select 'with candidates as materialized ('
    || ' select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id,'
    || ' c.embedding operator(public.<=>) $2 as distance'
    || ' from memory.memory_chunks c'
    || ' where c.user_hash = $1'
    || case when p_has_doc_id then ' and c.doc_id = $4' else '' end
    || case when p_has_source then ' and c.source = $5' else '' end
    || ' order by c.embedding operator(public.<=>) $2'
    || ' limit $3)'
    || ' select id, doc_id, source, text_cipher, meta_cipher, key_id, distance::float8'
    || ' from candidates order by distance, id';
$$;
--! EndIncluded functions/search_sql.sql
--! Included functions/apply_ann_settings.sql
-- Applies the ANN tuning settings (memory.settings keys ann_ef_search, ann_iterative_scan) to the
-- current transaction. Defaults: ef_search 100 (>= the largest candidate count we serve, so HNSW can
-- return that many) and relaxed-order iterative scans (pgvector >= 0.8), which keep scanning the
-- graph until enough rows pass the tenant filter instead of returning too few.
create or replace function memory.apply_ann_settings()
returns void
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_ef text;
  v_mode text;
begin
  select (select value #>> '{}' from memory.settings where key = 'ann_ef_search'),
         (select value #>> '{}' from memory.settings where key = 'ann_iterative_scan')
    into v_ef, v_mode;
  perform set_config('hnsw.ef_search', coalesce(v_ef, '100'), true);
  perform set_config('hnsw.iterative_scan', coalesce(v_mode, 'relaxed_order'), true);
end;
$$;
--! EndIncluded functions/apply_ann_settings.sql
--! Included functions/index_chunks.sql
-- Stores a batch of sealed chunks for one tenant in one statement (all or nothing). The arrays are
-- parallel: element i of each describes chunk i. Ciphertexts are opaque here; the embedding is the
-- plaintext vector the HNSW index needs.
create or replace function memory.index_chunks(
  p_user_hash text,
  p_ids uuid[],
  p_doc_ids text[],
  p_sources text[],
  p_text_ciphers bytea[],
  p_meta_ciphers bytea[],
  p_emb_ciphers bytea[],
  p_embeddings public.vector[],
  p_key_id integer
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_inserted integer;
begin
  perform memory.set_tenant(p_user_hash);
  if v_count = 0 or v_count > 1000 then
    raise exception 'a batch holds 1 to 1000 chunks, got %', v_count using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_doc_ids), -1) <> v_count
     or coalesce(cardinality(p_sources), -1) <> v_count
     or coalesce(cardinality(p_text_ciphers), -1) <> v_count
     or coalesce(cardinality(p_meta_ciphers), -1) <> v_count
     or coalesce(cardinality(p_emb_ciphers), -1) <> v_count
     or coalesce(cardinality(p_embeddings), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if p_key_id is null then
    raise exception 'key_id is required' using errcode = 'MV002';
  end if;
  if array_position(p_ids, null) is not null
     or exists (select from unnest(p_doc_ids) d where d is null or length(d) not between 1 and 256)
     or exists (select from unnest(p_sources) s where s is null or length(s) > 256)
     or array_position(p_text_ciphers, null) is not null
     or array_position(p_meta_ciphers, null) is not null
     or array_position(p_emb_ciphers, null) is not null then
    raise exception 'ids, doc_ids (1-256 chars), sources (0-256 chars) and ciphertexts must be present'
      using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_embeddings) e where e is null or public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every embedding must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;

  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id)
  select p_user_hash, u.id, u.doc_id, u.source, u.text_cipher, u.meta_cipher, u.emb_cipher, u.embedding, p_key_id
  from unnest(p_ids, p_doc_ids, p_sources, p_text_ciphers, p_meta_ciphers, p_emb_ciphers, p_embeddings)
    as u(id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding);
  get diagnostics v_inserted = row_count;
  return v_inserted;
end;
$$;
--! EndIncluded functions/index_chunks.sql
--! Included functions/index_chunk.sql
-- One chunk: a batch of one, so there is a single code path for validation and storage.
create or replace function memory.index_chunk(
  p_user_hash text,
  p_id uuid,
  p_doc_id text,
  p_source text,
  p_text_cipher bytea,
  p_meta_cipher bytea,
  p_emb_cipher bytea,
  p_embedding public.vector,
  p_key_id integer
)
returns integer
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select memory.index_chunks(
    p_user_hash, array[p_id], array[p_doc_id], array[p_source], array[p_text_cipher],
    array[p_meta_cipher], array[p_emb_cipher], array[p_embedding], p_key_id);
$$;
--! EndIncluded functions/index_chunk.sql
--! Included functions/search.sql
-- Top-N chunks of one tenant by cosine distance to p_embedding, optionally filtered by doc_id and
-- source. Returns ciphertexts; the daemon opens them. Planned per call (EXECUTE) so the planner sees
-- the tenant and picks the HNSW index for large tenants and the tenant B-tree for small ones.
create or replace function memory.search(
  p_user_hash text,
  p_embedding public.vector,
  p_limit integer default 24,
  p_doc_id text default null,
  p_source text default null
)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  key_id integer,
  distance double precision
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_embedding is null then
    raise exception 'embedding is required' using errcode = 'MV002';
  end if;
  if public.vector_dims(p_embedding) <> memory.embedding_dim() then
    raise exception 'embedding has % dimensions, the schema has %', public.vector_dims(p_embedding), memory.embedding_dim()
      using errcode = 'MV008';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  perform memory.apply_ann_settings();
  return query execute memory.search_sql(p_doc_id is not null, p_source is not null)
    using p_user_hash, p_embedding, p_limit, p_doc_id, p_source;
end;
$$;
--! EndIncluded functions/search.sql
--! Included functions/get_chunks.sql
-- The tenant's chunks with the given ids (missing ids are simply absent from the result).
create or replace function memory.get_chunks(p_user_hash text, p_ids uuid[])
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  emb_cipher bytea,
  key_id integer,
  created_at timestamptz,
  updated_at timestamptz
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_ids is null or cardinality(p_ids) > 1000 then
    raise exception 'ids: 0 to 1000 ids' using errcode = 'MV002';
  end if;
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_id, c.created_at, c.updated_at
    from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = any (p_ids)
    order by c.id;
end;
$$;
--! EndIncluded functions/get_chunks.sql
--! Included functions/delete_doc.sql
-- Deletes every chunk of one document of one tenant; returns how many (0 when nothing matched).
create or replace function memory.delete_doc(p_user_hash text, p_doc_id text)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_deleted integer;
begin
  perform memory.set_tenant(p_user_hash);
  if p_doc_id is null or length(p_doc_id) not between 1 and 256 then
    raise exception 'doc_id must be 1 to 256 characters' using errcode = 'MV002';
  end if;
  delete from memory.memory_chunks c where c.user_hash = p_user_hash and c.doc_id = p_doc_id;
  get diagnostics v_deleted = row_count;
  if v_deleted > 0 then
    perform memory.notify_event('doc_deleted', p_user_hash, v_deleted);
  end if;
  return v_deleted;
end;
$$;
--! EndIncluded functions/delete_doc.sql
--! Included functions/forget_tenant.sql
-- Forgets a tenant entirely: deletes all its chunks; returns how many.
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
  perform memory.set_tenant(p_user_hash);
  delete from memory.memory_chunks c where c.user_hash = p_user_hash;
  get diagnostics v_deleted = row_count;
  perform memory.notify_event('tenant_forgotten', p_user_hash, v_deleted);
  return v_deleted;
end;
$$;
--! EndIncluded functions/forget_tenant.sql
--! Included functions/tenant_stats.sql
-- Size of one tenant's memory: chunks, documents, stored ciphertext bytes, first and last write.
create or replace function memory.tenant_stats(p_user_hash text)
returns table (chunks bigint, documents bigint, cipher_bytes bigint, first_at timestamptz, last_at timestamptz)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  return query
    select count(*), count(distinct c.doc_id),
           coalesce(sum(octet_length(c.text_cipher) + octet_length(c.meta_cipher) + octet_length(c.emb_cipher)), 0)::bigint,
           min(c.created_at), max(c.updated_at)
    from memory.memory_chunks c
    where c.user_hash = p_user_hash;
end;
$$;
--! EndIncluded functions/tenant_stats.sql
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
    when 'rerank_circuit_ms', 'ann_ef_search', 'rerank_rollout_percent' then
      if jsonb_typeof(p_value) <> 'number' or (p_value #>> '{}') !~ '^\d+$'
         or (p_key = 'rerank_circuit_ms' and (p_value::int < 1 or p_value::int > 60000))
         or (p_key = 'ann_ef_search' and (p_value::int < 10 or p_value::int > 1000))
         or (p_key = 'rerank_rollout_percent' and p_value::int > 100) then
        raise exception '% must be an integer in its range (rerank_circuit_ms 1-60000, ann_ef_search 10-1000, rerank_rollout_percent 0-100)', p_key
          using errcode = 'MV006';
      end if;
    when 'ann_iterative_scan' then
      if p_value #>> '{}' not in ('off', 'relaxed_order', 'strict_order') or jsonb_typeof(p_value) <> 'string' then
        raise exception 'ann_iterative_scan must be "off", "relaxed_order" or "strict_order"' using errcode = 'MV006';
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
  insert into memory.settings (key, value) values (p_key, p_value)
  on conflict (key) do update set value = excluded.value, updated_at = now();
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
--! Included functions/health.sql
-- What readiness needs, callable by the app role (which cannot read catalogs of graphile_migrate):
-- the last applied migration, the schema's embedding dimension and the pgvector version.
create or replace function memory.health()
returns table (last_migration text, migration_count integer, embedding_dim integer, vector_version text)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select (select m.filename from graphile_migrate.migrations m order by m.date desc, m.filename desc limit 1),
         (select count(*)::integer from graphile_migrate.migrations),
         memory.embedding_dim(),
         (select e.extversion from pg_extension e where e.extname = 'vector');
$$;
--! EndIncluded functions/health.sql
--! Included functions/explain_search.sql
-- EXPLAIN (FORMAT JSON) of exactly the query memory.search runs, for `memvault doctor` and the
-- check script: it proves which index serves search for a given tenant. With p_analyze the query
-- runs (inside this tenant's RLS context) and the plan carries timings; no row data is returned.
create or replace function memory.explain_search(
  p_user_hash text,
  p_embedding public.vector,
  p_limit integer default 24,
  p_analyze boolean default false
)
returns json
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_plan json;
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.apply_ann_settings();
  execute 'explain (format json, analyze ' || case when p_analyze then 'true' else 'false' end || ') ' || memory.search_sql(false, false)
    into v_plan
    using p_user_hash, p_embedding, p_limit, null::text, null::text;
  return v_plan;
end;
$$;
--! EndIncluded functions/explain_search.sql
--! Included functions/explain_lookup.sql
-- EXPLAIN (FORMAT JSON) of the lookups by id and by document, for `memvault doctor`.
create or replace function memory.explain_lookup(p_user_hash text)
returns table (lookup text, plan json)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_plan json;
begin
  perform memory.set_tenant(p_user_hash);
  execute 'explain (format json) select * from memory.memory_chunks where user_hash = $1 and id = any($2)'
    into v_plan using p_user_hash, array[gen_random_uuid()];
  lookup := 'by_id'; plan := v_plan; return next;
  execute 'explain (format json) select * from memory.memory_chunks where user_hash = $1 and doc_id = $2'
    into v_plan using p_user_hash, 'doc';
  lookup := 'by_doc'; plan := v_plan; return next;
end;
$$;
--! EndIncluded functions/explain_lookup.sql
--! Included functions/verify_rls_isolation.sql
-- Proves on the live database that one tenant can neither read nor write another's rows, through
-- the same policy the procedures rely on. It writes probe rows for two random tenants inside a
-- subtransaction and rolls it back, so it leaves nothing behind.
create or replace function memory.verify_rls_isolation()
returns table (check_name text, passed boolean, detail text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_a text := md5(random()::text) || md5(random()::text);
  v_b text := md5(random()::text) || md5(random()::text);
  v_id uuid := gen_random_uuid();
  v_zero public.vector := array_fill(0, array[memory.embedding_dim()])::real[]::public.vector;
  -- Results are kept in a variable: they must survive the rollback of the probe subtransaction.
  v_results jsonb := '[]';
  v_n bigint;
begin
  begin
    perform set_config('memory.user_hash', v_a, true);
    insert into memory.memory_chunks (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id)
    values (v_a, v_id, 'probe', '', '\x00', '\x00', '\x00', v_zero, 0);

    select count(*) into v_n from memory.memory_chunks where id = v_id;
    v_results := v_results || jsonb_build_object('check_name', 'own_tenant_reads_own_row', 'passed', (v_n = 1), 'detail', format('%s row(s)', v_n));

    perform set_config('memory.user_hash', '', true);
    select count(*) into v_n from memory.memory_chunks;
    v_results := v_results || jsonb_build_object('check_name', 'no_context_reads_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    perform set_config('memory.user_hash', 'not-a-hash'' or ''1''=''1', true);
    select count(*) into v_n from memory.memory_chunks;
    v_results := v_results || jsonb_build_object('check_name', 'malformed_context_reads_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    perform set_config('memory.user_hash', v_b, true);
    select count(*) into v_n from memory.memory_chunks where id = v_id;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_reads_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    update memory.memory_chunks set doc_id = 'stolen' where id = v_id;
    get diagnostics v_n = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_updates_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    delete from memory.memory_chunks where id = v_id;
    get diagnostics v_n = row_count;
    v_results := v_results || jsonb_build_object('check_name', 'other_tenant_deletes_nothing', 'passed', (v_n = 0), 'detail', format('%s row(s)', v_n));

    begin
      insert into memory.memory_chunks (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id)
      values (v_a, gen_random_uuid(), 'probe', '', '\x00', '\x00', '\x00', v_zero, 0);
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_insert_rejected', 'passed', false, 'detail', 'insert succeeded');
    exception when insufficient_privilege then
      v_results := v_results || jsonb_build_object('check_name', 'cross_tenant_insert_rejected', 'passed', true, 'detail', 'rejected (42501)');
    end;

    raise exception 'rollback probe' using errcode = 'MV999';
  exception when sqlstate 'MV999' then
    null; -- the probe rows and context changes are rolled back with the subtransaction
  end;
  return query select r.check_name, r.passed, r.detail from jsonb_to_recordset(v_results) as r(check_name text, passed boolean, detail text);
end;
$$;
--! EndIncluded functions/verify_rls_isolation.sql
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

create trigger _100_touch_updated_at
  before update on memory.memory_chunks
  for each row execute function memory.tg__touch_updated_at();
create trigger _900_notify_indexed
  after insert on memory.memory_chunks
  referencing new table as new_rows
  for each statement execute function memory.tg_memory_chunks__notify_indexed();
create trigger _100_touch_updated_at
  before update on memory.settings
  for each row execute function memory.tg__touch_updated_at();
create trigger _900_notify_changed
  after insert or update or delete on memory.settings
  for each statement execute function memory.tg_settings__notify_changed();

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
  memory.index_chunk(text, uuid, text, text, bytea, bytea, bytea, public.vector, integer),
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer),
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
  memory.verify_rls_isolation()
to memory_app;
--! EndIncluded grants.sql

-- memory.health reports the applied migrations to the app role.
grant usage on schema graphile_migrate to memory_owner;
grant select on graphile_migrate.migrations to memory_owner;
