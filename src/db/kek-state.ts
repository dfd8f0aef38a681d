/**
 * Typed wrappers for the key ring's state in the database (docs/KEYS.md): the live active KEK
 * (setting active_kek_id), the retired KEKs (memory.retired_keks, db/functions/key_retirement.sql)
 * and the key counts the key jobs publish for every daemon's /metrics (db/functions/key_stats.sql).
 * The maintenance ones run in the caller's transaction (src/keys decides where it begins and ends).
 */
import { call, type Queryable } from './procedures.js';

/** Sets active_kek_id (applied by every daemon through NOTIFY). KeyRetiredError when it is retired. */
export async function storeActiveKek(db: Queryable, kekId: number): Promise<void> {
  await call(db, 'select memory.set_active_kek($1::integer)', [kekId]);
}

/**
 * Records `kekId` as retired, checking in the same locked step that nothing needs it (KeyInUseError
 * otherwise). False when it was retired already.
 */
export async function recordRetiredKek(db: Queryable, kekId: number, activeKekId: number): Promise<boolean> {
  const rows = await call<{ retired: boolean }>(
    db,
    'select memory.retire_kek($1::integer, $2::integer) as retired',
    [kekId, activeKekId],
  );
  return rows[0]!.retired;
}

/** Retired KEK ids, oldest first. */
export async function retiredKeks(db: Queryable): Promise<number[]> {
  const rows = await call<{ kek_id: number }>(db, 'select kek_id from memory.retired_keks()', []);
  return rows.map((r) => r.kek_id);
}

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
export async function recountKeyStats(db: Queryable): Promise<boolean> {
  const rows = await call<{ ok: boolean }>(db, 'select memory.refresh_key_stats() as ok', []);
  return rows[0]!.ok;
}

/** The counts last published (any role: the daemon reads them at scrape time). */
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
