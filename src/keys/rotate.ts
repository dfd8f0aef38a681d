/**
 * Key-encryption-key rotation: re-wrap every tenant's DEK under the active key-ring key. Work is
 * proportional to tenants, not chunks (the chunks stay sealed under their DEKs). Resumable and
 * safe to run in several processes at once: each batch is claimed with SKIP LOCKED.
 */

import type { KeyRing } from '../crypto/index.js';
import { claimDekRewrap, type KeyUsage, keyUsage, storeRewrappedDeks } from '../db/keys.js';
import type { Pool } from '../db/pool.js';
import { keyStatsPublisher } from './key-stats.js';
import { inTransaction, type ProgressListener } from './maintenance.js';
import { keyJobItems, keyJobRemaining } from './metrics.js';
import { retireKek, setActiveKek } from './retirement.js';

export async function usage(pool: Pool): Promise<KeyUsage[]> {
  return inTransaction(pool, (client) => keyUsage(client));
}

/** DEKs still wrapped under another key than `activeKekId`: what a re-wrap pass has left to do. */
export async function pendingRewrap(pool: Pool, activeKekId: number): Promise<number> {
  return (await usage(pool)).filter((u) => u.kekId !== activeKekId).reduce((n, u) => n + u.wrappedDeks, 0);
}

/**
 * Makes `ring.activeKeyId` the active key for every daemon (setting active_kek_id, applied live
 * through NOTIFY) and re-wraps all DEKs under it. Returns how many DEKs this process re-wrapped.
 * KeyRetiredError, before any work, when that key is retired.
 */
export async function rotateKek(
  pool: Pool,
  ring: KeyRing,
  options: { batchSize?: number; onProgress?: ProgressListener } = {},
): Promise<number> {
  await setActiveKek(pool, ring.activeKeyId);
  return rewrapPending(pool, ring, await pendingRewrap(pool, ring.activeKeyId), options);
}

/**
 * Re-wraps DEKs not yet under the ring's active key, batch by batch, until none is left. `total`
 * (the pending count when the pass started) feeds the progress bar and memvault_key_job_remaining.
 */
export async function rewrapPending(
  pool: Pool,
  ring: KeyRing,
  total: number,
  options: { batchSize?: number; onProgress?: ProgressListener } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  const publish = keyStatsPublisher(pool);
  let done = 0;
  keyJobRemaining.set({ job: 'rewrap' }, total);
  for (;;) {
    const count = await inTransaction(pool, async (client) => {
      const claimed = await claimDekRewrap(client, ring.activeKeyId, batchSize);
      if (claimed.length === 0) return 0;
      const rewrapped = claimed.map((row) => ({
        ...row,
        wrappedDek: ring.rewrapDataKey(row.wrappedDek, row.userHash, row.dekId),
      }));
      return storeRewrappedDeks(client, rewrapped, ring.activeKeyId);
    });
    if (count === 0) break;
    done += count;
    keyJobItems.inc({ job: 'rewrap' }, count);
    keyJobRemaining.set({ job: 'rewrap' }, Math.max(total - done, 0));
    await options.onProgress?.({ job: 'rewrap', done, total: Math.max(total, done) });
    await publish();
  }
  keyJobRemaining.set({ job: 'rewrap' }, 0);
  await publish(true);
  return done;
}

/**
 * Retires key `kekId` for good: the database refuses (KeyInUseError) while it is the active key or
 * while any DEK or legacy chunk needs it, and otherwise records it, after which nothing can be
 * wrapped or sealed under it again (KeyRetiredError). Returns false if it was retired already.
 */
export async function retire(pool: Pool, kekId: number, activeKekId: number): Promise<boolean> {
  const retired = await retireKek(pool, kekId, activeKekId);
  await keyStatsPublisher(pool)(true);
  return retired;
}
