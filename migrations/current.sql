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

--!include functions/settings.sql
--!include functions/index_chunks.sql
--!include functions/update_chunk.sql
--!include functions/rehash.sql
--!include functions/vector_backfill.sql
--!include functions/search_candidates_keyed.sql
--!include grants.sql
