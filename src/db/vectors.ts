/**
 * Typed wrappers of the narrow search layout's maintenance procedures (maintenance mode,
 * memory_maintainer): `memvault reindex vectors` claims chunks without a search vector, stores
 * theirs and switches search to the layout when none is missing; doctor counts. The tenant-scoped
 * ones (index_chunks, search_candidates) live in procedures.ts.
 */
import { call, type Queryable, vectorLiteral } from './procedures.js';

export interface VectorBackfillRow {
  userHash: string;
  id: string;
  /** Bound into a version-3 blob's AAD, so the job needs them to open it. */
  docId: string;
  source: string;
  embCipher: Buffer;
}

export interface VectorCursor {
  userHash: string;
  id: string;
}

/** Chunks whose search vector is missing or stale (clear, or under a replaced key), locked SKIP LOCKED, after the cursor. */
export async function claimVectorBackfill(
  db: Queryable,
  limit: number,
  tenant: string | null,
  after: VectorCursor | null,
): Promise<VectorBackfillRow[]> {
  const rows = await call<{
    user_hash: string;
    id: string;
    doc_id: string;
    source: string;
    emb_cipher: Buffer;
  }>(
    db,
    'select user_hash, id, doc_id, source, emb_cipher from memory.claim_vector_backfill($1::integer, $2::text, $3::text, $4::uuid)',
    [limit, tenant, after?.userHash ?? '', after?.id ?? '00000000-0000-0000-0000-000000000000'],
  );
  return rows.map((r) => ({
    userHash: r.user_hash,
    id: r.id,
    docId: r.doc_id,
    source: r.source,
    embCipher: r.emb_cipher,
  }));
}

export interface SearchVectorEntry {
  userHash: string;
  id: string;
  /** The search vector (crypto/search-vector.ts); stored as halfvec. */
  vector: ArrayLike<number>;
  /** 0 with key 0: clear; 1 with the tenant's active data key id: protected under its vector key. */
  scheme: number;
  keyId: number;
}

/**
 * Stores these chunks' search vectors with their scheme, replacing stale ones and emptying the wide
 * row's clear copy of a protected chunk (skipping chunks deleted meanwhile, and protected vectors
 * whose key is no longer the tenant's active one); returns how many.
 */
export async function storeSearchVectors(db: Queryable, entries: SearchVectorEntry[]): Promise<number> {
  const rows = await call<{ n: number }>(
    db,
    'select memory.store_search_vectors($1::text[], $2::uuid[], $3::public.vector[], $4::smallint[], $5::integer[]) as n',
    [
      entries.map((e) => e.userHash),
      entries.map((e) => e.id),
      entries.map((e) => vectorLiteral(e.vector)),
      entries.map((e) => e.scheme),
      entries.map((e) => e.keyId),
    ],
  );
  return rows[0]!.n;
}

export interface VectorProtection {
  chunks: number;
  /** Chunks without a search vector. */
  missing: number;
  /** Chunks whose search vector is clear. */
  clear: number;
  /** Chunks whose search vector is protected under a data key that is not the tenant's active one. */
  staleKey: number;
  /** Wide rows still holding a clear copy of the embedding (memory_chunks.embedding). */
  clearCopies: number;
}

/** What the stored search vectors are, across tenants (maintenance mode). */
export async function vectorProtection(db: Queryable): Promise<VectorProtection> {
  const rows = await call<{
    chunks: string;
    missing: string;
    clear: string;
    stale_key: string;
    clear_copies: string;
  }>(db, 'select * from memory.vector_protection()', []);
  const r = rows[0]!;
  return {
    chunks: Number(r.chunks),
    missing: Number(r.missing),
    clear: Number(r.clear),
    staleKey: Number(r.stale_key),
    clearCopies: Number(r.clear_copies),
  };
}

export type SearchLayoutName = 'vectors' | 'chunks';

export interface VectorCoverage {
  chunks: number;
  /** Chunks without a search vector (written before migration 000011). */
  missing: number;
  /** The layout dense search reads now. */
  layout: SearchLayoutName;
}

export async function vectorCoverage(db: Queryable): Promise<VectorCoverage> {
  const rows = await call<{ chunks: string; missing: string; layout: SearchLayoutName }>(
    db,
    'select * from memory.vector_coverage()',
    [],
  );
  const r = rows[0]!;
  return { chunks: Number(r.chunks), missing: Number(r.missing), layout: r.layout };
}

/**
 * Switches dense search to the narrow layout if no chunk misses its search vector (atomically
 * against writers); returns the layout in force and the chunks still missing one.
 */
export async function finishVectorBackfill(
  db: Queryable,
): Promise<{ missing: number; layout: SearchLayoutName }> {
  const rows = await call<{ missing: string; layout: SearchLayoutName }>(
    db,
    'select * from memory.finish_vector_backfill()',
    [],
  );
  return { missing: Number(rows[0]!.missing), layout: rows[0]!.layout };
}
