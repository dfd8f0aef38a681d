/**
 * The PostgreSQL the database suites run against: a private embedded cluster, never the user's
 * memvault data nor the test suite's cluster. By default a fresh one per command under a new
 * temporary home, on a random port, removed at the end: a fixed home and port would collide with
 * other runs on a shared machine (a port taken while the cluster was stopped makes it unable to
 * start again). MEMVAULT_BENCH_HOME names a persistent home instead (kept, stopped at the end if
 * this command started it). Each suite gets a fresh migrated database that it drops at the end.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { adminUrl, appUrl, clusterPaths, isRunning, startCluster, stopCluster } from '../db/cluster.js';
import { migrateDatabase } from '../db/migrate.js';
import { createPool, type Pool } from '../db/pool.js';

export interface BenchDatabase {
  name: string;
  /** Superuser: arranging data, bypassing RLS for baselines. */
  adminUrl: string;
  /** memory_app: what the daemon uses, RLS applies. */
  appUrl: string;
  drop(): Promise<void>;
  /** A superuser pool and a memory_app pool on this database; `end()` closes both. */
  openPools(sizes?: { adminMax?: number; appMax?: number }): BenchPools;
}

export interface BenchPools {
  admin: Pool;
  app: Pool;
  end(): Promise<void>;
}

export class BenchCluster {
  private constructor(
    readonly home: string,
    private readonly startedHere: boolean,
    private readonly temporary: boolean,
    private readonly url: (database: string, app: boolean) => string,
  ) {}

  static async start(persistentHome = process.env.MEMVAULT_BENCH_HOME): Promise<BenchCluster> {
    let home = persistentHome;
    if (home === undefined) {
      home = await mkdtemp(join(tmpdir(), 'memvault-bench-'));
      // When run as root the server runs as `postgres`, which must be able to pass through.
      await chmod(home, 0o711);
    }
    const wasRunning = await isRunning(clusterPaths(home)).catch(() => false);
    const saved = process.env.MEMVAULT_PG_PORT;
    process.env.MEMVAULT_PG_PORT ??= String(20_000 + Math.floor(Math.random() * 30_000));
    try {
      const { paths, state } = await startCluster(home);
      return new BenchCluster(home, !wasRunning, persistentHome === undefined, (database, app) =>
        app ? appUrl(paths, state, database) : adminUrl(paths, state, database),
      );
    } finally {
      if (saved === undefined) delete process.env.MEMVAULT_PG_PORT;
    }
  }

  adminUrl(database = 'postgres'): string {
    return this.url(database, false);
  }

  /** A fresh database with memvault's schema at `embeddingDim` dimensions. */
  async createDatabase(label: string, embeddingDim = 384): Promise<BenchDatabase> {
    const name = `mvbench_${label}_${randomBytes(4).toString('hex')}`;
    // The name is ours (hex suffix), so quoting it is enough: no input reaches this SQL.
    await this.admin((db) => db.query(`create database "${name}"`));
    await migrateDatabase(this.url(name, false), { embeddingDim, quiet: true });
    return {
      name,
      adminUrl: this.url(name, false),
      appUrl: this.url(name, true),
      drop: () =>
        this.admin((db) => db.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
      openPools: ({ adminMax = 3, appMax = 1 } = {}) => {
        const admin = createPool({
          connectionString: this.url(name, false),
          max: adminMax,
          applicationName: 'memvault-bench',
          // Loading 100k rows or building an HNSW index takes minutes, not the daemon's 15 s.
          statementTimeoutMillis: 600_000,
          // A new connection can take seconds while bulk loads saturate a small shared machine.
          connectionTimeoutMillis: 60_000,
        });
        const app = createPool({
          connectionString: this.url(name, true),
          max: appMax,
          applicationName: 'memvault-bench',
        });
        return { admin, app, end: () => Promise.all([admin.end(), app.end()]).then(() => undefined) };
      },
    };
  }

  async stop(): Promise<void> {
    if (this.startedHere) await stopCluster(this.home);
    if (this.temporary) await rm(this.home, { recursive: true, force: true });
  }

  private async admin<T>(fn: (db: Pool) => Promise<T>): Promise<T> {
    const pool = createPool({
      connectionString: this.url('postgres', false),
      max: 1,
      applicationName: 'memvault-bench',
    });
    try {
      return await fn(pool);
    } finally {
      await pool.end();
    }
  }
}
