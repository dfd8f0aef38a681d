/**
 * `memvault reindex vectors`: gives every chunk written before the narrow search layout (migration
 * 000011) its search vector in memory.chunk_vectors, then switches dense search to that layout; and
 * protects every search vector that is still clear or under a replaced data key (issue 13): each is
 * rewritten as protect(x) under the tenant's active data key, and the wide row's clear copy of the
 * embedding is emptied in the same statement.
 * Like `reindex lexical` (./lexical-reindex.ts): batches claimed FOR UPDATE SKIP LOCKED along a
 * keyset cursor in maintenance transactions, so it is resumable (a crashed run rolls back its batch
 * and the next run claims it again), idempotent (a chunk with a vector is never claimed),
 * shareable between workers, and safe beside live traffic: writers store both layouts, and search
 * keeps reading memory_chunks until the switch, which happens only when no chunk is missing.
 *
 * The vector is made from the sealed float32 embedding by the write path's own function
 * (crypto/search-vector.ts), not copied from memory_chunks.embedding, so a transform of the stored
 * vectors applies to old chunks exactly as to new ones.
 */
import { bytesToEmbedding, type KeyRing, openChunkField, searchVector } from '../crypto/index.js';
import type { Pool } from '../db/pool.js';
import {
  claimVectorBackfill,
  finishVectorBackfill,
  type SearchLayoutName,
  storeSearchVectors,
  type VectorCursor,
} from '../db/vectors.js';
import { keysForBatch } from './batch-keys.js';
import { inTransaction, type ProgressListener } from './maintenance.js';
import { keyJobItems, keyJobRemaining } from './metrics.js';
import { storedVectorNoise } from './vector-noise.js';

export interface VectorBackfillOptions {
  /** Only this tenant (its user_hash); the layout switches only after a run over all tenants. */
  tenant?: string | undefined;
  batchSize?: number | undefined;
  /** Expected number of chunks to process, for the progress bar (0: unknown). */
  total?: number | undefined;
  onProgress?: ProgressListener | undefined;
  /** Noise radius of the protected vectors written (default: the live setting vector_noise). */
  noise?: number | undefined;
}

export interface VectorBackfillResult {
  /** Chunks given a (new, protected) search vector by this run. */
  stored: number;
  /** Chunks still without one (claimed by another worker, or outside --tenant). */
  missing: number;
  /** The layout dense search reads after the run. */
  layout: SearchLayoutName;
}

export async function backfillVectors(
  pool: Pool,
  ring: KeyRing,
  options: VectorBackfillOptions = {},
): Promise<VectorBackfillResult> {
  const batchSize = options.batchSize ?? 500;
  const noise = options.noise ?? (await storedVectorNoise(pool));
  let cursor: VectorCursor | null = null;
  let done = 0;
  keyJobRemaining.set({ job: 'reindex_vectors' }, options.total ?? 0);
  for (;;) {
    const batch = await inTransaction(pool, async (client) => {
      const rows = await claimVectorBackfill(client, batchSize, options.tenant ?? null, cursor);
      if (rows.length === 0) return { count: 0, last: null };
      const keys = await keysForBatch(client, ring, rows);
      const entries = rows.map((row) => {
        const tenant = keys.get(row.userHash)!;
        const embedding = bytesToEmbedding(
          openChunkField(
            row.embCipher,
            row.userHash,
            row,
            'embedding',
            (dekId) => tenant.byId.get(dekId),
            ring,
          ),
        );
        const made = searchVector(embedding, tenant.active, row.id, noise);
        return { userHash: row.userHash, id: row.id, ...made };
      });
      const count = await storeSearchVectors(client, entries);
      const last = rows[rows.length - 1]!;
      return { count, last: { userHash: last.userHash, id: last.id } };
    });
    if (!batch.last) break;
    cursor = batch.last;
    done += batch.count;
    keyJobItems.inc({ job: 'reindex_vectors' }, batch.count);
    const total = Math.max(options.total ?? 0, done);
    keyJobRemaining.set({ job: 'reindex_vectors' }, total - done);
    await options.onProgress?.({ job: 'reindex vectors', done, total });
  }
  keyJobRemaining.set({ job: 'reindex_vectors' }, 0);
  const finish = await finishVectorBackfill(pool);
  return { stored: done, ...finish };
}
