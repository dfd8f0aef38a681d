/**
 * A bare PostgreSQL cluster of the test's own: no database, roles or extension beyond what initdb
 * makes (startCluster's provisionRoles: false). Roles a test creates need a password to sign in. For tests that create or alter cluster-wide roles, which on the shared test cluster would
 * change what every test file running beside them sees. Stopped and removed at teardown.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { type ClusterPaths, type ClusterState, startCluster, stopCluster } from '../../src/db/cluster.js';

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export interface FreshCluster {
  home: string;
  /**
   * A connection URL over the private socket as `user` to `database`, signing in with `password`
   * (default: the superuser's, from the cluster's secrets.env).
   */
  url(user: string, database: string, password?: string): string;
  /** Runs SQL as the cluster superuser in `database`. */
  asSuperuser(database: string, sql: string): Promise<void>;
}

export async function freshCluster(t: Teardown): Promise<FreshCluster> {
  const home = await mkdtemp(join(tmpdir(), 'memvault-fresh-'));
  // Tests running as root start the server as `postgres`, which must be able to pass through.
  await chmod(home, 0o711);
  // A random preferred port, so test files starting clusters at once do not race for one port.
  const saved = process.env.MEMVAULT_PG_PORT;
  process.env.MEMVAULT_PG_PORT = String(20_000 + Math.floor(Math.random() * 30_000));
  let paths: ClusterPaths;
  let state: ClusterState;
  try {
    ({ paths, state } = await startCluster(home, { provisionRoles: false }));
  } finally {
    if (saved === undefined) delete process.env.MEMVAULT_PG_PORT;
    else process.env.MEMVAULT_PG_PORT = saved;
  }
  t.teardown(async () => {
    await stopCluster(home).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  });
  const url = (user: string, database: string, password = state.passwords.postgres!) =>
    `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@/${database}?host=${encodeURIComponent(paths.socketDir)}&port=${state.port}`;
  return {
    home,
    url,
    async asSuperuser(database, sql) {
      const client = new pg.Client({ connectionString: url('postgres', database) });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
  };
}
