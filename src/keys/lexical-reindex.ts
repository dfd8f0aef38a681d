/**
 * `memvault reindex lexical`: gives every chunk an up-to-date lexical index row — chunks written
 * before the index existed, analysed by an older analyzer version, or keyed under a data key that
 * is no longer their tenant's active one. Like re-sealing (./reseal.ts): batches claimed FOR UPDATE
 * SKIP LOCKED along a keyset cursor in maintenance transactions, so it is resumable (a crashed run
 * rolls back its batch and the next run claims it again), idempotent (an up-to-date chunk is never
 * claimed), shareable between workers, and safe beside live traffic (writers index their own
 * chunks; a chunk being written or deleted is skipped, not waited for).
 */
import { type DataKey, type KeyRing, openChunkField, termKeyOf } from '../crypto/index.js';
import { StaleDataKeyError } from '../db/errors.js';
import { claimLexicalReindex, type LexicalCursor, type LexicalEntry, storeLexical } from '../db/lexical.js';
import type { Pool } from '../db/pool.js';
import { ANALYZER_VERSION, defaultAnalyzer, textPostings } from '../lexical/index.js';
import { keysForBatch } from './batch-keys.js';
import { inTransaction, type ProgressListener } from './maintenance.js';
import { keyJobItems, keyJobRemaining } from './metrics.js';

export interface ReindexOptions {
  /** Only this tenant (its user_hash). */
  tenant?: string | undefined;
  batchSize?: number | undefined;
  /** Expected number of chunks to process, for the progress bar (0: unknown). */
  total?: number | undefined;
  onProgress?: ProgressListener | undefined;
}

/** One chunk's index row, keyed under `dek`'s term key (also used by re-sealing). */
export function lexicalEntry(userHash: string, id: string, text: string, dek: DataKey): LexicalEntry {
  return { userHash, id, termKeyId: dek.id, ...textPostings(defaultAnalyzer(), termKeyOf(dek), text) };
}

/** Indexes every chunk that needs it; returns how many it indexed. */
export async function reindexLexical(
  pool: Pool,
  ring: KeyRing,
  options: ReindexOptions = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  let cursor: LexicalCursor | null = null;
  let done = 0;
  let staleRetries = 0;
  keyJobRemaining.set({ job: 'reindex_lexical' }, options.total ?? 0);
  for (;;) {
    let batch: { count: number; last: LexicalCursor | null };
    try {
      batch = await inTransaction(pool, async (client) => {
        const rows = await claimLexicalReindex(
          client,
          batchSize,
          ANALYZER_VERSION,
          options.tenant ?? null,
          cursor,
        );
        if (rows.length === 0) return { count: 0, last: null };
        const keys = await keysForBatch(client, ring, rows);
        const entries = rows.map((row) => {
          const tenant = keys.get(row.userHash)!;
          const text = openChunkField(
            row.textCipher,
            row.userHash,
            row,
            'text',
            (dekId) => tenant.byId.get(dekId),
            ring,
          ).toString('utf8');
          return lexicalEntry(row.userHash, row.id, text, tenant.active);
        });
        const count = await storeLexical(client, entries, ANALYZER_VERSION);
        const last = rows[rows.length - 1]!;
        return { count, last: { userHash: last.userHash, id: last.id } };
      });
    } catch (thrown) {
      // A tenant's data key was replaced between reading the keys and storing: claim the batch
      // again (the cursor did not move) with the new key. A few tries, then report it.
      if (thrown instanceof StaleDataKeyError && ++staleRetries <= 3) continue;
      throw thrown;
    }
    if (!batch.last) break;
    cursor = batch.last;
    done += batch.count;
    keyJobItems.inc({ job: 'reindex_lexical' }, batch.count);
    const total = Math.max(options.total ?? 0, done);
    keyJobRemaining.set({ job: 'reindex_lexical' }, total - done);
    await options.onProgress?.({ job: 'reindex lexical', done, total });
  }
  keyJobRemaining.set({ job: 'reindex_lexical' }, 0);
  return done;
}
