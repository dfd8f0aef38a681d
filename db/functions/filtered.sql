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
  v_exact boolean;
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
  v_exact := memory.search_is_exact(p_user_hash);
  -- The ANN tuning matters to the HNSW shape only.
  if not v_exact then
    perform memory.apply_ann_settings();
  end if;
  v_narrow := memory.search_layout() = 'vectors';
  if v_narrow then
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' d.created_at, d.updated_at from ('
      || memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, true, p_filter)
      || ') d'
      using p_user_hash, p_query::public.halfvec, p_dense_limit, p_doc_id, p_source;
  else
    return query execute
      'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' d.created_at, d.updated_at from ('
      || memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, false, p_filter)
      || ') d'
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
