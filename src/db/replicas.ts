/**
 * Read replicas (MEMVAULT_READ_URL): where a tenant's reads (search, get) run. Writes, key jobs and
 * the tenant key store stay on the primary. See docs/DEPLOYMENT.md, "Scaling out".
 *
 * Staleness, decided here and nowhere else:
 *   - Lag. A probe (every `probeIntervalMs`) samples the primary's WAL position and each replica's
 *     replay position. A replica that has replayed what the primary had at time t is at most
 *     now - t behind; above `maxLagMs` (or unreachable, or no longer in recovery) it gets no reads
 *     until a probe finds it healthy again.
 *   - Read-your-writes. After each write this daemon remembers the tenant's commit position (the
 *     primary's WAL position read after the commit). A read of that tenant goes to a replica only
 *     once the replica has replayed past it, waiting up to `waitMs`; else it runs on the primary.
 *     Positions are forgotten once every healthy replica has replayed past them. Writes made
 *     through another daemon are covered only by the lag bound.
 *   - Failure. A read that fails on a replica because the replica is unavailable marks it down and
 *     runs again on the primary (reads are idempotent); the caller never sees the replica's error.
 * Every routing decision is counted (memvault_read_route_total{target,reason}); replica state is
 * exported as memvault_replica_up and memvault_replica_lag_seconds; state changes are logged with
 * the replica's index, never its URL.
 */
import { Counter, Gauge } from 'prom-client';

import { log } from '../log.js';
import { registry } from '../metrics.js';
import { DatabaseUnavailableError } from './errors.js';
import { createPool, type Pool } from './pool.js';
import { call } from './procedures.js';

export type ReadRouteReason = 'replica' | 'no_healthy_replica' | 'read_your_writes' | 'replica_failed';

const routes = new Counter({
  name: 'memvault_read_route_total',
  help: 'tenant reads by where they ran (primary, replica) and why',
  labelNames: ['target', 'reason'],
  registers: [registry],
});
const replicaUp = new Gauge({
  name: 'memvault_replica_up',
  help: '1 while the read replica gets reads (reachable, in recovery, within MEMVAULT_READ_MAX_LAG_MS)',
  labelNames: ['replica'],
  registers: [registry],
});
const replicaLag = new Gauge({
  name: 'memvault_replica_lag_seconds',
  help: 'upper bound of how far the read replica is behind the primary, from the last probe',
  labelNames: ['replica'],
  registers: [registry],
});

/** pg_lsn text (X/Y) as a number of bytes; exact up to 2^53 (petabytes of WAL). */
export function parseLsn(text: string): number {
  const [hi, lo] = text.split('/');
  return Number.parseInt(hi!, 16) * 2 ** 32 + Number.parseInt(lo!, 16);
}

export interface ReplicaRouterOptions {
  primary: Pool;
  urls: string[];
  maxLagMs: number;
  waitMs: number;
  probeIntervalMs?: number;
  poolMax?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

type Health = 'unknown' | 'up' | 'down' | 'lagging' | 'not_in_recovery';

interface Replica {
  readonly index: number;
  readonly pool: Pool;
  health: Health;
  replayLsn: number | null;
  lagMs: number | null;
}

export interface ReplicaState {
  replica: number;
  health: Health;
  lag_ms: number | null;
}

const SAMPLE_WINDOW_MS = 120_000;

export class ReplicaRouter {
  private readonly replicas: Replica[];
  private readonly samples: Array<{ at: number; lsn: number }> = [];
  private readonly lastWrite = new Map<string, number>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: ReplicaRouterOptions) {
    this.replicas = options.urls.map((url, index) => ({
      index,
      pool: createPool({
        connectionString: url,
        max: options.poolMax ?? 10,
        connectionTimeoutMillis: options.connectTimeoutMs ?? 2_000,
        statementTimeoutMillis: options.statementTimeoutMs ?? 15_000,
        applicationName: 'memvault-read',
      }),
      health: 'unknown',
      replayLsn: null,
      lagMs: null,
    }));
  }

  /** Probes once now (so the first reads can use the replicas), then every probeIntervalMs. */
  async start(): Promise<void> {
    await this.probe();
    const every = this.options.probeIntervalMs ?? 250;
    this.timer = setInterval(() => void this.probe(), every);
    this.timer.unref();
  }

  get state(): ReplicaState[] {
    return this.replicas.map((r) => ({ replica: r.index, health: r.health, lag_ms: r.lagMs }));
  }

  /** Called after a tenant's write committed on the primary: its reads must see it. */
  async noteWrite(userHash: string): Promise<void> {
    const [row] = await call<{ lsn: string }>(
      this.options.primary,
      'select pg_current_wal_lsn()::text as lsn',
      [],
    );
    const lsn = parseLsn(row!.lsn);
    this.lastWrite.delete(userHash); // re-inserted last: Map order is then oldest write first
    this.lastWrite.set(userHash, lsn);
    if (this.lastWrite.size > 100_000) this.lastWrite.delete(this.lastWrite.keys().next().value!);
  }

  /** Runs a tenant's read on a replica when that is safe (see the module comment), else the primary. */
  async read<T>(userHash: string, fn: (pool: Pool) => Promise<T>): Promise<T> {
    const healthy = this.replicas.filter((r) => r.health === 'up');
    if (healthy.length === 0) return this.onPrimary('no_healthy_replica', fn);
    const replica = healthy[this.next++ % healthy.length]!;
    const written = this.lastWrite.get(userHash);
    if (written !== undefined && !(await this.caughtUp(replica, written))) {
      return this.onPrimary('read_your_writes', fn);
    }
    try {
      const result = await fn(replica.pool);
      routes.inc({ target: 'replica', reason: 'replica' });
      return result;
    } catch (thrown) {
      if (!(thrown instanceof DatabaseUnavailableError)) throw thrown;
      this.mark(replica, 'down');
      return this.onPrimary('replica_failed', fn);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.probing;
    await Promise.all(this.replicas.map((r) => r.pool.end().catch(() => undefined)));
  }

  private async onPrimary<T>(reason: ReadRouteReason, fn: (pool: Pool) => Promise<T>): Promise<T> {
    const result = await fn(this.options.primary);
    routes.inc({ target: 'primary', reason });
    return result;
  }

  /** Has the replica replayed `lsn`? Polls it for up to waitMs. */
  private async caughtUp(replica: Replica, lsn: number): Promise<boolean> {
    if (replica.replayLsn !== null && replica.replayLsn >= lsn) return true;
    const deadline = Date.now() + this.options.waitMs;
    for (;;) {
      try {
        replica.replayLsn = await this.replayLsn(replica);
      } catch {
        this.mark(replica, 'down');
        return false;
      }
      if (replica.replayLsn !== null && replica.replayLsn >= lsn) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5, this.options.waitMs)));
    }
  }

  private async replayLsn(replica: Replica): Promise<number | null> {
    const [row] = await call<{ lsn: string | null; standby: boolean }>(
      replica.pool,
      'select pg_last_wal_replay_lsn()::text as lsn, pg_is_in_recovery() as standby',
      [],
    );
    if (!row!.standby) {
      this.mark(replica, 'not_in_recovery');
      return null;
    }
    return row!.lsn === null ? null : parseLsn(row!.lsn);
  }

  private probe(): Promise<void> {
    if (this.probing || this.closed) return this.probing ?? Promise.resolve();
    this.probing = this.probeOnce().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async probeOnce(): Promise<void> {
    const now = Date.now();
    try {
      const [row] = await call<{ lsn: string }>(
        this.options.primary,
        'select pg_current_wal_lsn()::text as lsn',
        [],
      );
      this.samples.push({ at: now, lsn: parseLsn(row!.lsn) });
      while (this.samples.length > 2 && this.samples[0]!.at < now - SAMPLE_WINDOW_MS) this.samples.shift();
    } catch {
      // The primary is down: nothing to compare with; replicas keep their last verdict.
      return;
    }
    await Promise.all(
      this.replicas.map(async (replica) => {
        let replayed: number | null;
        try {
          replayed = await this.replayLsn(replica);
        } catch {
          this.mark(replica, 'down');
          return;
        }
        if (replayed === null) return; // not in recovery (marked) or nothing replayed yet
        replica.replayLsn = replayed;
        replica.lagMs = this.lagMs(replayed, now);
        replicaLag.set({ replica: String(replica.index) }, replica.lagMs / 1000);
        this.mark(replica, replica.lagMs > this.options.maxLagMs ? 'lagging' : 'up');
      }),
    );
    this.forgetReplicatedWrites();
  }

  /** now - (the newest sample time at which the primary had no more WAL than the replica replayed). */
  private lagMs(replayed: number, now: number): number {
    for (let i = this.samples.length - 1; i >= 0; i--) {
      if (this.samples[i]!.lsn <= replayed) return now - this.samples[i]!.at;
    }
    return now - (this.samples[0]?.at ?? now);
  }

  /** Drops write positions every replica has replayed (a replica down or lagging now may serve later). */
  private forgetReplicatedWrites(): void {
    if (this.replicas.some((r) => r.replayLsn === null)) return;
    const replayedByAll = Math.min(...this.replicas.map((r) => r.replayLsn!));
    for (const [tenant, lsn] of this.lastWrite) {
      if (lsn <= replayedByAll) this.lastWrite.delete(tenant);
    }
  }

  private mark(replica: Replica, health: Health): void {
    replicaUp.set({ replica: String(replica.index) }, health === 'up' ? 1 : 0);
    if (replica.health === health) return;
    const previous = replica.health;
    replica.health = health;
    if (health === 'up') log.info({ replica: replica.index, previous }, 'read replica is serving reads');
    else
      log.warn(
        { replica: replica.index, health, lag_ms: replica.lagMs },
        'read replica gets no reads until it is healthy again; reads go to the primary',
      );
  }
}
