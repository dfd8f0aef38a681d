-- Lexical search: BM25 over a tenant's keyed tokens (the daemon analyses and keys the query; the
-- database never sees a term). Okapi BM25 with Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5)),
-- k1 and b from the live settings bm25_k1 and bm25_b (defaults 1.2 and 0.75, Lucene's), N and
-- the average chunk length from memory.lexical_stats (kept by the lexical_chunks triggers), df
-- counted from the postings themselves. docs/RETRIEVAL.md explains the choices.

-- k1 and b, each as stored or its default.
create or replace function memory.bm25_parameters(out k1 double precision, out b double precision)
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce((select (s.value #>> '{}')::float8 from memory.settings s where s.key = 'bm25_k1'), 1.2),
         coalesce((select (s.value #>> '{}')::float8 from memory.settings s where s.key = 'bm25_b'), 0.75);
$$;

-- The text of the BM25 query, shared by memory.search_lexical and memory.explain_search_lexical so
-- that doctor shows the plan search runs. Parameters: $1 user_hash, $2 tokens (bigint[]), $3 limit,
-- $4 doc_id, $5 source, $6 k1, $7 b. Postings come from the (user_hash, token, chunk_id) primary
-- key, which carries tf and the chunk length too (INCLUDE), so they are read by index-only scans,
-- one range per query token; chunks are scored and cut to the limit before their ciphertexts are
-- fetched (with a filter, the filter is applied before the cut).
create or replace function memory.search_lexical_sql(p_has_doc_id boolean, p_has_source boolean)
returns text
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
  -- Per-row work is kept to multiply-adds: idf is computed once per token (from the token's
  -- posting count), and BM25's length normalisation k1 * (1 - b + b * len / avgdl) is c0 + c1 * len.
  select 'with stats as ('
    || ' select s.chunks::float8 as n, $6 * (1 - $7) as c0,'
    || ' $6 * $7 / greatest(s.total_length::float8 / greatest(s.chunks, 1), 1e-9) as c1'
    || ' from memory.lexical_stats s where s.user_hash = $1),'
    || ' terms as (select distinct t.token from unnest($2::bigint[]) as t(token)),'
    || ' postings as materialized ('
    || ' select p.token, p.chunk_id, p.tf, p.chunk_length'
    || ' from terms q join memory.lexical_postings p on p.user_hash = $1 and p.token = q.token),'
    || ' idf as ('
    || ' select p.token, ln(1 + (st.n - count(*) + 0.5) / (count(*) + 0.5)) * ($6 + 1) as w'
    || ' from postings p cross join stats st group by p.token, st.n),'
    || ' scored as ('
    || ' select p.chunk_id, sum(i.w * p.tf / (p.tf + st.c0 + st.c1 * p.chunk_length)) as score'
    || ' from postings p join idf i on i.token = p.token cross join stats st group by p.chunk_id),'
    || ' best as materialized ('
    || case when p_has_doc_id or p_has_source then
         ' select s.chunk_id, s.score from scored s'
         || ' join memory.memory_chunks f on f.user_hash = $1 and f.id = s.chunk_id'
         || case when p_has_doc_id then ' and f.doc_id = $4' else '' end
         || case when p_has_source then ' and f.source = $5' else '' end
       else ' select s.chunk_id, s.score from scored s' end
    || ' order by s.score desc, s.chunk_id limit $3)'
    || ' select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.key_id, b.score::float8'
    || ' from best b join memory.memory_chunks c on c.user_hash = $1 and c.id = b.chunk_id'
    || ' order by b.score desc, b.chunk_id';
$$;

-- Top-N chunks of one tenant by BM25 over p_tokens (the query's keyed tokens), optionally filtered
-- by doc_id and source. Returns ciphertexts and the BM25 score; chunks matching no token are absent.
-- p_term_key_id names the data key the tokens were keyed under: when it is not the tenant's active
-- key (replaced by `reseal --tenant` since the daemon cached it) the tokens would silently match
-- nothing, so MV010 tells the daemon to re-read the tenant's keys, as writes do.
create or replace function memory.search_lexical(
  p_user_hash text,
  p_tokens bigint[],
  p_limit integer,
  p_doc_id text,
  p_source text,
  p_term_key_id integer
)
returns table (
  id uuid,
  doc_id text,
  source text,
  text_cipher bytea,
  meta_cipher bytea,
  key_id integer,
  score double precision
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
  return query execute memory.search_lexical_sql(p_doc_id is not null, p_source is not null)
    using p_user_hash, p_tokens, p_limit, p_doc_id, p_source, v_params.k1, v_params.b;
end;
$$;

-- EXPLAIN (FORMAT JSON) of exactly the query memory.search_lexical runs, for `memvault doctor
-- --plans`; with p_analyze the query runs inside the tenant's RLS context (no row data returned).
create or replace function memory.explain_search_lexical(
  p_user_hash text,
  p_tokens bigint[],
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
  v_params record := memory.bm25_parameters();
  v_plan json;
begin
  perform memory.set_tenant(p_user_hash);
  execute 'explain (format json, analyze ' || case when p_analyze then 'true' else 'false' end || ') ' || memory.search_lexical_sql(false, false)
    into v_plan
    using p_user_hash, p_tokens, p_limit, null::text, null::text, v_params.k1, v_params.b;
  return v_plan;
end;
$$;
