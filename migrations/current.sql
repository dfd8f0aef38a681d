-- An encrypted lexical index per tenant, and BM25 search over it (docs/RETRIEVAL.md, CRYPTO.md).
-- The daemon analyses chunk text into terms and keys each term under a per-tenant term key
-- (HMAC-SHA256, first 8 bytes as a bigint): the database holds tokens, never terms.

-- One row per indexed chunk: its length in terms, its distinct tokens and their frequencies (the
-- triggers derive the postings from these arrays, and find them again by them on delete), and how
-- it was analysed and keyed, so `memvault reindex lexical` can find stale rows. Deleted (and, should
-- an operator ever change a chunk's key, moved) with the chunk: cascades.
create table if not exists memory.lexical_chunks (
  user_hash text not null,
  chunk_id uuid not null,
  length integer not null constraint lexical_chunks_length_nonnegative check (length >= 0),
  tokens bigint[] not null,
  tfs integer[] not null constraint lexical_chunks_tfs_match check (cardinality(tfs) = cardinality(tokens)),
  term_key_id integer not null,
  analyzer_version smallint not null,
  constraint lexical_chunks_pkey primary key (user_hash, chunk_id),
  constraint lexical_chunks_chunk_fkey foreign key (user_hash, chunk_id)
    references memory.memory_chunks (user_hash, id) on delete cascade on update cascade
);
comment on table memory.lexical_chunks is 'Lexical index, per chunk: length, distinct keyed tokens (HMAC under the tenant term key) and term frequencies, term key (DEK id) and analyzer version.';

-- Postings: which chunks of a tenant hold a token, how often, and the chunk's length (kept here so
-- BM25 reads one index range per query token and joins nothing). The primary key is the index.
create table if not exists memory.lexical_postings (
  user_hash text not null,
  token bigint not null,
  chunk_id uuid not null,
  tf integer not null,
  chunk_length integer not null,
  constraint lexical_postings_pkey primary key (user_hash, token, chunk_id)
);
comment on table memory.lexical_postings is 'Lexical index postings (tenant, keyed token, chunk, term frequency, chunk length); written and deleted by the lexical_chunks triggers.';

-- Per-tenant BM25 statistics: indexed chunks and their total length (N and the average length).
create table if not exists memory.lexical_stats (
  user_hash text primary key,
  chunks bigint not null,
  total_length bigint not null
);
comment on table memory.lexical_stats is 'Per tenant: indexed chunks and their summed length, kept by the lexical_chunks triggers.';

alter table memory.lexical_chunks enable row level security;
alter table memory.lexical_chunks force row level security;
alter table memory.lexical_postings enable row level security;
alter table memory.lexical_postings force row level security;
alter table memory.lexical_stats enable row level security;
alter table memory.lexical_stats force row level security;

-- index_chunks gains the lexical arrays (new parameters, so a new signature).
drop function if exists memory.index_chunks(text, uuid[], text[], text[], bytea[], bytea[], bytea[], public.vector[], integer, smallint);

--!include policies/memory_tenant_isolation.sql
--!include triggers/lexical.sql
--!include functions/settings.sql
--!include functions/lexical_index.sql
--!include functions/index_chunks.sql
--!include functions/search_lexical.sql
--!include functions/search_hybrid.sql
--!include functions/lexical_maintenance.sql
--!include functions/rehash.sql
--!include functions/verify_rls_isolation.sql
--!include grants.sql
