/**
 * Aggregate key counts for the daemons' /metrics. The daemon's role sees one tenant per
 * transaction (RLS), so it cannot count across tenants itself; the key jobs, which run in
 * maintenance mode, publish the counts (memory.refresh_key_stats) and the daemon reads the small
 * result table (memory.key_stats) at scrape time. See db/functions/key_stats.sql.
 */

import { recountKeyStats } from '../db/kek-state.js';
import type { Pool } from '../db/pool.js';
import { coerceError } from '../errors.js';
import { log } from '../log.js';
import { inTransaction } from './maintenance.js';

export { type KeyStatsRow, readKeyStats } from '../db/kek-state.js';

/** Recounts (maintenance). False when another session was recounting at that moment. */
export async function refreshKeyStats(pool: Pool): Promise<boolean> {
  return inTransaction(pool, (client) => recountKeyStats(client));
}

/**
 * Publishes the counts from inside a job: at most once per `intervalMs` (each recount is a few
 * index scans; a job batch takes far less), and always when `force` is set (a job's end). A failed
 * publish is logged and never fails the job: metrics are not worth losing work over.
 */
export function keyStatsPublisher(pool: Pool, intervalMs = 1000): (force?: boolean) => Promise<void> {
  let last = 0;
  return async (force = false) => {
    const now = Date.now();
    if (!force && now - last < intervalMs) return;
    last = now;
    try {
      await refreshKeyStats(pool);
    } catch (thrown) {
      log.warn({ err: coerceError(thrown).message }, 'could not publish key stats');
    }
  };
}
