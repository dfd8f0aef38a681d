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
-- there is one row (key_id and nulls); a tenant without a data key has no chunks and no row.
-- Each probe is a range of memory_chunks_filter_key_idx, so a tenant without backlog costs three
-- index probes.
create or replace function memory.filter_backlog(p_user_hash text, p_limit integer)
returns table (key_id integer, id uuid, doc_id text, source text, meta_cipher bytea)
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
    -- doc_id and source: a version-3 blob's AAD binds them, so the daemon needs them to open it.
    select v_key, b.id, b.doc_id, b.source, b.meta_cipher from (
      (select c.id, c.doc_id, c.source, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id is null limit p_limit)
      union all
      (select c.id, c.doc_id, c.source, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id < v_key limit p_limit)
      union all
      (select c.id, c.doc_id, c.source, c.meta_cipher from memory.memory_chunks c
        where c.user_hash = p_user_hash and c.filter_key_id > v_key limit p_limit)
      limit p_limit) b;
  if not found then
    return query select v_key, null::uuid, null::text, null::text, null::bytea;
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
