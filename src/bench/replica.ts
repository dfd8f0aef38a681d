/**
 * A real streaming replica of an embedded cluster on the same machine (the read-replica tests'
 * private cluster, the scale suite's bench cluster): pg_basebackup -R (standby.signal +
 * primary_conninfo), its own data directory and private socket directory (no TCP listener, so no
 * port to collide on), started with pg_ctl as the server user. Stopped at teardown; its files live
 * under the primary's home, which whoever owns that home removes.
 */
import { execFile } from 'node:child_process';
import { appendFile, chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { clusterPaths, type ClusterRole, clusterUrl, findPgBin, readState } from '../db/cluster.js';
import { createPool, type Pool } from '../db/pool.js';

const execFileAsync = promisify(execFile);

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export interface StreamingReplica {
  /** memory_app on the replica (what MEMVAULT_READ_URL names). */
  appUrl: string;
  /** Superuser pool on the replica: pg_wal_replay_pause() and friends. */
  admin: Pool;
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function serverUser(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    execFileAsync('id', ['-u', 'postgres']),
    execFileAsync('id', ['-g', 'postgres']),
  ]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** A streaming replica of the embedded cluster under `primary.home`, serving `primary.database` (default: the cluster's). */
export async function startReplica(
  t: Teardown,
  primary: { home: string; database?: string },
): Promise<StreamingReplica> {
  const bin = findPgBin();
  const as = await serverUser();
  const source = clusterPaths(primary.home);
  const state = (await readState(source))!;
  const dir = join(primary.home, `replica-${process.pid}-${Date.now().toString(36)}`);
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'run');
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  if (as.uid !== undefined) await Promise.all([dir, socketDir].map((d) => chown(d, as.uid!, as.gid!)));
  const run = (cmd: string, args: string[]) =>
    execFileAsync(join(bin, cmd), args, {
      ...as,
      cwd: '/',
      // pg_basebackup signs in as postgres with its password, and -R writes it into the replica's
      // primary_conninfo (a file of the server user's, mode 0600), which streaming then uses.
      env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8', PGPASSWORD: state.passwords.postgres ?? '' },
    });

  await run('pg_basebackup', [
    '-D',
    dataDir,
    '-R', // standby.signal + primary_conninfo
    '-X',
    'stream',
    '-c',
    'fast',
    '-h',
    source.socketDir,
    '-p',
    String(state.port),
    '-U',
    'postgres',
  ]);
  // Later lines win over the primary's copied settings: socket only, in the replica's own directory.
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    `\n# streaming replica for tests\nlisten_addresses = ''\nunix_socket_directories = '${socketDir}'\nhot_standby = on\n`,
  );
  const logFile = join(dir, 'replica.log');
  const start = async () => {
    await run('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start']);
  };
  const stop = async () => {
    await run('pg_ctl', ['-D', dataDir, '-w', '-t', '60', '-m', 'fast', 'stop']).catch(() => undefined);
  };
  await start();
  const database = primary.database ?? state.database;
  // The replica is a copy of the primary: the same roles, passwords and pg_hba.conf.
  const url = (role: ClusterRole) => clusterUrl({ ...source, socketDir }, state, role, database);
  const admin = createPool({ connectionString: url('postgres'), max: 1, connectionTimeoutMillis: 2_000 });
  t.teardown(async () => {
    await admin.end().catch(() => undefined);
    await stop();
  });
  return {
    appUrl: url('memory_app'),
    admin,
    pauseReplay: async () => void (await admin.query('select pg_wal_replay_pause()')),
    resumeReplay: async () => void (await admin.query('select pg_wal_replay_resume()')),
    stop,
    start,
  };
}
