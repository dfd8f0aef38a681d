/**
 * Before a filtered read: the tenant's chunks that have no filter tokens under its active data key
 * (written before filters existed, corrected by an update, or keyed before `reseal --tenant`
 * replaced the key) get them now, a batch at a time, so a filter never silently misses a chunk
 * whose metadata matches. Returns the tenant's filter key, or undefined when the tenant has no
 * data key (and so no chunks: nothing can match). A tenant without backlog costs one round trip.
 */
import { type FilterKey, filterKeyOf, metadataTokens } from '../crypto/index.js';
import { SQLSTATE, StaleDataKeyError } from '../db/errors.js';
import { filterBacklog, storeFilterTokens } from '../db/filters.js';
import { type MemoryContext, tenantKeys, wroteTenant } from './context.js';
import { dataKeyIds, openMetadata, placeOf } from './seal-chunk.js';

/** Chunks keyed per round trip. */
const BACKLOG_BATCH = 500;
/** Key changes (another daemon replaced the tenant's key) survived before giving up. */
const MAX_STALE = 3;

export async function tenantFilterKey(ctx: MemoryContext, userHash: string): Promise<FilterKey | undefined> {
  const keys = tenantKeys(ctx);
  let stale = 0;
  let wrote = false;
  try {
    for (;;) {
      const state = await filterBacklog(ctx.pool, userHash, BACKLOG_BATCH);
      if (!state) return undefined;
      const dek = await keys.activeKey(userHash);
      if (dek.id !== state.keyId) {
        // Our cached key is not the tenant's active one any more: re-read the tenant's keys.
        if (++stale > MAX_STALE)
          throw new StaleDataKeyError(
            'stale_data_key',
            "the tenant's data key keeps changing",
            SQLSTATE.staleDataKey,
          );
        keys.forget(userHash);
        continue;
      }
      const key = filterKeyOf(dek);
      if (state.backlog.length === 0) return key;
      const lookup = await keys.lookup(userHash, dataKeyIds(state.backlog.map((row) => row.meta_cipher)));
      const chunks: number[] = [];
      const tokens: bigint[] = [];
      state.backlog.forEach((row, i) => {
        for (const token of metadataTokens(
          key,
          openMetadata(userHash, placeOf(row), row.meta_cipher, lookup),
        )) {
          chunks.push(i + 1);
          tokens.push(token);
        }
      });
      try {
        await storeFilterTokens(
          ctx.pool,
          userHash,
          state.backlog.map((row) => row.id),
          chunks,
          tokens,
          dek.id,
        );
        wrote = true;
      } catch (thrown) {
        if (!(thrown instanceof StaleDataKeyError) || ++stale > MAX_STALE) throw thrown;
        keys.forget(userHash);
      }
    }
  } finally {
    // The filtered read that follows may go to a replica: it must see these tokens.
    if (wrote) await wroteTenant(ctx, userHash);
  }
}
