--! Previous: sha1:d45823b9036a0d8d7e5080a60ef19414caff4aea
--! Hash: sha1:8cbdf9038cb4642125c3b77e10f1fd9f63761ffa
--! Message: chunk API: get, list (keyset), update with versions, delete one, export; idempotency keys; search_chunks with timestamps; filters over sealed metadata (keyed tokens)

-- The complete memory API (issue 14): read one chunk, list (keyset, newest first), update with a
-- version (ETag / If-Match), delete one chunk, export; idempotency keys for writes; query results
-- carry created_at / updated_at. See docs/API.md.

-- A chunk's version: 1 when written, +1 on each update (memory.update_chunk). The API's ETag.
alter table memory.memory_chunks add column if not exists version bigint not null default 1;
-- Keyset pagination newest first within a tenant (memory.list_chunks).
create index if not exists memory_chunks_user_created_idx
  on memory.memory_chunks (user_hash, created_at desc, id desc);

-- Idempotency keys of the API's writes, per tenant, for 24 hours (memory.claim_idempotency_key).
-- key_digest and request_digest are the daemon's keyed digests (HMAC) of the Idempotency-Key
-- header and of the request, so the table holds no client text; response is what the first
-- attempt answered (ids, versions, timestamps), status null until the claiming write records it.
create table if not exists memory.idempotency_keys (
  user_hash text not null constraint idempotency_keys_user_hash_format check (user_hash ~ '^[0-9a-f]{64}$'),
  key_digest bytea not null,
  request_digest bytea not null,
  status integer,
  response jsonb,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '24 hours',
  constraint idempotency_keys_pkey primary key (user_hash, key_digest)
);
comment on table memory.idempotency_keys is 'Idempotency-Key digests of API writes per tenant with the first response; 24 h.';
alter table memory.idempotency_keys enable row level security;
alter table memory.idempotency_keys force row level security;

-- Filters over sealed metadata: the keyed tokens of each chunk's top-level scalar metadata fields
-- and the data key they were keyed under (db/functions/filter.sql). Null: not keyed yet.
alter table memory.memory_chunks add column if not exists filter_tokens bigint[];
alter table memory.memory_chunks add column if not exists filter_key_id integer;
-- Matching a filter's tokens (&&) without reading the tenant's rows.
create index if not exists memory_chunks_filter_tokens_idx on memory.memory_chunks using gin (filter_tokens);
-- Finding a tenant's chunks not keyed under its active key (memory.filter_backlog).
create index if not exists memory_chunks_filter_key_idx on memory.memory_chunks (user_hash, filter_key_id);

--! Included triggers/chunk_updated_at.sql
-- A chunk's updated_at is when its content last changed (memory.update_chunk raises its version),
-- not when key maintenance re-sealed or re-hashed it: the API reports and filters on it, and a
-- re-seal changes nothing a caller wrote.
create or replace function memory.tg_memory_chunks__touch_updated_at()
returns trigger
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.version is distinct from old.version then
    new.updated_at := now();
  else
    new.updated_at := old.updated_at;
  end if;
  return new;
end;
$$;

drop trigger if exists _100_touch_updated_at on memory.memory_chunks;
create trigger _100_touch_updated_at
  before update on memory.memory_chunks
  for each row execute function memory.tg_memory_chunks__touch_updated_at();
--! EndIncluded triggers/chunk_updated_at.sql
--! Included policies/memory_tenant_isolation.sql
-- Tenant isolation: a row is visible and writable only when its user_hash equals the transaction's
-- tenant context. The setting is read through a sub-select so it is evaluated once per query, not
-- once per row. No context (NULL or '') or a malformed one matches nothing, since user_hash is
-- always 64 hex characters. The second arm admits maintenance jobs (memory.in_maintenance(): a
-- memory_maintainer session that entered maintenance mode in this transaction).
drop policy if exists memory_tenant_isolation on memory.memory_chunks;
create policy memory_tenant_isolation on memory.memory_chunks
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

-- A tenant's data keys: the same isolation.
drop policy if exists tenant_keys_isolation on memory.tenant_keys;
create policy tenant_keys_isolation on memory.tenant_keys
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

-- Settings are not tenant data: readable and writable by the owner's procedures.
drop policy if exists settings_owner_access on memory.settings;
create policy settings_owner_access on memory.settings
  for all
  using (true)
  with check (true);

-- The lexical index (a chunk's analysis, its postings, the tenant's counts): the same isolation.
drop policy if exists lexical_chunks_isolation on memory.lexical_chunks;
create policy lexical_chunks_isolation on memory.lexical_chunks
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

drop policy if exists lexical_postings_isolation on memory.lexical_postings;
create policy lexical_postings_isolation on memory.lexical_postings
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

drop policy if exists lexical_stats_isolation on memory.lexical_stats;
create policy lexical_stats_isolation on memory.lexical_stats
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));

-- A tenant's idempotency keys (memory.claim_idempotency_key): the same isolation.
drop policy if exists idempotency_keys_tenant_isolation on memory.idempotency_keys;
create policy idempotency_keys_tenant_isolation on memory.idempotency_keys
  for all
  using (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()))
  with check (user_hash = (select current_setting('memory.user_hash', true)) or (select memory.in_maintenance()));
--! EndIncluded policies/memory_tenant_isolation.sql
--! Included functions/get_chunk.sql
-- One chunk of the tenant by id, with its version (the API's ETag); no row when the tenant has no
-- such chunk (another tenant's id included: RLS and the user_hash condition both hide it).
create or replace function memory.get_chunk(p_user_hash text, p_id uuid)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  emb_cipher bytea,
  key_id integer,
  created_at timestamptz,
  updated_at timestamptz,
  version bigint
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_id is null then
    raise exception 'id is required' using errcode = 'MV002';
  end if;
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_id, c.created_at, c.updated_at, c.version
    from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = p_id;
end;
$$;
--! EndIncluded functions/get_chunk.sql
--! Included functions/list_chunks.sql
-- A page of the tenant's chunks, newest first: keyset pagination on (created_at, id) strictly
-- after the cursor (p_before_us, p_before_id), read from memory_chunks_user_created_idx, so every
-- page costs the same however deep it is. Optional doc_id / source filters. Positions are
-- microseconds since the epoch (created_us), exact where a client's timestamp type may round.
-- The daemon MACs the cursor it hands out (bound to the tenant); here it is a plain position.
create or replace function memory.list_chunks(
  p_user_hash text,
  p_limit integer,
  p_doc_id text default null,
  p_source text default null,
  p_before_us bigint default null,
  p_before_id uuid default null
)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  key_id integer,
  created_at timestamptz,
  updated_at timestamptz,
  version bigint,
  created_us bigint
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if (p_before_us is null) <> (p_before_id is null) then
    raise exception 'a cursor needs both created_at and id' using errcode = 'MV002';
  end if;
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, c.created_at, c.updated_at, c.version,
           (extract(epoch from c.created_at) * 1000000)::bigint
    from memory.memory_chunks c
    where c.user_hash = p_user_hash
      and (p_doc_id is null or c.doc_id = p_doc_id)
      and (p_source is null or c.source = p_source)
      and (p_before_us is null
           or (c.created_at, c.id) < (timestamptz 'epoch' + p_before_us * interval '1 microsecond', p_before_id))
    order by c.created_at desc, c.id desc
    limit p_limit;
end;
$$;
--! EndIncluded functions/list_chunks.sql
--! Included functions/update_chunk.sql
-- Replaces one chunk's sealed text, metadata and embedding (re-sealed and, when the text changed,
-- re-embedded by the daemon; p_embedding is its search vector, src/crypto/search-vector.ts, kept in
-- memory_chunks.embedding and as halfvec in memory.chunk_vectors) in one statement, if the row is still at p_expected_version: a writer
-- that read an older version gets 'version_mismatch' and the current version instead of
-- overwriting a change it has not seen. The version goes up by one and updated_at moves (the
-- _100_touch_updated_at trigger on memory_chunks). Statuses: 'updated', 'not_found',
-- 'version_mismatch'. Like index_chunks it refuses blobs sealed under a data key that is no longer
-- the tenant's active one (MV010), and checks the embedding's dimension (MV008).
--
-- With p_text_changed the lexical index follows the new text in the same statement: its row is
-- replaced by p_lex_length / p_lex_tokens / p_lex_tfs (keyed under data key p_term_key_id by
-- analyzer p_analyzer_version, as memory.index_chunks takes them), so the old terms stop matching
-- at once; p_lex_length null drops the row (the chunk is then missing from the index, which
-- `memvault doctor` reports and `memvault reindex lexical` repairs) rather than leave stale terms.
create or replace function memory.update_chunk(
  p_user_hash text,
  p_id uuid,
  p_expected_version bigint,
  p_text_cipher bytea,
  p_meta_cipher bytea,
  p_emb_cipher bytea,
  p_embedding public.vector,
  p_key_id integer,
  p_key_scheme smallint,
  p_text_changed boolean,
  p_lex_length integer,
  p_lex_tokens bigint[],
  p_lex_tfs integer[],
  p_term_key_id integer,
  p_analyzer_version smallint
)
returns table (
  status text,
  doc_id text,
  source text,
  created_at timestamptz,
  updated_at timestamptz,
  version bigint
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row record;
begin
  perform memory.set_tenant(p_user_hash);
  if p_id is null or p_expected_version is null or p_text_cipher is null or p_meta_cipher is null
     or p_emb_cipher is null or p_embedding is null or p_key_id is null or p_key_scheme is distinct from 2 then
    raise exception 'id, expected version, ciphertexts, embedding and a data key (scheme 2) are required'
      using errcode = 'MV002';
  end if;
  if public.vector_dims(p_embedding) <> memory.embedding_dim() then
    raise exception 'embedding has % dimensions, the schema has %', public.vector_dims(p_embedding), memory.embedding_dim()
      using errcode = 'MV008';
  end if;
  if not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;

  update memory.memory_chunks c
     set text_cipher = p_text_cipher, meta_cipher = p_meta_cipher, emb_cipher = p_emb_cipher,
         embedding = p_embedding, key_id = p_key_id, key_scheme = p_key_scheme, version = c.version + 1,
         -- The metadata may have changed: its filter tokens are keyed again before the next
         -- filtered read (memory.filter_backlog).
         filter_tokens = null, filter_key_id = null
   where c.user_hash = p_user_hash and c.id = p_id and c.version = p_expected_version
  returning c.doc_id, c.source, c.created_at, c.updated_at, c.version into v_row;
  if found then
    -- The narrow search layout's copy of the search vector follows (upsert: a chunk the vector
    -- backfill has not reached yet gets its row now).
    insert into memory.chunk_vectors as v (user_hash, id, embedding)
    values (p_user_hash, p_id, p_embedding::public.halfvec)
    on conflict (user_hash, id) do update set embedding = excluded.embedding;
    if p_text_changed and p_lex_length is null then
      delete from memory.lexical_chunks l where l.user_hash = p_user_hash and l.chunk_id = p_id;
    elsif p_text_changed then
      perform memory.assert_lexical_batch(p_user_hash, 1, array[p_lex_length],
        array_fill(1, array[coalesce(cardinality(p_lex_tokens), 0)]), p_lex_tokens, p_lex_tfs,
        p_term_key_id, p_analyzer_version);
      -- Upsert: the lexical_chunks triggers move the postings and the tenant's counts.
      insert into memory.lexical_chunks as l (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
      select p_user_hash, p_id, p_lex_length, coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_id, p_analyzer_version
      from (select 1) one
      left join memory.lexical_postings_by_chunk(array_fill(1, array[coalesce(cardinality(p_lex_tokens), 0)]), p_lex_tokens, p_lex_tfs) t on true
      on conflict (user_hash, chunk_id) do update
        set length = excluded.length, tokens = excluded.tokens, tfs = excluded.tfs,
            term_key_id = excluded.term_key_id, analyzer_version = excluded.analyzer_version;
    end if;
    perform memory.notify_event('chunk_updated', p_user_hash, 1, array[p_id]);
    return query select 'updated'::text, v_row.doc_id, v_row.source, v_row.created_at, v_row.updated_at, v_row.version;
    return;
  end if;
  -- Not updated: tell a missing row from a newer version (the current one, for the 412).
  return query
    select 'version_mismatch'::text, c.doc_id, c.source, c.created_at, c.updated_at, c.version
    from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = p_id;
  if not found then
    return query select 'not_found'::text, null::text, null::text, null::timestamptz, null::timestamptz, null::bigint;
  end if;
end;
$$;
--! EndIncluded functions/update_chunk.sql
--! Included functions/filter.sql
-- Filters over sealed metadata (issue 14). Each chunk carries filter_tokens: the keyed tokens of
-- its top-level scalar metadata fields, (field, value) → 64-bit HMAC under a key derived from the
-- tenant's data key (src/crypto/filter-key.ts), and filter_key_id, the data key they were keyed
-- under. The database never sees a field name or a value, only which chunks share a token.

-- The SQL predicate of a compiled filter (src/memory/filter.ts) on the chunk row aliased p_alias:
--   {"any": ["<token>", ...]}             the chunk has one of these tokens
--   {"all": [f, ...]} / {"either": [f, ...]} / {"not": f}
--   {"time": "created_at"|"updated_at", "op": ">"|">="|"<"|"<=", "at": "<ISO 8601>"}
-- Only integers (cast to bigint), timestamps (cast to timestamptz) and the fixed operators above
-- reach the text, each through a cast that raises on anything else, so the predicate is safe to
-- EXECUTE. A chunk without tokens (not yet keyed) has no token: `any` is false for it, `not any`
-- true. The callers key the tenant's backlog first (memory.filter_backlog), so that case is rare.
create or replace function memory.filter_predicate(p_filter jsonb, p_alias text, p_depth integer default 0)
returns text
language plpgsql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
declare
  v_parts text[];
  v_tokens bigint[];
  v_op text;
begin
  if p_depth > 16 or p_filter is null or jsonb_typeof(p_filter) <> 'object' then
    raise exception 'filter: an object, nested at most 16 deep' using errcode = 'MV002';
  end if;
  if p_filter ? 'any' and jsonb_typeof(p_filter -> 'any') = 'array' and jsonb_array_length(p_filter -> 'any') > 0 then
    select array_agg(t::bigint) into v_tokens from jsonb_array_elements_text(p_filter -> 'any') as t;
    return format('coalesce(%I.filter_tokens && %L::bigint[], false)', p_alias, v_tokens);
  elsif (p_filter ? 'all' or p_filter ? 'either')
        and jsonb_typeof(coalesce(p_filter -> 'all', p_filter -> 'either')) = 'array'
        and jsonb_array_length(coalesce(p_filter -> 'all', p_filter -> 'either')) > 0 then
    select array_agg(memory.filter_predicate(f, p_alias, p_depth + 1))
      into v_parts
      from jsonb_array_elements(coalesce(p_filter -> 'all', p_filter -> 'either')) as f;
    return '(' || array_to_string(v_parts, case when p_filter ? 'all' then ' and ' else ' or ' end) || ')';
  elsif p_filter ? 'not' then
    return 'not ' || memory.filter_predicate(p_filter -> 'not', p_alias, p_depth + 1);
  elsif p_filter ->> 'time' in ('created_at', 'updated_at') then
    v_op := p_filter ->> 'op';
    if v_op is null or v_op not in ('>', '>=', '<', '<=') then
      raise exception 'filter: time operator must be >, >=, < or <=' using errcode = 'MV002';
    end if;
    return format('%I.%I %s %L::timestamptz', p_alias, p_filter ->> 'time', v_op, (p_filter ->> 'at')::timestamptz);
  end if;
  raise exception 'filter: unknown node' using errcode = 'MV002';
end;
$$;

-- The tenant's active data key and up to p_limit of its chunks whose tokens were not keyed under
-- it (written before filters existed or without tokens, corrected by an update, or keyed before
-- `reseal --tenant` replaced the key), with their sealed metadata, for the daemon to key
-- (memory.store_filter_tokens) before it filters. Every row carries the key id; with no backlog
-- there is one row (key_id, null, null); a tenant without a data key has no chunks and no row.
-- Each probe is a range of memory_chunks_filter_key_idx, so a tenant without backlog costs three
-- index probes.
create or replace function memory.filter_backlog(p_user_hash text, p_limit integer)
returns table (key_id integer, id uuid, meta_cipher bytea)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_key integer;
begin
  perform memory.set_tenant(p_user_hash);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  select k.dek_id into v_key from memory.tenant_keys k where k.user_hash = p_user_hash and k.active;
  if v_key is null then
    return;
  end if;
  return query
    select v_key, b.id, b.meta_cipher from (
      (select c.id, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id is null limit p_limit)
      union all
      (select c.id, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id < v_key limit p_limit)
      union all
      (select c.id, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id > v_key limit p_limit)
      limit p_limit) b;
  if not found then
    return query select v_key, null::uuid, null::bytea;
  end if;
end;
$$;

-- Stores the filter tokens of some of the tenant's chunks: chunk p_ids[p_chunks[j]] (1-based) has
-- token p_tokens[j]; a chunk listed in p_ids with no token gets an empty set (its metadata has no
-- scalar field). Keyed under data key p_key_id, which must be the tenant's active key (MV010, as
-- for writes). Neither the version nor updated_at moves: the content did not change. Returns how
-- many chunks were updated (one deleted meanwhile is skipped).
create or replace function memory.store_filter_tokens(
  p_user_hash text,
  p_ids uuid[],
  p_chunks integer[],
  p_tokens bigint[],
  p_key_id integer
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_updated integer;
begin
  perform memory.set_tenant(p_user_hash);
  if p_ids is null or cardinality(p_ids) not between 1 and 1000 or array_position(p_ids, null) is not null then
    raise exception 'ids: 1 to 1000, none null' using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_chunks), -1) <> coalesce(cardinality(p_tokens), -2) then
    raise exception 'filter token arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_chunks, p_tokens) as u(chunk, token)
             where u.chunk is null or u.chunk not between 1 and cardinality(p_ids) or u.token is null) then
    raise exception 'filter tokens: chunk 1..n and a token each' using errcode = 'MV002';
  end if;
  if p_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;
  update memory.memory_chunks c
     set filter_tokens = coalesce(t.tokens, '{}'), filter_key_id = p_key_id
    from generate_subscripts(p_ids, 1) as i
    left join (select u.chunk, array_agg(distinct u.token order by u.token) as tokens
                 from unnest(p_chunks, p_tokens) as u(chunk, token) group by u.chunk) t on t.chunk = i
   where c.user_hash = p_user_hash and c.id = p_ids[i];
  get diagnostics v_updated = row_count;
  return v_updated;
end;
$$;
--! EndIncluded functions/filter.sql
--! Included functions/filtered.sql
-- Listing and the first stages (memory.search_candidates for dense and hybrid, BM25 for lexical) with a filter over sealed metadata
-- and timestamps (p_filter: a compiled filter, see memory.filter_predicate), and with each hit's
-- created_at / updated_at. Separate functions rather than new parameters: the unfiltered ones keep
-- their signatures (the logic-only rollback re-applies an older release's files over them). All
-- are planned per call (EXECUTE) with the filter's tokens as literals, so a selective filter can
-- use memory_chunks_filter_tokens_idx.

create or replace function memory.list_chunks_filtered(
  p_user_hash text,
  p_limit integer,
  p_doc_id text,
  p_source text,
  p_before_us bigint,
  p_before_id uuid,
  p_filter jsonb
)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  key_id integer,
  created_at timestamptz,
  updated_at timestamptz,
  version bigint,
  created_us bigint
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.set_tenant(p_user_hash);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if (p_before_us is null) <> (p_before_id is null) then
    raise exception 'a cursor needs both created_at and id' using errcode = 'MV002';
  end if;
  return query execute
    'select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, c.created_at, c.updated_at, c.version,'
    || ' (extract(epoch from c.created_at) * 1000000)::bigint'
    || ' from memory.memory_chunks c'
    || ' where c.user_hash = $1'
    || case when p_doc_id is not null then ' and c.doc_id = $2' else '' end
    || case when p_source is not null then ' and c.source = $3' else '' end
    || case when p_before_us is not null
         then ' and (c.created_at, c.id) < (timestamptz ''epoch'' + $4 * interval ''1 microsecond'', $5)' else '' end
    || ' and ' || memory.filter_predicate(p_filter, 'c')
    || ' order by c.created_at desc, c.id desc limit $6'
    using p_user_hash, p_doc_id, p_source, p_before_us, p_before_id, p_limit;
end;
$$;

-- The dense query (memory.dense_search_sql) with a filter added to the tenant condition, so
-- pgvector's iterative scans keep walking the HNSW graph until `limit` rows pass the filter
-- (bounded by pgvector's hnsw.max_scan_tuples), and the exact shape reads only matching rows. In the
-- narrow layout the filter is checked on each candidate's wide row (as doc_id and source are).
-- Null: unchanged.
create or replace function memory.dense_search_sql_filtered(
  p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean, p_filter jsonb)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sql text := memory.dense_search_sql(p_has_doc_id, p_has_source, p_exact, p_narrow);
  v_filtered text;
begin
  if p_filter is null then
    return v_sql;
  end if;
  v_filtered := replace(v_sql, ' where v.user_hash = $1', ' where v.user_hash = $1 and ' ||
    case when p_narrow
      then 'exists (select from memory.memory_chunks ff where ff.user_hash = $1 and ff.id = v.id and '
           || memory.filter_predicate(p_filter, 'ff') || ')'
      else memory.filter_predicate(p_filter, 'v') end);
  -- Never run the query without the filter: if the query text changed shape, fail loudly.
  if v_filtered = v_sql then
    raise exception 'dense_search_sql_filtered: the search query has no tenant condition to extend' using errcode = 'XX000';
  end if;
  return v_filtered;
end;
$$;

-- The BM25 query (memory.search_lexical_sql) with the filter applied to the scored chunks before
-- the cut to `limit` (as doc_id and source are). Null: unchanged.
create or replace function memory.search_lexical_sql_filtered(p_has_doc_id boolean, p_has_source boolean, p_filter jsonb)
returns text
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sql text := memory.search_lexical_sql(p_has_doc_id, p_has_source);
  v_filtered text;
begin
  if p_filter is null then
    return v_sql;
  end if;
  v_filtered := replace(v_sql, ' from scored s',
    ' from scored s join memory.memory_chunks ff on ff.user_hash = $1 and ff.id = s.chunk_id and '
    || memory.filter_predicate(p_filter, 'ff'));
  if v_filtered = v_sql then
    raise exception 'search_lexical_sql_filtered: the BM25 query has no scored chunks to filter' using errcode = 'XX000';
  end if;
  return v_filtered;
end;
$$;

-- memory.search_lexical with each hit's created_at and updated_at and an optional filter (null:
-- none). The same checks and the same query text, so the plan doctor verifies is the one run.
create or replace function memory.search_lexical_chunks(
  p_user_hash text,
  p_tokens bigint[],
  p_limit integer,
  p_doc_id text,
  p_source text,
  p_term_key_id integer,
  p_filter jsonb
)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  key_id integer,
  score double precision,
  created_at timestamptz,
  updated_at timestamptz
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_params record := memory.bm25_parameters();
begin
  perform memory.set_tenant(p_user_hash);
  if p_tokens is null or cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
    raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
  end if;
  if p_term_key_id is null or not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
    raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
  end if;
  return query execute
    'select l.id, l.doc_id, l.source, l.text_cipher, l.meta_cipher, l.key_id, l.score, c.created_at, c.updated_at from ('
    || memory.search_lexical_sql_filtered(p_doc_id is not null, p_source is not null, p_filter)
    || ') l join memory.memory_chunks c on c.user_hash = $1 and c.id = l.id order by l.score desc, l.id'
    using p_user_hash, p_tokens, p_limit, p_doc_id, p_source, v_params.k1, v_params.b;
end;
$$;

-- memory.search_candidates (the daemon's dense and hybrid first stage) with each row's created_at
-- and updated_at and an optional filter applied to both sides (null: none). Same checks, same
-- query texts; rows unordered, as memory.search_candidates's.
create or replace function memory.search_candidates_chunks(
  p_user_hash text,
  p_query public.vector,
  p_dense_limit integer,
  p_tokens bigint[],
  p_lexical_limit integer,
  p_doc_id text,
  p_source text,
  p_term_key_id integer,
  p_filter jsonb
)
returns table (
  side text,
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  emb_cipher bytea,
  key_id integer,
  score double precision,
  created_at timestamptz,
  updated_at timestamptz
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_narrow boolean;
  v_params record;
begin
  perform memory.set_tenant(p_user_hash);
  perform memory.assert_search_arguments(p_query, p_dense_limit);
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    if p_lexical_limit is null or p_lexical_limit < 1 or p_lexical_limit > 1000 then
      raise exception 'limit must be between 1 and 1000' using errcode = 'MV007';
    end if;
    if cardinality(p_tokens) > 1024 or array_position(p_tokens, null) is not null then
      raise exception 'tokens: 0 to 1024 tokens, none null' using errcode = 'MV002';
    end if;
    if p_term_key_id is null or not exists (
         select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_term_key_id and k.active) then
      raise exception 'term key % is not the tenant''s active data key', p_term_key_id using errcode = 'MV010';
    end if;
  end if;
  perform memory.apply_ann_settings();
  v_narrow := memory.search_layout() = 'vectors';
  if v_narrow then
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' c.created_at, c.updated_at from ('
      || memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, memory.search_is_exact(p_user_hash), true, p_filter)
      || ') d join memory.memory_chunks c on c.user_hash = $1 and c.id = d.id'
      using p_user_hash, p_query::public.halfvec, p_dense_limit, p_doc_id, p_source;
  else
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' c.created_at, c.updated_at from ('
      || memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, memory.search_is_exact(p_user_hash), false, p_filter)
      || ') d join memory.memory_chunks c on c.user_hash = $1 and c.id = d.id'
      using p_user_hash, p_query, p_dense_limit, p_doc_id, p_source;
  end if;
  if p_tokens is not null and cardinality(p_tokens) > 0 then
    v_params := memory.bm25_parameters();
    return query execute
      'select ''lexical''::text, l.id, l.doc_id, l.source, l.text_cipher, l.meta_cipher, null::bytea, l.key_id, l.score,'
      || ' c.created_at, c.updated_at from ('
      || memory.search_lexical_sql_filtered(p_doc_id is not null, p_source is not null, p_filter)
      || ') l join memory.memory_chunks c on c.user_hash = $1 and c.id = l.id'
      using p_user_hash, p_tokens, p_lexical_limit, p_doc_id, p_source, v_params.k1, v_params.b;
  end if;
end;
$$;
--! EndIncluded functions/filtered.sql
--! Included functions/delete_chunk.sql
-- Deletes one chunk of the tenant; with p_expected_version, only if the row is still at that
-- version. Statuses as memory.update_chunk: 'deleted', 'not_found', 'version_mismatch' (with the
-- current version).
create or replace function memory.delete_chunk(p_user_hash text, p_id uuid, p_expected_version bigint default null)
returns table (status text, version bigint)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_version bigint;
begin
  perform memory.set_tenant(p_user_hash);
  if p_id is null then
    raise exception 'id is required' using errcode = 'MV002';
  end if;
  delete from memory.memory_chunks c
   where c.user_hash = p_user_hash and c.id = p_id
     and (p_expected_version is null or c.version = p_expected_version)
  returning c.version into v_version;
  if found then
    perform memory.notify_event('chunk_deleted', p_user_hash, 1, array[p_id]);
    return query select 'deleted'::text, v_version;
    return;
  end if;
  return query
    select 'version_mismatch'::text, c.version from memory.memory_chunks c
    where c.user_hash = p_user_hash and c.id = p_id;
  if not found then
    return query select 'not_found'::text, null::bigint;
  end if;
end;
$$;
--! EndIncluded functions/delete_chunk.sql
--! Included functions/idempotency.sql
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
--! EndIncluded functions/idempotency.sql
--! Included functions/forget_tenant.sql
-- Forgets a tenant entirely: destroys its data keys first (crypto-shredding: any copy of its blobs
-- that survives elsewhere can no longer be opened), then deletes all its chunks, in one transaction.
-- Returns how many chunks were deleted. The tenant's lock is taken exclusively (memory.enter_tenant):
-- writes in flight for the tenant commit first and are deleted here too; later ones find no key.
-- Its idempotency keys go too (their records name the chunk ids it wrote).
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
  delete from memory.idempotency_keys i where i.user_hash = p_user_hash;
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
