/**
 * A real Citus formation on one machine: a coordinator and N workers, each an embedded cluster
 * (src/db/cluster.ts) under its own folder of `home`, with `shared_preload_libraries = 'citus'`.
 * The Citus suite (test/citus/) and the bench's citus suite use it; production runs Citus from its
 * own packages or a managed service (docs/DEPLOYMENT.md "Scaling out").
 *
 * Citus keeps its metadata per database, so `createDatabase` creates the database on every node,
 * creates the extension in each and registers the coordinator and the workers in it.
 *
 * The nodes sign in to each other by password (scram-sha-256, like every client of an embedded
 * cluster; no `trust`): the formation's passwords are generated once into `home`/secrets.env and
 * every node is created with that one set (postgres, memory_app, memory_maintainer, and memory_owner,
 * which Citus signs in as inside SECURITY DEFINER procedures). Each node's server reads them from its
 * own passfile (src/db/cluster.ts `writeServerPassfile`), one line per node and role, because Citus
 * connects to the other nodes as the calling role, from the coordinator and from the workers alike
 * (a delegated procedure that writes a reference table). A deployment does the same with
 * ~postgres/.pgpass on every node, or certificates (docs/DEPLOYMENT.md "Citus").
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  adminUrl,
  appUrl,
  CLUSTER_PASSWORD_VARIABLES,
  type ClusterPasswords,
  clusterPaths,
  type ClusterRole,
  findPgBin,
  restartCluster,
  startCluster,
  stopCluster,
  writeServerPassfile,
} from '../db/cluster.js';
import { withConnection } from '../db/pool.js';
import { scramVerifier } from '../db/scram.js';
import { readSecretsFile, secretsFile, writeSecretsFile } from '../secrets-file.js';

const MARKER = '# memvault citus node';

export interface CitusNode {
  name: string;
  home: string;
  port: number;
  /** Superuser over the node's private socket, with its password. */
  adminUrl(database: string): string;
}

/** The secrets.env name of memory_owner's password (the cluster's own roles have theirs). */
const OWNER_PASSWORD_VARIABLE = 'MEMVAULT_PG_CITUS_OWNER_PASSWORD';

interface FormationPasswords {
  cluster: ClusterPasswords;
  owner: string;
}

/** The formation's one set of passwords, generated into `home`/secrets.env the first time. */
async function formationPasswords(home: string): Promise<FormationPasswords> {
  await mkdir(home, { recursive: true, mode: 0o711 });
  const file = secretsFile(home);
  const stored = await readSecretsFile(file);
  const variables = [...Object.values(CLUSTER_PASSWORD_VARIABLES), OWNER_PASSWORD_VARIABLE];
  const missing = variables.filter((v) => !stored[v]);
  for (const variable of missing) stored[variable] = randomBytes(24).toString('base64url');
  if (missing.length > 0) await writeSecretsFile(file, stored);
  const cluster: ClusterPasswords = {};
  for (const [role, variable] of Object.entries(CLUSTER_PASSWORD_VARIABLES) as [ClusterRole, string][])
    cluster[role] = stored[variable]!;
  return { cluster, owner: stored[OWNER_PASSWORD_VARIABLE]! };
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
  await restartCluster(home);
}

async function startNode(name: string, home: string, passwords: ClusterPasswords): Promise<CitusNode> {
  await startCluster(home, { passwords });
  await configureNode(home);
  const { paths, state } = await startCluster(home, { passwords });
  for (const role of Object.keys(CLUSTER_PASSWORD_VARIABLES) as ClusterRole[]) {
    if (state.passwords[role] !== passwords[role])
      throw new Error(`${home} holds other passwords than the formation's: remove it to recreate the node`);
  }
  return { name, home, port: state.port, adminUrl: (database) => adminUrl(paths, state, database) };
}

/**
 * Gives memory_owner the formation's password on `node` (created NOLOGIN when missing: the role
 * bootstrap of `memvault migrate` gives it LOGIN on Citus), and writes the node's passfile: every
 * node's port with every role's password.
 */
async function admitNodes(node: CitusNode, nodes: CitusNode[], passwords: FormationPasswords): Promise<void> {
  await withConnection(node.adminUrl('postgres'), async (c) => {
    const verifier = c.escapeLiteral(scramVerifier(passwords.owner));
    const { rowCount } = await c.query("select 1 from pg_catalog.pg_roles where rolname = 'memory_owner'");
    await c.query(
      rowCount
        ? `alter role memory_owner password ${verifier}`
        : `create role memory_owner nologin password ${verifier}`,
    );
  });
  const roles: [string, string][] = [
    ...(Object.entries(passwords.cluster) as [string, string][]),
    ['memory_owner', passwords.owner],
  ];
  await writeServerPassfile(
    node.home,
    nodes.flatMap((n) =>
      ['127.0.0.1', 'localhost'].flatMap((host) =>
        roles.map(([role, password]) => ({ host, port: n.port, role, password })),
      ),
    ),
  );
}

/** Starts (creating on first use) a coordinator and `workers` workers under `home`. */
export async function startCitusFormation(home: string, workers: number): Promise<CitusFormation> {
  if (!citusInstalled()) {
    throw new Error(
      'the citus extension is not installed for this PostgreSQL (scripts/ensure-citus.sh builds it)',
    );
  }
  const passwords = await formationPasswords(home);
  // One after the other: each takes the next free port once the previous one listens.
  const coordinator = await startNode('coordinator', join(home, 'coordinator'), passwords.cluster);
  const workerNodes: CitusNode[] = [];
  for (let i = 1; i <= workers; i++)
    workerNodes.push(await startNode(`worker${i}`, join(home, `worker${i}`), passwords.cluster));
  const nodes = [coordinator, ...workerNodes];
  for (const node of nodes) await admitNodes(node, nodes, passwords);
  const paths = clusterPaths(coordinator.home);
  const state = { port: coordinator.port, database: 'postgres', passwords: passwords.cluster };
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

  return {
    coordinator,
    workers: workerNodes,
    adminUrl: coordinator.adminUrl,
    appUrl: (database) => appUrl(paths, state, database),
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
