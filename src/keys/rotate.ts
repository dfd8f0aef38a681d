/**
 * Key-encryption-key rotation: re-wrap every tenant's DEK under the active key-ring key. Work is
 * proportional to tenants, not chunks (the chunks stay sealed under their DEKs). Resumable and
 * safe to run in several processes at once: each batch is claimed with SKIP LOCKED.
 */
import type pg from 'pg';

import type { KeyRing } from '../crypto/index.js';
import { claimDekRewrap, type KeyUsage, keyUsage, storeRewrappedDeks } from '../db/keys.js';
import { setSetting } from '../db/procedures.js';
import { MemvaultError } from '../errors.js';
import { inTransaction, type ProgressListener } from './maintenance.js';
import { keyJobItems, keyJobRemaining } from './metrics.js';

export class KeyInUseError extends MemvaultError {
  constructor(message: string) {
    super('key_in_use', message);
  }
}

export async function usage(pool: pg.Pool): Promise<KeyUsage[]> {
  return inTransaction(pool, (client) => keyUsage(client));
}

/**
 * Makes `ring.activeKeyId` the active key for every daemon (setting active_kek_id, applied live
 * through NOTIFY) and re-wraps all DEKs under it. Returns how many DEKs this process re-wrapped.
 */
export async function rotateKek(
  pool: pg.Pool,
  ring: KeyRing,
  options: { batchSize?: number; onProgress?: ProgressListener } = {},
): Promise<number> {
  await setSetting(pool, 'active_kek_id', ring.activeKeyId);
  const pending = (await usage(pool))
    .filter((u) => u.kekId !== ring.activeKeyId)
    .reduce((n, u) => n + u.wrappedDeks, 0);
  return rewrapPending(pool, ring, pending, options);
}

/** Re-wraps DEKs not yet under the ring's active key, batch by batch, until none is left. */
export async function rewrapPending(
  pool: pg.Pool,
  ring: KeyRing,
  total: number,
  options: { batchSize?: number; onProgress?: ProgressListener } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  let done = 0;
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
    options.onProgress?.({ job: 'rewrap', done, total: Math.max(total, done) });
  }
  keyJobRemaining.set({ job: 'rewrap' }, 0);
  return done;
}

/**
 * Checks that nothing still needs key `kekId`: no DEK wrapped under it, no legacy chunk sealed
 * under it, and it is not the active key. Throws KeyInUseError saying what still needs it.
 */
export async function assertRetirable(pool: pg.Pool, kekId: number, activeKekId: number): Promise<void> {
  if (kekId === activeKekId)
    throw new KeyInUseError(`key ${kekId} is the active key: rotate to another key first`);
  const row = (await usage(pool)).find((u) => u.kekId === kekId);
  if (row && (row.wrappedDeks > 0 || row.legacyChunks > 0)) {
    throw new KeyInUseError(
      `key ${kekId} still wraps ${row.wrappedDeks} tenant key(s) and seals ${row.legacyChunks} legacy chunk(s): ` +
        'run `memvault keys rotate` and `memvault reseal` first',
    );
  }
}
