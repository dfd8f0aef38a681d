/**
 * A PostgreSQL cluster of the test's own, for tests that restart or stop the server: never the
 * shared test cluster, which other test files use in parallel. Created under a fresh temporary
 * MEMVAULT_HOME on a random port, migrated, and stopped and removed at teardown.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { adminUrl, appUrl, restartCluster, startCluster, stopCluster } from '../../src/db/cluster.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { TEST_EMBEDDING_DIM } from '../helpers/cluster.js';

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export interface PrivateCluster {
  home: string;
  adminUrl: string;
  appUrl: string;
  /** Superuser pool on the private database (closed at teardown). */
  admin: Pool;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function privateCluster(t: Teardown): Promise<PrivateCluster> {
  const home = await mkdtemp(join(tmpdir(), 'memvault-fault-'));
  // mkdtemp makes it 0700; when tests run as root the server runs as `postgres` and must be able
  // to pass through (startCluster keeps everything below private).
  await chmod(home, 0o711);
  // A random preferred port: parallel test files each probing upward from the same default
  // could otherwise pick the same free port before either server binds it.
  const saved = process.env.MEMVAULT_PG_PORT;
  process.env.MEMVAULT_PG_PORT = String(20_000 + Math.floor(Math.random() * 30_000));
  let started;
  try {
    started = await startCluster(home);
  } finally {
    if (saved === undefined) delete process.env.MEMVAULT_PG_PORT;
    else process.env.MEMVAULT_PG_PORT = saved;
  }
  const { paths, state } = started;
  const root = createPool({ connectionString: adminUrl(paths, state, 'postgres'), max: 1 });
  await root.query(`create database "${state.database}"`);
  await root.end();
  await migrateDatabase(adminUrl(paths, state), { embeddingDim: TEST_EMBEDDING_DIM, quiet: true });
  const admin = createPool({
    connectionString: adminUrl(paths, state),
    max: 2,
    connectionTimeoutMillis: 2_000,
  });
  t.teardown(async () => {
    await admin.end().catch(() => undefined);
    await stopCluster(home).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  });
  return {
    home,
    adminUrl: adminUrl(paths, state),
    appUrl: appUrl(paths, state),
    admin,
    restart: (mode = 'fast') => restartCluster(home, mode),
    stop: () => stopCluster(home).then(() => undefined),
    start: () => startCluster(home).then(() => undefined),
  };
}
