/**
 * A real pgbouncer (the Debian package, installed by scripts/ensure-postgres.sh --with-pgbouncer)
 * in front of an embedded cluster (the test cluster, test/helpers/db.ts; a bench cluster, the
 * scale suite), on a free loopback port, stopped at teardown. It runs as the cluster's server
 * user: pgbouncer refuses to run as root, and it reaches the cluster through the private Unix
 * socket directory that user owns.
 *
 * No `ignore_startup_parameters`: a client that sends `statement_timeout` or `options` at
 * connect time is refused, exactly as a stock pgbouncer refuses it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { clusterPaths, type ClusterRole, readState } from '../db/cluster.js';
import { createPool } from '../db/pool.js';

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export const PGBOUNCER_BIN = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

export interface Pgbouncer {
  readonly port: number;
  /** postgresql://role:password@127.0.0.1:port/database through the pooler (not for printing). */
  url(role: ClusterRole, database: string): string;
  /** The admin console's SHOW <what> (as the `postgres` admin user). */
  show(what: 'stats' | 'pools' | 'config' | 'servers' | 'clients'): Promise<Array<Record<string, string>>>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function serverUserIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

async function waitUntilAccepting(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new Error(`pgbouncer exited with ${child.exitCode}:\n${log.slice(-2000)}`);
    }
    // pgbouncer's admin console: plain queries only (no transaction, no parameters).
    const probe = createPool({ connectionString: url, max: 1, connectionTimeoutMillis: 1_000 });
    try {
      await probe.query('show version');
      return;
    } catch {
      if (Date.now() > deadline) throw new Error('pgbouncer did not accept connections within 15 s');
    } finally {
      await probe.end().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PgbouncerOptions {
  /** MEMVAULT_HOME of the embedded cluster to pool; pgbouncer's files go in a folder below it. */
  clusterHome: string;
  poolMode?: 'transaction' | 'session' | 'statement';
  poolSize?: number;
}

/** Starts pgbouncer in `poolMode` (default transaction) in front of the cluster; stopped at teardown. */
export async function startPgbouncer(t: Teardown, options: PgbouncerOptions): Promise<Pgbouncer> {
  if (!existsSync(PGBOUNCER_BIN)) {
    throw new Error(
      `${PGBOUNCER_BIN} is missing: run \`bash scripts/ensure-postgres.sh --with-pgbouncer\` as root (npm test does)`,
    );
  }
  const paths = clusterPaths(options.clusterHome);
  const state = await readState(paths);
  if (!state) throw new Error(`no embedded cluster in ${options.clusterHome}`);
  const dir = join(options.clusterHome, `pgbouncer-${process.pid}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ids = serverUserIds();
  const logFile = join(dir, 'pgbouncer.log');
  // Clients sign in to pgbouncer with the roles' own passwords (scram-sha-256, as to the cluster);
  // pgbouncer, holding them in plain text in its private auth_file, signs in to the cluster with the
  // same ones. No trust: a loopback port must not bypass the cluster's passwords.
  const passwords = state.passwords;
  const roles = Object.keys(passwords) as ClusterRole[];
  const userlist = roles.map((role) => `"${role}" "${passwords[role]!}"`).join('\n');
  await writeFile(join(dir, 'userlist.txt'), userlist + '\n', { mode: 0o600 });
  const poolerUrl = (at: number, role: ClusterRole, database: string) =>
    `postgresql://${role}:${encodeURIComponent(passwords[role] ?? '')}@127.0.0.1:${at}/${database}`;
  let port = 0;
  let child: ChildProcess | undefined;
  // A port taken between choosing it and pgbouncer binding it: choose again.
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    const ini = [
      '[databases]',
      `* = host=${paths.socketDir} port=${state.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'admin_users = postgres',
      `pool_mode = ${options.poolMode ?? 'transaction'}`,
      `default_pool_size = ${options.poolSize ?? 8}`,
      'max_client_conn = 500',
      `logfile = ${logFile}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n');
    await writeFile(join(dir, 'pgbouncer.ini'), ini, { mode: 0o600 });
    if (ids)
      await Promise.all(
        ['', 'userlist.txt', 'pgbouncer.ini'].map((f) => chown(join(dir, f), ids.uid, ids.gid)),
      );
    const started = spawn(PGBOUNCER_BIN, ['-q', join(dir, 'pgbouncer.ini')], {
      ...(ids ?? {}),
      cwd: '/',
      stdio: 'ignore',
    });
    try {
      await waitUntilAccepting(poolerUrl(port, 'postgres', 'pgbouncer'), started, logFile);
      child = started;
    } catch (error) {
      started.kill('SIGKILL');
      const log = await readFile(logFile, 'utf8').catch(() => '');
      if (attempt >= 3 || !/Address already in use/.test(log)) throw error;
    }
  }
  const running = child;
  const exited = new Promise<void>((resolve) => {
    if (running.exitCode !== null) resolve();
    else running.once('exit', () => resolve());
  });
  // A test process that dies before its teardown (an uncaught error) takes its pooler with it.
  const killOnExit = () => running.kill('SIGKILL');
  process.once('exit', killOnExit);
  const bouncer: Pgbouncer = {
    port,
    url: (role, database) => poolerUrl(port, role, database),
    async show(what) {
      const admin = createPool({ connectionString: bouncer.url('postgres', 'pgbouncer'), max: 1 });
      try {
        // The admin console speaks the simple protocol only: no parameters, no transaction.
        return (await admin.query<Record<string, string>>(`show ${what}`)).rows;
      } finally {
        await admin.end();
      }
    },
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    async stop() {
      // SIGTERM: immediate shutdown (SIGINT would wait for connected clients). Idempotent.
      process.removeListener('exit', killOnExit);
      if (running.exitCode === null) running.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
  t.teardown(() => bouncer.stop());
  return bouncer;
}
