/**
 * Retiring key-ring keys: the database records a retired id (memory.retired_keks) and refuses it
 * from then on wherever a DEK is wrapped or a legacy blob sealed (db/functions/key_retirement.sql).
 * The check that nothing needs the key and the record happen in one locked step in SQL, so a daemon
 * wrapping a new DEK at the same moment cannot slip a row under a key that is being retired.
 */

import type { Pool } from '../db/pool.js';
import { call, type Queryable } from '../db/procedures.js';
import { inTransaction } from './maintenance.js';

/**
 * Makes `kekId` the live active key for every daemon (setting active_kek_id, applied through
 * NOTIFY). KeyRetiredError when it is retired.
 */
export async function setActiveKek(pool: Pool, kekId: number): Promise<void> {
  await inTransaction(pool, (client) => call(client, 'select memory.set_active_kek($1::integer)', [kekId]));
}

/**
 * Records `kekId` as retired. KeyInUseError while it is the active key (the live setting, else
 * `activeKekId`, the caller's configured one) or while any DEK or legacy chunk needs it. Returns
 * false when it was retired already.
 */
export async function retireKek(pool: Pool, kekId: number, activeKekId: number): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    const rows = await call<{ retired: boolean }>(
      client,
      'select memory.retire_kek($1::integer, $2::integer) as retired',
      [kekId, activeKekId],
    );
    return rows[0]!.retired;
  });
}

/** Retired KEK ids, oldest first. */
export async function retiredKeks(db: Queryable): Promise<number[]> {
  const rows = await call<{ kek_id: number }>(db, 'select kek_id from memory.retired_keks()', []);
  return rows.map((r) => r.kek_id);
}
