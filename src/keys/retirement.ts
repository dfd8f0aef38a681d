/**
 * Retiring key-ring keys: the database records a retired id (memory.retired_keks) and refuses it
 * from then on wherever a DEK is wrapped or a legacy blob sealed (db/functions/key_retirement.sql).
 * The check that nothing needs the key and the record happen in one locked step in SQL, so a daemon
 * wrapping a new DEK at the same moment cannot slip a row under a key that is being retired.
 */

import { recordRetiredKek, storeActiveKek } from '../db/kek-state.js';
import type { Pool } from '../db/pool.js';
import { inTransaction } from './maintenance.js';

export { retiredKeks } from '../db/kek-state.js';

/**
 * Makes `kekId` the live active key for every daemon (setting active_kek_id, applied through
 * NOTIFY). KeyRetiredError when it is retired.
 */
export async function setActiveKek(pool: Pool, kekId: number): Promise<void> {
  await inTransaction(pool, (client) => storeActiveKek(client, kekId));
}

/**
 * Records `kekId` as retired. KeyInUseError while it is the active key (the live setting, else
 * `activeKekId`, the caller's configured one) or while any DEK or legacy chunk needs it. Returns
 * false when it was retired already.
 */
export async function retireKek(pool: Pool, kekId: number, activeKekId: number): Promise<boolean> {
  return inTransaction(pool, (client) => recordRetiredKek(client, kekId, activeKekId));
}
