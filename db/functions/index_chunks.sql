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

  -- A tenant's first rows register its proof verifier (a no-op once it has one).
  perform memory.register_tenant_proof(p_user_hash);
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
