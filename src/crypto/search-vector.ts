/**
 * The stored search vector of an embedding: what the database indexes and scans for dense search
 * (memory.chunk_vectors, as halfvec; docs/ARCHITECTURE.md "Search layout"). Every path that stores
 * or queries a search vector goes through this module — the write path (memory/seal-chunk.ts), the
 * query path (memory/query.ts), the vector reindex (keys/vector-backfill.ts) and `reseal --tenant`
 * (keys/reseal.ts) — so what is stored and what is asked are made alike. The exact float32
 * embedding is sealed separately (emb_cipher) and is what final rankings are computed from
 * (memory/rescore.ts).
 *
 * Protected (issue 13, docs/CRYPTO.md "Protected vectors"): a chunk's search vector is
 * protect(x) under the vector key of the data key that seals the chunk (./vector-key.ts: keyed
 * rotation, secret scale, noise keyed by the chunk id), and a query's is rotate(q) under the same
 * key, so nearness within a tenant is approximately kept while a reader of the database can no
 * longer search, link or off-the-shelf-invert the vectors. Each row records its scheme and key id,
 * so rows written in clear (before this scheme, or by a tenant without a data key) and rows under a
 * replaced data key stay searchable, each by its own query vector, until `memvault reindex vectors`
 * rewrites them.
 */
import type { DataKey } from './data-key.js';
import { vectorKeyOf } from './vector-key.js';

/** The embedding itself (rows from before protected vectors; vector key id 0). */
export const VECTOR_SCHEME_CLEAR = 0;
/** Protected under the vector key (HKDF label memvault/vector-key/v1) of data key `keyId`. */
export const VECTOR_SCHEME_PROTECTED = 1;
export type VectorScheme = typeof VECTOR_SCHEME_CLEAR | typeof VECTOR_SCHEME_PROTECTED;

/**
 * The scale-and-perturb noise radius, relative to ‖x‖, that new rows get unless the live setting
 * `vector_noise` says otherwise. Measured through the product (`memvault bench protected`,
 * docs/CRYPTO.md "Choosing the noise size"): at 0.1 the daemon's default 2x over-fetch keeps
 * recall@10 at 1.000 on small, medium and HNSW-sized tenants, where 0.25 needs 4x for 0.99; what
 * the larger noise buys (fewer rows identified from a handful of known pairs, duplicates less
 * obvious) is small next to that.
 */
export const DEFAULT_VECTOR_NOISE = 0.1;

/** A search vector and what it is (the row's vector_scheme and vector_key_id). */
export interface SearchVector {
  vector: Float32Array;
  scheme: VectorScheme;
  /** The data key whose vector key made it; 0 when clear. */
  keyId: number;
}

/** The clear scheme's search vector: the embedding itself. */
export function clearSearchVector(embedding: Float32Array): SearchVector {
  return { vector: embedding, scheme: VECTOR_SCHEME_CLEAR, keyId: 0 };
}

/**
 * What a chunk stores: protect(embedding) under `dek`'s vector key, its noise keyed by the chunk
 * id (so rewriting a row gives the same vector) and of radius `noise`·‖embedding‖.
 */
export function searchVector(
  embedding: Float32Array,
  dek: DataKey,
  chunkId: string,
  noise: number,
): SearchVector {
  return {
    vector: vectorKeyOf(dek).protect(embedding, chunkId, noise),
    scheme: VECTOR_SCHEME_PROTECTED,
    keyId: dek.id,
  };
}

/**
 * What a query searches rows of (scheme, key) with: the embedding for clear rows, rotate(embedding)
 * (no noise) under the vector key of data key `dek` for rows protected under it.
 */
export function querySearchVector(embedding: Float32Array, dek: DataKey | null): SearchVector {
  return dek === null
    ? clearSearchVector(embedding)
    : { vector: vectorKeyOf(dek).rotate(embedding), scheme: VECTOR_SCHEME_PROTECTED, keyId: dek.id };
}
