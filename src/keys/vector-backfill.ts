/**
 * `memvault reindex vectors`: gives every chunk written before the narrow search layout (migration
 * 000011) its search vector in memory.chunk_vectors, then switches dense search to that layout.
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

export interface VectorBackfillOptions {
  /** Only this tenant (its user_hash); the layout switches only after a run over all tenants. */
  tenant?: string | undefined;
  batchSize?: number | undefined;
  /** Expected number of chunks to process, for the progress bar (0: unknown). */
  total?: number | undefined;
  onProgress?: ProgressListener | undefined;
}

export interface VectorBackfillResult {
  /** Chunks given a search vector by this run. */
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
  let cursor: VectorCursor | null = null;
  let done = 0;
  keyJobRemaining.set({ job: 'reindex_vectors' }, options.total ?? 0);
  for (;;) {
    const batch = await inTransaction(pool, async (client) => {
      const rows = await claimVectorBackfill(client, batchSize, options.tenant ?? null, cursor);
      if (rows.length === 0) return { count: 0, last: null };
      const keys = await keysForBatch(pool, client, ring, rows);
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
        return { userHash: row.userHash, id: row.id, vector: searchVector(embedding) };
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
