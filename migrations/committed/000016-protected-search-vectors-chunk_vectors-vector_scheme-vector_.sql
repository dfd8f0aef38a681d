--! Previous: sha1:39a01f96a244cfcb1f547ee018cc48a687816e69
--! Hash: sha1:5fde9c0232778fe17d9e31bafb46326345c81a06
--! Message: Protected search vectors: chunk_vectors.vector_scheme / vector_key_id (clear 0/0, protected 1/data key), memory_chunks.embedding nullable and left null for protected chunks; index_chunks / update_chunk / search_candidates_chunks overloads taking the vector scheme and one query per (scheme, key); reindex claims stale vectors; vector_protection counts; setting vector_noise (issue 13)

-- Protected search vectors (issue 13, docs/CRYPTO.md "Protected vectors"). Each search vector in
-- memory.chunk_vectors records what it is: vector_scheme 0 (vector_key_id 0) the embedding in
-- clear; 1 protected by the vector key of the tenant's data key vector_key_id (keyed rotation,
-- scale and perturb; src/crypto/vector-key.ts). Every row written before this migration is clear
-- (the defaults); `memvault reindex vectors` protects them. A protected chunk keeps no clear copy:
-- memory_chunks.embedding becomes nullable and is null for it (the column and its HNSW index go in
-- a later, contract migration, once no supported release reads them).
alter table memory.chunk_vectors
  add column if not exists vector_scheme smallint not null default 0,
  add column if not exists vector_key_id integer not null default 0;
alter table memory.chunk_vectors drop constraint if exists chunk_vectors_vector_scheme;
alter table memory.chunk_vectors add constraint chunk_vectors_vector_scheme
  check ((vector_scheme = 0 and vector_key_id = 0) or (vector_scheme = 1 and vector_key_id > 0));
comment on column memory.chunk_vectors.vector_scheme is '0: the embedding in clear; 1: protected under the vector key of data key vector_key_id (HKDF label memvault/vector-key/v1)';
comment on column memory.chunk_vectors.vector_key_id is 'the tenant data key whose vector key protects this vector; 0 when clear';
-- Which (scheme, key) pairs a tenant's vectors are under (a loose index scan per query) and which
-- rows `memvault reindex vectors` still has to rewrite.
create index if not exists chunk_vectors_scheme_idx on memory.chunk_vectors (user_hash, vector_scheme, vector_key_id);
alter table memory.memory_chunks alter column embedding drop not null;
comment on table memory.memory_chunks is 'One sealed memory chunk per row. text/meta/emb ciphers are AES-256-GCM envelopes bound to (tenant, row, column); embedding is a clear copy kept only for chunks whose search vector is clear (null once protected).';

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
    when 'vector_noise' then
      if jsonb_typeof(p_value) <> 'number' or p_value::float8 < 0 or p_value::float8 > 1 then
        raise exception 'vector_noise must be a number from 0 to 1' using errcode = 'MV006';
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
--! Included functions/index_chunks.sql
-- Stores a batch of sealed chunks for one tenant in one statement (all or nothing). The arrays are
-- parallel: element i of each describes chunk i. Ciphertexts are opaque here; p_embeddings are the
-- chunks' search vectors (src/crypto/search-vector.ts makes them from the embeddings, the sealed
-- emb_cipher keeps the embedding itself), stored as halfvec in the narrow memory.chunk_vectors that
-- dense search reads. p_vector_scheme / p_vector_key_id say what they are (issue 13, docs/CRYPTO.md
-- "Protected vectors"): 0 / 0, the embeddings in clear, also kept as vector in
-- memory_chunks.embedding, which the 'chunks' search layout and the previous release's logic read
-- until a later (contract) migration drops it; 1 / the sealing data key's id, protected by that
-- key's vector key, and memory_chunks.embedding is left null (no clear copy anywhere).
-- p_key_scheme/p_key_id say what sealed the blobs: 1 = a key-ring key (legacy), 2 = the tenant's
-- data key; rotation and retire checks read them. A legacy store under a retired key-ring key is
-- refused (MV011), as every other store under a KEK is.
--
-- The lexical index of the batch comes in the same call (all or nothing with the chunks):
-- p_lex_lengths[i] is chunk i's length in terms, and posting j says chunk p_lex_chunks[j] (1-based)
-- holds token p_lex_tokens[j] p_lex_tfs[j] times. Tokens are keyed under the term key of data key
-- p_term_key_id (the tenant's active one) by analyzer p_analyzer_version; the lexical_chunks
-- triggers write the postings and the tenant's counts. p_lex_lengths null: not indexed (yet).
create or replace function memory.index_chunks(
  p_user_hash text,
  p_ids uuid[],
  p_doc_ids text[],
  p_sources text[],
  p_text_ciphers bytea[],
  p_meta_ciphers bytea[],
  p_emb_ciphers bytea[],
  p_embeddings public.vector[],
  p_key_id integer,
  p_key_scheme smallint,
  p_lex_lengths integer[],
  p_lex_chunks integer[],
  p_lex_tokens bigint[],
  p_lex_tfs integer[],
  p_term_key_id integer,
  p_analyzer_version smallint,
  p_vector_scheme smallint,
  p_vector_key_id integer
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
  -- The search vectors are clear (0) or protected under the vector key of the data key that seals
  -- the batch (1): a vector key is derived from the tenant's active data key, checked below.
  if p_vector_scheme is null or p_vector_key_id is null
     or not ((p_vector_scheme = 0 and p_vector_key_id = 0)
             or (p_vector_scheme = 1 and p_key_scheme = 2 and p_vector_key_id = p_key_id)) then
    raise exception 'vector_scheme 0 with vector_key_id 0, or 1 with the sealing data key''s id' using errcode = 'MV002';
  end if;
  if p_key_id is null or p_key_scheme is null or p_key_scheme not in (1, 2) then
    raise exception 'key_id and key_scheme (1 or 2) are required' using errcode = 'MV002';
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
  -- A writer holding a cached DEK that was destroyed meanwhile (tenant forgotten, key replaced
  -- elsewhere) must not seal rows nobody could open: refuse, and it re-reads the tenant's keys.
  if p_key_scheme = 2 and not exists (
       select from memory.tenant_keys k where k.user_hash = p_user_hash and k.dek_id = p_key_id and k.active) then
    raise exception 'data key % is not the tenant''s active key', p_key_id using errcode = 'MV010';
  end if;
  -- Takes the key's shared retirement lock until commit, so retire_kek cannot count this key's
  -- legacy chunks between this check and the insert (db/functions/key_retirement.sql).
  if p_key_scheme = 1 then
    perform memory.assert_kek_usable(p_key_id);
  end if;
  if p_lex_lengths is not null then
    perform memory.assert_lexical_batch(p_user_hash, v_count, p_lex_lengths, p_lex_chunks, p_lex_tokens, p_lex_tfs, p_term_key_id, p_analyzer_version);
  end if;
  if exists (select from unnest(p_embeddings) e where e is null or public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every embedding must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;

  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme)
  select p_user_hash, u.id, u.doc_id, u.source, u.text_cipher, u.meta_cipher, u.emb_cipher,
         -- A protected batch keeps no clear copy: the exact embedding is in emb_cipher only.
         case when p_vector_scheme = 0 then u.embedding end, p_key_id, p_key_scheme
  from unnest(p_ids, p_doc_ids, p_sources, p_text_ciphers, p_meta_ciphers, p_emb_ciphers, p_embeddings)
    as u(id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding);
  get diagnostics v_inserted = row_count;
  insert into memory.chunk_vectors (user_hash, id, embedding, vector_scheme, vector_key_id)
  select p_user_hash, u.id, u.embedding::public.halfvec, p_vector_scheme, p_vector_key_id
  from unnest(p_ids, p_embeddings) as u(id, embedding);
  if p_lex_lengths is not null then
    insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
    select p_user_hash, p_ids[i], p_lex_lengths[i], coalesce(t.tokens, '{}'), coalesce(t.tfs, '{}'), p_term_key_id, p_analyzer_version
    from generate_subscripts(p_ids, 1) as i
    left join memory.lexical_postings_by_chunk(p_lex_chunks, p_lex_tokens, p_lex_tfs) t on t.chunk = i;
  end if;
  return v_inserted;
end;
$$;

-- The previous signature (no vector scheme): clear search vectors, as the release before protected
-- vectors wrote them. Kept so that a daemon of that release, during a rolling deploy, still writes
-- (its rows are clear and `memvault reindex vectors` protects them); the daemon of this release
-- calls the overload above with all eighteen arguments, which no shorter call can resolve to.
create or replace function memory.index_chunks(
  p_user_hash text,
  p_ids uuid[],
  p_doc_ids text[],
  p_sources text[],
  p_text_ciphers bytea[],
  p_meta_ciphers bytea[],
  p_emb_ciphers bytea[],
  p_embeddings public.vector[],
  p_key_id integer,
  p_key_scheme smallint,
  p_lex_lengths integer[] default null,
  p_lex_chunks integer[] default null,
  p_lex_tokens bigint[] default null,
  p_lex_tfs integer[] default null,
  p_term_key_id integer default null,
  p_analyzer_version smallint default null
)
returns integer
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select memory.index_chunks(p_user_hash, p_ids, p_doc_ids, p_sources, p_text_ciphers, p_meta_ciphers,
    p_emb_ciphers, p_embeddings, p_key_id, p_key_scheme, p_lex_lengths, p_lex_chunks, p_lex_tokens,
    p_lex_tfs, p_term_key_id, p_analyzer_version, 0::smallint, 0);
$$;
--! EndIncluded functions/index_chunks.sql
--! Included functions/update_chunk.sql
-- Replaces one chunk's sealed text, metadata and embedding (re-sealed and, when the text changed,
-- re-embedded by the daemon; p_embedding is its search vector, src/crypto/search-vector.ts, stored as
-- halfvec in memory.chunk_vectors with p_vector_scheme / p_vector_key_id as memory.index_chunks
-- takes them, and in memory_chunks.embedding only when clear) in one statement, if the row is still at p_expected_version: a writer
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
  p_analyzer_version smallint,
  p_vector_scheme smallint,
  p_vector_key_id integer
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
  if p_vector_scheme is null or p_vector_key_id is null
     or not ((p_vector_scheme = 0 and p_vector_key_id = 0) or (p_vector_scheme = 1 and p_vector_key_id = p_key_id)) then
    raise exception 'vector_scheme 0 with vector_key_id 0, or 1 with the sealing data key''s id' using errcode = 'MV002';
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
         embedding = case when p_vector_scheme = 0 then p_embedding end, key_id = p_key_id, key_scheme = p_key_scheme, version = c.version + 1,
         -- The metadata may have changed: its filter tokens are keyed again before the next
         -- filtered read (memory.filter_backlog).
         filter_tokens = null, filter_key_id = null
   where c.user_hash = p_user_hash and c.id = p_id and c.version = p_expected_version
  returning c.doc_id, c.source, c.created_at, c.updated_at, c.version into v_row;
  if found then
    -- The narrow search layout's copy of the search vector follows (upsert: a chunk the vector
    -- backfill has not reached yet gets its row now).
    insert into memory.chunk_vectors as v (user_hash, id, embedding, vector_scheme, vector_key_id)
    values (p_user_hash, p_id, p_embedding::public.halfvec, p_vector_scheme, p_vector_key_id)
    on conflict (user_hash, id) do update
      set embedding = excluded.embedding, vector_scheme = excluded.vector_scheme, vector_key_id = excluded.vector_key_id;
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

-- The previous signature (no vector scheme): a clear search vector, for a daemon of the release
-- before protected vectors during a rolling deploy (`memvault reindex vectors` protects the row).
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
language sql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
  select * from memory.update_chunk(p_user_hash, p_id, p_expected_version, p_text_cipher, p_meta_cipher,
    p_emb_cipher, p_embedding, p_key_id, p_key_scheme, p_text_changed, p_lex_length, p_lex_tokens, p_lex_tfs,
    p_term_key_id, p_analyzer_version, 0::smallint, 0);
$$;
--! EndIncluded functions/update_chunk.sql
--! Included functions/rehash.sql
-- HMAC key rotation moves a tenant from its old user_hash to its new one. The daemon-side job opens
-- every blob with the old AAD and re-seals it with the new one; these procedures lock and move the
-- rows. One transaction per tenant makes the move atomic; a crash leaves the tenant wholly old.

-- The tenant's chunks after a keyset cursor, locked until the transaction ends. doc_id and source
-- too: a version-3 blob's AAD binds them.
create or replace function memory.rehash_read_chunks(p_old_hash text, p_limit integer, p_after_id uuid default null)
returns table (
  id uuid, doc_id text, source text, text_cipher bytea, meta_cipher bytea, emb_cipher bytea, key_scheme smallint,
  key_id integer
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select c.id, c.doc_id, c.source, c.text_cipher, c.meta_cipher, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where c.user_hash = p_old_hash
      and c.id > coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid)
    order by c.id
    limit p_limit
    for update;
end;
$$;

-- The key id in a sealed blob's envelope header: bytes 2-5, a big-endian uint32 (src/crypto/envelope.ts).
create or replace function memory.envelope_key_id(p_blob bytea)
returns integer
language sql
immutable
strict
set search_path = pg_catalog, pg_temp
as $$
  select ((get_byte(p_blob, 1)::bigint << 24) | (get_byte(p_blob, 2) << 16) | (get_byte(p_blob, 3) << 8)
          | get_byte(p_blob, 4))::integer;
$$;

-- Copies rows to the new hash with their re-sealed blobs and deletes the old rows. key_scheme and
-- key_id are taken from the new blobs' envelope header (version byte, then the uint32 key id), not
-- from the old row: the job may seal a legacy blob under another key-ring key than the one it was
-- under, and key_usage / retire_kek trust these columns to say which key each blob needs. A header
-- that lies only makes its blob unopenable (the header is authenticated), never a wrong count.
create or replace function memory.rehash_move_chunks(
  p_old_hash text, p_new_hash text, p_ids uuid[], p_text_ciphers bytea[], p_meta_ciphers bytea[], p_emb_ciphers bytea[]
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_n integer;
  v_kek_id integer;
begin
  perform memory.begin_maintenance();
  if p_new_hash !~ '^[0-9a-f]{64}$' or p_old_hash = p_new_hash then
    raise exception 'new user_hash must be 64 lowercase hex characters and differ from the old' using errcode = 'MV001';
  end if;
  if exists (select from unnest(p_text_ciphers, p_meta_ciphers, p_emb_ciphers) as u(text_cipher, meta_cipher, emb_cipher)
             where octet_length(u.text_cipher) < 5 or get_byte(u.text_cipher, 0) not in (1, 2, 3)
                or substring(u.meta_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)
                or substring(u.emb_cipher from 1 for 5) is distinct from substring(u.text_cipher from 1 for 5)) then
    raise exception 'the three blobs of a chunk must carry one envelope header (version 1, 2 or 3, one key id)'
      using errcode = 'MV002';
  end if;
  for v_kek_id in
    select distinct memory.envelope_key_id(t) from unnest(p_text_ciphers) t where get_byte(t, 0) = 1
  loop
    perform memory.assert_kek_usable(v_kek_id);
  end loop;
  insert into memory.memory_chunks
    (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id, key_scheme, created_at)
  select p_new_hash, c.id, c.doc_id, c.source, u.text_cipher, u.meta_cipher, u.emb_cipher, c.embedding,
         -- Envelope versions 2 and 3 are both the data-key scheme (3 also binds doc_id and source).
         memory.envelope_key_id(u.text_cipher), least(get_byte(u.text_cipher, 0), 2)::smallint, c.created_at
  from unnest(p_ids, p_text_ciphers, p_meta_ciphers, p_emb_ciphers) as u(id, text_cipher, meta_cipher, emb_cipher)
  join memory.memory_chunks c on c.user_hash = p_old_hash and c.id = u.id;
  get diagnostics v_n = row_count;
  -- The lexical index moves with its chunks: its tokens are keyed under the tenant's data key,
  -- which keeps its id and material across a rehash (only its wrapping changes). Deleting the old
  -- chunks below cascades to their old index rows.
  insert into memory.lexical_chunks (user_hash, chunk_id, length, tokens, tfs, term_key_id, analyzer_version)
  select p_new_hash, l.chunk_id, l.length, l.tokens, l.tfs, l.term_key_id, l.analyzer_version
  from memory.lexical_chunks l
  join memory.memory_chunks c on c.user_hash = p_new_hash and c.id = l.chunk_id
  where l.user_hash = p_old_hash and l.chunk_id = any (p_ids);
  -- The search vectors move too (the chunk keeps its id; the old rows go with the cascade below),
  -- with their scheme: a protected vector stays valid, its vector key comes from the data key,
  -- which keeps its id and material across a rehash, and its noise from the chunk id.
  insert into memory.chunk_vectors (user_hash, id, embedding, vector_scheme, vector_key_id)
  select p_new_hash, v.id, v.embedding, v.vector_scheme, v.vector_key_id
  from memory.chunk_vectors v
  join memory.memory_chunks c on c.user_hash = p_new_hash and c.id = v.id
  where v.user_hash = p_old_hash and v.id = any (p_ids);
  delete from memory.memory_chunks c where c.user_hash = p_old_hash and c.id = any (p_ids);
  return v_n;
end;
$$;

-- Moves the tenant's DEKs (re-wrapped for the new hash) and reports whether the old tenant is
-- now empty.
create or replace function memory.rehash_move_keys(p_old_hash text, p_new_hash text, p_dek_ids integer[], p_wrapped bytea[], p_kek_id integer)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_n integer;
begin
  perform memory.begin_maintenance();
  perform memory.assert_kek_usable(p_kek_id);
  insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id, active, created_at)
  select p_new_hash, k.dek_id, u.wrapped, p_kek_id, k.active, k.created_at
  from unnest(p_dek_ids, p_wrapped) as u(dek_id, wrapped)
  join memory.tenant_keys k on k.user_hash = p_old_hash and k.dek_id = u.dek_id;
  get diagnostics v_n = row_count;
  delete from memory.tenant_keys k where k.user_hash = p_old_hash;
  return v_n;
end;
$$;

-- How many chunks and keys a hash holds: lets the job skip tenants already moved and report
-- ids that match nothing.
create or replace function memory.rehash_tenant_state(p_user_hash text)
returns table (chunks bigint, keys bigint)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select (select count(*) from memory.memory_chunks c where c.user_hash = p_user_hash),
           (select count(*) from memory.tenant_keys k where k.user_hash = p_user_hash);
end;
$$;
--! EndIncluded functions/rehash.sql
--! Included functions/vector_backfill.sql
-- Filling the narrow search layout for chunks written before it, and protecting the search vectors
-- of chunks written before protected vectors (maintenance mode, memory_maintainer): `memvault
-- reindex vectors` claims chunks whose memory.chunk_vectors row is missing or stale, opens their
-- sealed embedding, makes the search vector the write path would make (src/crypto/search-vector.ts:
-- protected under the tenant's active data key) and stores it, emptying the wide row's clear copy; when no chunk is left without one, it switches dense
-- search to the narrow layout (memory.search_layout()). Until then search reads memory_chunks, so
-- queries are complete at every moment of the migration.

-- Chunks whose search vector is missing or stale (clear, or protected under a data key that is no
-- longer the tenant's active one; issue 13), oldest tenant/id first after the keyset cursor, locked
-- SKIP LOCKED so several workers share a pass and live writers are never waited on. A run that is
-- interrupted leaves the rest stale and the next run claims them: resumable and idempotent.
create or replace function memory.claim_vector_backfill(
  p_limit integer,
  p_user_hash text default null,
  p_after_hash text default '',
  p_after_id uuid default '00000000-0000-0000-0000-000000000000'
)
returns table (
  user_hash text, id uuid, doc_id text, source text, emb_cipher bytea, key_scheme smallint, key_id integer
)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    -- doc_id and source: a version-3 blob's AAD binds them.
    select c.user_hash, c.id, c.doc_id, c.source, c.emb_cipher, c.key_scheme, c.key_id
    from memory.memory_chunks c
    where (p_user_hash is null or c.user_hash = p_user_hash)
      and (c.user_hash, c.id) > (coalesce(p_after_hash, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
      and (
        -- A clear copy left in the wide row (written before protected vectors, or by the previous
        -- release's logic after a rollback).
        c.embedding is not null
        -- No search vector, a clear one, or one protected under a key that is not the tenant's
        -- active data key (`reseal --tenant` replaced it).
        or not exists (
          select from memory.chunk_vectors v
          join memory.tenant_keys k on k.user_hash = v.user_hash and k.dek_id = v.vector_key_id and k.active
          where v.user_hash = c.user_hash and v.id = c.id and v.vector_scheme = 1))
    order by c.user_hash, c.id
    limit p_limit
    for update of c skip locked;
end;
$$;

-- Stores search vectors for the given chunks (parallel arrays). Chunks deleted meanwhile, and
-- chunks that got their vector meanwhile, are skipped. Returns how many it stored.
create or replace function memory.store_search_vectors(
  p_user_hashes text[],
  p_ids uuid[],
  p_vectors public.vector[]
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_n integer;
begin
  perform memory.begin_maintenance();
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_vectors), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_vectors) as u(user_hash, id, vec)
             where u.user_hash is null or u.id is null or u.vec is null) then
    raise exception 'user_hashes, ids and vectors must be present' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_vectors) e where public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every vector must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;
  insert into memory.chunk_vectors (user_hash, id, embedding)
  select u.user_hash, u.id, u.vec::public.halfvec
  from unnest(p_user_hashes, p_ids, p_vectors) as u(user_hash, id, vec)
  join memory.memory_chunks c on c.user_hash = u.user_hash and c.id = u.id
  on conflict do nothing;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- Stores search vectors with their scheme (parallel arrays; issue 13): 0 / key 0 clear, 1 / the
-- tenant's active data key protected under its vector key. Replaces a chunk's stale vector and
-- sets the wide row's memory_chunks.embedding to match: null for a protected vector (no clear copy
-- left), the clear vector for a clear one. A protected vector under a key that is no longer the
-- tenant's active one (replaced since the batch was claimed) is skipped, and stays stale for the
-- next run, as are chunks deleted meanwhile. Returns how many it stored.
create or replace function memory.store_search_vectors(
  p_user_hashes text[],
  p_ids uuid[],
  p_vectors public.vector[],
  p_schemes smallint[],
  p_key_ids integer[]
)
returns integer
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count integer := coalesce(cardinality(p_ids), 0);
  v_n integer;
begin
  perform memory.begin_maintenance();
  if coalesce(cardinality(p_user_hashes), -1) <> v_count or coalesce(cardinality(p_vectors), -1) <> v_count
     or coalesce(cardinality(p_schemes), -1) <> v_count or coalesce(cardinality(p_key_ids), -1) <> v_count then
    raise exception 'batch arrays differ in length' using errcode = 'MV003';
  end if;
  if exists (select from unnest(p_user_hashes, p_ids, p_vectors, p_schemes, p_key_ids) as u(user_hash, id, vec, scheme, key_id)
             where u.user_hash is null or u.id is null or u.vec is null
                or not ((u.scheme = 0 and u.key_id = 0) or (u.scheme = 1 and u.key_id > 0))) then
    raise exception 'user_hashes, ids and vectors must be present; schemes 0 with key 0, or 1 with a data key id' using errcode = 'MV002';
  end if;
  if exists (select from unnest(p_vectors) e where public.vector_dims(e) <> memory.embedding_dim()) then
    raise exception 'every vector must have % dimensions', memory.embedding_dim() using errcode = 'MV008';
  end if;
  with batch as (
    select u.user_hash, u.id, u.vec, u.scheme, u.key_id
    from unnest(p_user_hashes, p_ids, p_vectors, p_schemes, p_key_ids) as u(user_hash, id, vec, scheme, key_id)
    where u.scheme = 0 or exists (
      select from memory.tenant_keys k where k.user_hash = u.user_hash and k.dek_id = u.key_id and k.active)
  ),
  wide as (
    update memory.memory_chunks c
       set embedding = case when b.scheme = 0 then b.vec end
      from batch b
     where c.user_hash = b.user_hash and c.id = b.id
    returning c.user_hash, c.id
  )
  insert into memory.chunk_vectors as v (user_hash, id, embedding, vector_scheme, vector_key_id)
  select b.user_hash, b.id, b.vec::public.halfvec, b.scheme, b.key_id
  from batch b
  join wide w on w.user_hash = b.user_hash and w.id = b.id
  on conflict (user_hash, id) do update
    set embedding = excluded.embedding, vector_scheme = excluded.vector_scheme, vector_key_id = excluded.vector_key_id;
  get diagnostics v_n = row_count;
  return v_n;
end;
$$;

-- What the stored search vectors are, across tenants, for doctor and `memvault reindex vectors`:
-- chunks; chunks with no search vector; with a clear one; with one protected under a data key
-- that is not the tenant's active one; and wide rows still holding a clear copy of the embedding
-- (memory_chunks.embedding). Counts only.
create or replace function memory.vector_protection()
returns table (chunks bigint, missing bigint, clear bigint, stale_key bigint, clear_copies bigint)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select count(*),
           count(*) filter (where v.id is null),
           count(*) filter (where v.vector_scheme = 0),
           count(*) filter (where v.vector_scheme = 1 and not exists (
             select from memory.tenant_keys k where k.user_hash = v.user_hash and k.dek_id = v.vector_key_id and k.active)),
           count(*) filter (where c.embedding is not null)
    from memory.memory_chunks c
    left join memory.chunk_vectors v on v.user_hash = c.user_hash and v.id = c.id;
end;
$$;

-- Coverage across tenants, for doctor and the job's progress: chunks, chunks without a search
-- vector, and the layout dense search reads. Counts only.
create or replace function memory.vector_coverage()
returns table (chunks bigint, missing bigint, layout text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform memory.begin_maintenance();
  return query
    select count(*),
           count(*) filter (where v.id is null),
           memory.search_layout()
    from memory.memory_chunks c
    left join memory.chunk_vectors v on v.user_hash = c.user_hash and v.id = c.id;
end;
$$;

-- Switches dense search to the narrow layout once every chunk has its search vector, and returns
-- the layout in force and how many chunks still miss one. The check and the switch are atomic
-- against writers: memory_chunks is locked in SHARE mode (writers wait, readers do not) for the
-- check, so no chunk can appear without its vector between the count and the switch. Writers have
-- written both layouts since migration 000011, so after the switch nothing can be missing.
create or replace function memory.finish_vector_backfill()
returns table (missing bigint, layout text)
language plpgsql
volatile
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_missing bigint;
begin
  perform memory.begin_maintenance();
  if memory.search_layout() <> 'vectors' then
    lock table memory.memory_chunks in share mode;
    select count(*) into v_missing
    from memory.memory_chunks c
    where not exists (select from memory.chunk_vectors v where v.user_hash = c.user_hash and v.id = c.id);
    if v_missing = 0 then
      insert into memory.settings (key, value) values ('search_layout', '"vectors"')
      on conflict (key) do update set value = excluded.value, updated_at = now();
    end if;
  else
    v_missing := 0;
  end if;
  return query select v_missing, memory.search_layout();
end;
$$;
--! EndIncluded functions/vector_backfill.sql
--! Included functions/search_candidates_keyed.sql
-- The daemon's dense and hybrid first stage over protected search vectors (issue 13, docs/CRYPTO.md
-- "Protected vectors"): memory.search_candidates_chunks with one query vector per vector scheme and
-- key instead of one. A stored search vector is clear (vector_scheme 0, vector_key_id 0) or
-- protected under the vector key of one of the tenant's data keys (1, its id); a query is compared
-- only with the vectors of its own (scheme, key), each of which gets up to p_dense_limit
-- candidates, and the daemon re-scores them all from the sealed float32 embeddings before the cut
-- (src/memory/rescore.ts), so a tenant whose vectors are being migrated (`memvault reindex
-- vectors`, `reseal --tenant`) is searched completely.
--
-- The daemon sends the query for the tenant's active data key. When the tenant also holds vectors
-- under a (scheme, key) it sent no query for, nothing is searched: one row per such pair comes
-- back with side 'vector_key', key_id = the key and score = the scheme, and the daemon calls again
-- with those queries added. Which pairs a tenant holds is read from chunk_vectors_scheme_idx by a
-- loose index scan: one index descent per pair, not a scan of the tenant. In the 'chunks' layout
-- (a database upgraded before the narrow layout was filled) clear vectors are searched in
-- memory_chunks.embedding, where every clear chunk has one, so a clear query is always wanted there.
create or replace function memory.search_candidates_chunks(
  p_user_hash text,
  p_queries public.vector[],
  p_query_schemes smallint[],
  p_query_key_ids integer[],
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
  v_n integer := coalesce(cardinality(p_queries), 0);
  v_narrow boolean;
  v_exact boolean;
  v_params record;
  v_missing boolean := false;
  v_schemes smallint[];
  v_keys integer[];
  v_i integer;
  v_sql text;
  v_dense text;
begin
  perform memory.set_tenant(p_user_hash);
  if v_n < 1 or v_n > 16 then
    raise exception 'queries: 1 to 16 query vectors' using errcode = 'MV002';
  end if;
  if coalesce(cardinality(p_query_schemes), -1) <> v_n or coalesce(cardinality(p_query_key_ids), -1) <> v_n then
    raise exception 'queries, schemes and key ids differ in length' using errcode = 'MV003';
  end if;
  for v_i in 1 .. v_n loop
    perform memory.assert_search_arguments(p_queries[v_i], p_dense_limit);
    if p_query_schemes[v_i] is null or p_query_key_ids[v_i] is null then
      raise exception 'every query needs its vector scheme and key id' using errcode = 'MV002';
    end if;
  end loop;
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
  v_narrow := memory.search_layout() = 'vectors';

  -- The (scheme, key) pairs the tenant's search vectors are under (one index descent each).
  with recursive pairs as (
    (select v.vector_scheme, v.vector_key_id from memory.chunk_vectors v
      where v.user_hash = p_user_hash order by v.vector_scheme, v.vector_key_id limit 1)
    union all
    select n.vector_scheme, n.vector_key_id
    from pairs pr cross join lateral (
      select v.vector_scheme, v.vector_key_id from memory.chunk_vectors v
      where v.user_hash = p_user_hash and (v.vector_scheme, v.vector_key_id) > (pr.vector_scheme, pr.vector_key_id)
      order by v.vector_scheme, v.vector_key_id limit 1) n
  ),
  held as (
    select pr.vector_scheme as scheme, pr.vector_key_id as key_id from pairs pr
    union
    select 0::smallint, 0 where not v_narrow
  )
  select coalesce(array_agg(h.scheme), '{}'), coalesce(array_agg(h.key_id), '{}')
    into v_schemes, v_keys
  from held h;

  -- Pairs held without a query: ask for them, search nothing yet.
  for v_i in 1 .. coalesce(cardinality(v_keys), 0) loop
    if not exists (select from generate_subscripts(p_queries, 1) q
                   where p_query_schemes[q] = v_schemes[v_i] and p_query_key_ids[q] = v_keys[v_i]) then
      v_missing := true;
      return query select 'vector_key'::text, null::uuid, null::text, null::text, null::bytea, null::bytea,
        null::bytea, v_keys[v_i], v_schemes[v_i]::float8, null::timestamptz, null::timestamptz;
    end if;
  end loop;
  if v_missing then
    return;
  end if;

  v_exact := memory.search_is_exact(p_user_hash);
  -- The ANN tuning matters to the HNSW shape only.
  if not v_exact then
    perform memory.apply_ann_settings();
  end if;
  for v_i in 1 .. v_n loop
    -- A query for a pair the tenant does not hold would find nothing: skip its scan.
    continue when not exists (select from generate_subscripts(v_keys, 1) h
                              where v_schemes[h] = p_query_schemes[v_i] and v_keys[h] = p_query_key_ids[v_i]);
    if p_query_schemes[v_i] = 0 and not v_narrow then
      -- 'chunks' layout: clear vectors are read from the wide rows that still hold one.
      v_sql := memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, false, p_filter);
      v_dense := replace(v_sql, ' where v.user_hash = $1', ' where v.user_hash = $1 and v.embedding is not null');
    else
      v_sql := memory.dense_search_sql_filtered(p_doc_id is not null, p_source is not null, v_exact, true, p_filter);
      v_dense := replace(v_sql, ' where v.user_hash = $1',
        ' where v.user_hash = $1 and v.vector_scheme = $6 and v.vector_key_id = $7');
    end if;
    -- Never search without the scheme condition: if the query text changed shape, fail loudly.
    if v_dense = v_sql then
      raise exception 'search_candidates_chunks: the search query has no tenant condition to extend' using errcode = 'XX000';
    end if;
    v_sql := 'select ''dense''::text, d.id, d.doc_id, d.source, d.text_cipher, d.meta_cipher, d.emb_cipher, d.key_id, 1 - d.distance,'
      || ' d.created_at, d.updated_at from (' || v_dense || ') d';
    if p_query_schemes[v_i] = 0 and not v_narrow then
      return query execute v_sql
        using p_user_hash, p_queries[v_i], p_dense_limit, p_doc_id, p_source, p_query_schemes[v_i], p_query_key_ids[v_i];
    else
      return query execute v_sql
        using p_user_hash, p_queries[v_i]::public.halfvec, p_dense_limit, p_doc_id, p_source, p_query_schemes[v_i], p_query_key_ids[v_i];
    end if;
  end loop;
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
--! EndIncluded functions/search_candidates_keyed.sql
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
  memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint, integer[], integer[], bigint[], integer[], integer, smallint, smallint, integer),
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
  memory.search_candidates_chunks(text, public.vector[], smallint[], integer[], integer, bigint[], integer, text, text, integer, jsonb),
  memory.filter_backlog(text, integer),
  memory.store_filter_tokens(text, uuid[], integer[], bigint[], integer),
  memory.update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint),
  memory.update_chunk(text, uuid, bigint, bytea, bytea, bytea, public.vector, integer, smallint, boolean, integer, bigint[], integer[], integer, smallint, smallint, integer),
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
  memory.store_search_vectors(text[], uuid[], public.vector[], smallint[], integer[]),
  memory.vector_protection(),
  memory.vector_coverage(),
  memory.search_layout(),
  memory.finish_vector_backfill()
to memory_maintainer;
grant usage on sequence memory.tenant_key_id_seq to memory_owner;
--! EndIncluded grants.sql
