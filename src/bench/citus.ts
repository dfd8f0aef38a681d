/**
 * A real Citus formation on one machine: a coordinator and N workers, each an embedded cluster
 * (src/db/cluster.ts) under its own folder of `home`, with `shared_preload_libraries = 'citus'`.
 * The Citus suite (test/citus/) and the bench's citus suite use it; production runs Citus from its
 * own packages or a managed service (docs/DEPLOYMENT.md "Scaling out").
 *
 * Citus keeps its metadata per database, so `createDatabase` creates the database on every node,
 * creates the extension in each and registers the coordinator and the workers in it.
 *
 * The nodes reach each other on loopback with `trust` (first line of each pg_hba.conf): Citus
 * connects to workers as the calling role, and these throwaway clusters hold no password for
 * memory_app. A deployment uses its own authentication between nodes (Citus docs: node_conninfo,
 * .pgpass or certificates).
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { clusterPaths, findPgBin, restartCluster, startCluster, stopCluster } from '../db/cluster.js';
import { withConnection } from '../db/pool.js';

const MARKER = '# memvault citus node';

export interface CitusNode {
  name: string;
  home: string;
  port: number;
  /** Superuser over the node's private socket. */
  adminUrl(database: string): string;
}

export interface CitusFormation {
  coordinator: CitusNode;
  workers: CitusNode[];
  /**
   * A database with the citus extension on every node and the workers registered (idempotent);
   * `workers` registers only the first N (Citus keeps its node list per database).
   */
  createDatabase(database: string, workers?: number): Promise<void>;
  dropDatabase(database: string): Promise<void>;
  /** Superuser on the coordinator: what `memvault migrate` connects with. */
  adminUrl(database: string): string;
  /** memory_app on the coordinator (over its socket): what the daemon connects with. */
  appUrl(database: string): string;
  stop(): Promise<void>;
}

/** Whether the server has the citus extension installed (the shared library and its control file). */
export function citusInstalled(bin = findPgBin()): boolean {
  // /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15/extension/citus.control
  const major = bin.split('/').at(-2) ?? '';
  return existsSync(join('/usr/share/postgresql', major, 'extension', 'citus.control'));
}

async function configureNode(home: string): Promise<void> {
  const paths = clusterPaths(home);
  const confFile = join(paths.dataDir, 'postgresql.conf');
  const conf = await readFile(confFile, 'utf8');
  if (conf.includes(MARKER)) return;
  await writeFile(
    confFile,
    conf +
      [
        '',
        MARKER,
        "shared_preload_libraries = 'citus'",
        // The nodes talk over loopback without TLS: one machine, throwaway clusters.
        "citus.node_conninfo = 'sslmode=disable'",
        'max_connections = 200',
        // Few background processes: the formation shares a small machine with everything else.
        'citus.max_background_task_executors_per_node = 1',
        // 8 shards per distributed table rather than 32: fewer shard tables to create per database.
        'citus.shard_count = 8',
        // Per-node procedure call counts: the Citus suites check that calls ran on the workers.
        "track_functions = 'all'",
        '',
      ].join('\n'),
  );
  const hbaFile = join(paths.dataDir, 'pg_hba.conf');
  const hba = await readFile(hbaFile, 'utf8');
  await writeFile(
    hbaFile,
    `${MARKER}: nodes reach each other on loopback\nhost all all 127.0.0.1/32 trust\n${hba}`,
  );
  await restartCluster(home);
}

async function startNode(name: string, home: string): Promise<CitusNode> {
  await startCluster(home);
  await configureNode(home);
  const { paths, state } = await startCluster(home);
  return {
    name,
    home,
    port: state.port,
    adminUrl: (database) =>
      `postgresql://postgres@/${database}?host=${encodeURIComponent(paths.socketDir)}&port=${state.port}`,
  };
}

/** Starts (creating on first use) a coordinator and `workers` workers under `home`. */
export async function startCitusFormation(home: string, workers: number): Promise<CitusFormation> {
  if (!citusInstalled()) {
    throw new Error(
      'the citus extension is not installed for this PostgreSQL (scripts/ensure-citus.sh builds it)',
    );
  }
  // One after the other: each takes the next free port once the previous one listens.
  const coordinator = await startNode('coordinator', join(home, 'coordinator'));
  const workerNodes: CitusNode[] = [];
  for (let i = 1; i <= workers; i++)
    workerNodes.push(await startNode(`worker${i}`, join(home, `worker${i}`)));
  const nodes = [coordinator, ...workerNodes];
  const paths = clusterPaths(coordinator.home);
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

  return {
    coordinator,
    workers: workerNodes,
    adminUrl: coordinator.adminUrl,
    appUrl: (database) =>
      `postgresql://memory_app@/${database}?host=${encodeURIComponent(paths.socketDir)}&port=${coordinator.port}`,
    async createDatabase(database, workers = workerNodes.length) {
      const registered = workerNodes.slice(0, workers);
      for (const node of [coordinator, ...registered]) {
        await withConnection(node.adminUrl('postgres'), async (c) => {
          const { rowCount } = await c.query('select 1 from pg_database where datname = $1', [database]);
          if (!rowCount) await c.query(`create database ${q(database)}`);
        });
        await withConnection(node.adminUrl(database), (c) => c.query('create extension if not exists citus'));
      }
      await withConnection(coordinator.adminUrl(database), async (c) => {
        await c.query('select citus_set_coordinator_host($1, $2)', ['127.0.0.1', coordinator.port]);
        for (const worker of registered) {
          const { rowCount } = await c.query('select 1 from pg_dist_node where nodeport = $1', [worker.port]);
          if (!rowCount) await c.query('select citus_add_node($1, $2)', ['127.0.0.1', worker.port]);
        }
      });
    },
    async dropDatabase(database) {
      for (const node of nodes) {
        await withConnection(node.adminUrl('postgres'), (c) =>
          c.query(`drop database if exists ${q(database)} with (force)`),
        );
      }
    },
    async stop() {
      for (const node of nodes.reverse()) await stopCluster(node.home);
    },
  };
}
