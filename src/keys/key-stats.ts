/**
 * Aggregate key counts for the daemons' /metrics. The daemon's role sees one tenant per
 * transaction (RLS), so it cannot count across tenants itself; the key jobs, which run in
 * maintenance mode, publish the counts (memory.refresh_key_stats) and the daemon reads the small
 * result table (memory.key_stats) at scrape time. See db/functions/key_stats.sql.
 */

import type { Pool } from '../db/pool.js';
import { call, type Queryable } from '../db/procedures.js';
import { coerceError } from '../errors.js';
import { log } from '../log.js';
import { inTransaction } from './maintenance.js';

export interface KeyStatsRow {
  kekId: number;
  /** Tenant DEKs wrapped under this KEK. */
  wrappedDeks: number;
  /** Chunks sealed directly under this KEK (envelope version 1), waiting for `memvault reseal`. */
  legacyChunks: number;
  retired: boolean;
  /** When a job last counted; null for a retired id nothing counts any more. */
  computedAt: Date | null;
}

/** Recounts (maintenance). False when another session was recounting at that moment. */
export async function refreshKeyStats(pool: Pool): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    const rows = await call<{ ok: boolean }>(client, 'select memory.refresh_key_stats() as ok', []);
    return rows[0]!.ok;
  });
}

export async function readKeyStats(db: Queryable): Promise<KeyStatsRow[]> {
  const rows = await call<{
    kek_id: number;
    wrapped_deks: string;
    legacy_chunks: string;
    retired: boolean;
    computed_at: Date | null;
  }>(db, 'select * from memory.key_stats()', []);
  return rows.map((r) => ({
    kekId: r.kek_id,
    wrappedDeks: Number(r.wrapped_deks),
    legacyChunks: Number(r.legacy_chunks),
    retired: r.retired,
    computedAt: r.computed_at,
  }));
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
