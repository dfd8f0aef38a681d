/**
 * The PostgreSQL the database suites run against: a private embedded cluster under its own home
 * (MEMVAULT_BENCH_HOME, default <tmpdir>/memvault-bench), never the user's memvault data nor the
 * test suite's cluster. Each suite gets a fresh migrated database that it drops at the end; the
 * cluster is stopped at the end of the command if the command started it.
 */
import { randomBytes } from 'node:crypto';
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
}

export class BenchCluster {
  private constructor(
    readonly home: string,
    private readonly startedHere: boolean,
    private readonly url: (database: string, app: boolean) => string,
  ) {}

  static async start(home = process.env.MEMVAULT_BENCH_HOME ?? join(tmpdir(), 'memvault-bench')): Promise<BenchCluster> {
    const wasRunning = await isRunning(clusterPaths(home)).catch(() => false);
    const { paths, state } = await startCluster(home);
    return new BenchCluster(home, !wasRunning, (database, app) => (app ? appUrl(paths, state, database) : adminUrl(paths, state, database)));
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
      drop: () => this.admin((db) => db.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
    };
  }

  async stop(): Promise<void> {
    if (this.startedHere) await stopCluster(this.home);
  }

  private async admin<T>(fn: (db: Pool) => Promise<T>): Promise<T> {
    const pool = createPool({ connectionString: this.url('postgres', false), max: 1, applicationName: 'memvault-bench' });
    try {
      return await fn(pool);
    } finally {
      await pool.end();
    }
  }
}
