/**
 * The stored search vector of an embedding: what the database indexes and scans for dense search
 * (memory.chunk_vectors, as halfvec; docs/ARCHITECTURE.md "Search layout"). Every path that stores
 * or queries a search vector goes through this one function — the write path (memory/seal-chunk.ts),
 * the query path (memory/query.ts) and the backfill job (keys/vector-backfill.ts) — so a transform
 * of the stored vectors (protected, per-tenant keyed embeddings) is one change here, applied
 * alike to what is stored and to what is asked. The exact float32 embedding is sealed separately
 * (emb_cipher) and is what final rankings are computed from (memory/rescore.ts).
 *
 * Today the search vector is the embedding itself; the database rounds it to halfvec on store.
 */
export function searchVector(embedding: Float32Array): Float32Array {
  return embedding;
}
