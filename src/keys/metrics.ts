/** Metrics of the key machinery, on the process registry. */
import { Counter, Gauge } from 'prom-client';

import type { Queryable } from '../db/procedures.js';
import { coerceError } from '../errors.js';
import { log } from '../log.js';
import { registry } from '../metrics.js';
import { type KeyStatsRow, readKeyStats } from './key-stats.js';

export const keyCacheEvents = new Counter({
  name: 'memvault_tenant_key_cache_events_total',
  help: 'Tenant data key cache hits, misses and evictions',
  labelNames: ['event'] as const,
  registers: [registry],
});

export const keyJobItems = new Counter({
  name: 'memvault_key_job_items_total',
  help: 'Items processed by key jobs (rewrap: tenant keys; reseal and rehash: chunks)',
  labelNames: ['job'] as const,
  registers: [registry],
});

export const keyJobRemaining = new Gauge({
  name: 'memvault_key_job_remaining',
  help: 'Items a running key job still has to process, as of its last progress report',
  labelNames: ['job'] as const,
  registers: [registry],
});

const statsGauges = [
  [
    'memvault_key_wrapped_deks',
    'Tenant data keys wrapped under each key-ring key (as of the last key job count)',
  ],
  [
    'memvault_key_legacy_chunks',
    'Chunks sealed directly under each key-ring key, waiting for memvault reseal',
  ],
  ['memvault_key_retired', '1 for each retired key-ring key id'],
] as const;

/** Where the gauges read from: the latest registration (one daemon per process in production). */
interface KeyStatsSource {
  db: Queryable;
  activeKekId: () => number;
}
let source: KeyStatsSource | undefined;
let gauges: Gauge[] | undefined;

/**
 * Serves rotation and re-sealing progress from the daemon's /metrics: at scrape time it reads the
 * counts the key jobs publish (memory.key_stats(), one read of a table with a row per key-ring
 * key, whatever the number of tenants or chunks) and exposes them with the key id as label, plus
 * `memvault_key_rewrap_remaining` (DEKs not yet under `activeKekId()`) and the age of the counts.
 * One query per scrape: the gauges share one read. The gauges are registered once per process
 * (a registry refuses a second metric of the same name, and tests start several daemons in one
 * process); the latest registration is the one read. Returns a function that unregisters it.
 */
export function registerKeyStatsCollector(db: Queryable, activeKekId: () => number): () => void {
  const mine: KeyStatsSource = { db, activeKekId };
  source = mine;
  gauges ??= createKeyStatsGauges();
  return () => {
    if (source !== mine) return;
    source = undefined;
    for (const gauge of gauges ?? [])
      registry.removeSingleMetric((gauge as unknown as { name: string }).name);
    gauges = undefined;
  };
}

function createKeyStatsGauges(): Gauge[] {
  let pending: Promise<KeyStatsRow[] | undefined> | undefined;
  // Every gauge's collect runs in the same scrape; they share one query.
  const snapshot = () => {
    const from = source;
    if (!from) return Promise.resolve(undefined);
    return (pending ??= readKeyStats(from.db)
      .catch((thrown: unknown) => {
        log.warn({ err: coerceError(thrown).message }, 'key stats unavailable for /metrics');
        return undefined;
      })
      .finally(() => setTimeout(() => (pending = undefined), 250).unref()));
  };

  const fields = {
    memvault_key_wrapped_deks: (r: KeyStatsRow) => r.wrappedDeks,
    memvault_key_legacy_chunks: (r: KeyStatsRow) => r.legacyChunks,
    memvault_key_retired: (r: KeyStatsRow) => (r.retired ? 1 : undefined),
  };
  const created: Gauge[] = statsGauges.map(
    ([name, help]) =>
      new Gauge({
        name,
        help,
        labelNames: ['kek_id'] as const,
        registers: [registry],
        async collect() {
          this.reset();
          for (const row of (await snapshot()) ?? []) {
            const value = fields[name](row);
            if (value !== undefined) this.set({ kek_id: String(row.kekId) }, value);
          }
        },
      }),
  );
  created.push(
    new Gauge({
      name: 'memvault_key_rewrap_remaining',
      help: 'Tenant data keys not yet wrapped under the active key-ring key (KEK rotation still to do)',
      registers: [registry],
      async collect() {
        const rows = await snapshot();
        const active = source?.activeKekId();
        if (!rows || active === undefined) return this.reset();
        this.set(rows.filter((r) => r.kekId !== active).reduce((n, r) => n + r.wrappedDeks, 0));
      },
    }),
    new Gauge({
      name: 'memvault_key_stats_age_seconds',
      help: 'Seconds since a key job last counted the memvault_key_* figures',
      registers: [registry],
      async collect() {
        const times = ((await snapshot()) ?? []).flatMap((r) =>
          r.computedAt ? [r.computedAt.getTime()] : [],
        );
        if (times.length === 0) return this.reset();
        this.set((Date.now() - Math.max(...times)) / 1000);
      },
    }),
  );
  return created;
}
