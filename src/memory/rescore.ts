/**
 * Exact final order for dense candidates. Dense search scans halfvec search vectors (about three
 * significant digits), so two chunks whose distances lie within rounding of each other may come
 * back in the wrong order, and the last few candidates may not be the true nearest. The query path
 * therefore fetches `overfetch` times the candidates it needs, opens each candidate's sealed
 * float32 embedding (emb_cipher, under the tenant's data key), computes its exact cosine
 * similarity to the query's embedding and keeps the best `keep` — before fusion and rerank, so
 * the rounding never changes what a query returns.
 *
 * Re-scoring compares the query's embedding with the chunks' embeddings, never the stored search
 * vectors, so it stays exact whatever transform crypto/search-vector.ts applies to those.
 */
import type { DataKeyLookup } from '../crypto/index.js';
import { openEmbedding, placeOf } from './seal-chunk.js';

/** What re-scoring needs of a candidate row. */
export interface RescoreRow {
  id: string;
  /** Bound into the sealed embedding's AAD (envelope version 3). */
  doc_id: string;
  source: string;
  emb_cipher: Buffer | null;
}

export interface Rescored<T> {
  row: T;
  /** Exact cosine similarity of the query's and the chunk's float32 embeddings. */
  score: number;
}

/** How many dense candidates to fetch for `candidates` re-scored ones: at most the database's 1000. */
export function overfetchLimit(candidates: number, overfetch: number): number {
  return Math.min(1000, Math.max(candidates, Math.ceil(candidates * overfetch)));
}

/**
 * The `keep` rows nearest to `query` by exact cosine similarity, nearest first (ties by id, the
 * order the database uses). Throws InvalidTag when a sealed embedding does not open for its row.
 */
export function rescore<T extends RescoreRow>(
  userHash: string,
  query: Float32Array,
  rows: readonly T[],
  keys: DataKeyLookup,
  keep: number,
): Array<Rescored<T>> {
  const queryNorm = Math.sqrt(dot(query, query));
  const scored = rows.map((row): Rescored<T> => {
    if (!row.emb_cipher) throw new TypeError(`candidate ${row.id} has no sealed embedding to re-score`);
    const embedding = openEmbedding(userHash, placeOf(row), row.emb_cipher, keys);
    return { row, score: cosine(query, queryNorm, embedding) };
  });
  scored.sort((a, b) => b.score - a.score || (a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0));
  return scored.slice(0, keep);
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** Cosine similarity; 0 for a zero vector (pgvector's distance is NaN there, sorted last). */
function cosine(query: Float32Array, queryNorm: number, chunk: Float32Array): number {
  if (chunk.length !== query.length) {
    throw new RangeError(`embedding has ${chunk.length} dimensions, the query ${query.length}`);
  }
  const norm = queryNorm * Math.sqrt(dot(chunk, chunk));
  return norm === 0 ? 0 : dot(query, chunk) / norm;
}
