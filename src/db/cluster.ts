/**
 * The embedded default: a private PostgreSQL cluster under MEMVAULT_HOME, reachable only through a
 * Unix socket in a private directory and on loopback. `memvault db up/down/status` and the test
 * setup drive it; production points DATABASE_URL at a managed server instead.
 *
 * initdb and postgres refuse to run as root, so when we are root the server runs as the `postgres`
 * user (which the Debian package creates) and the directories are handed to it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { MemvaultError } from '../errors.js';

const execFileAsync = promisify(execFile);

export interface ClusterPaths {
  home: string;
  dataDir: string;
  socketDir: string;
  logFile: string;
  stateFile: string;
}

export interface ClusterState {
  port: number;
  database: string;
}

export class ClusterError extends MemvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('cluster_error', message, options);
  }
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** MEMVAULT_HOME, else /var/lib/memvault for root (postgres must reach it), else the XDG data dir. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MEMVAULT_HOME) return env.MEMVAULT_HOME;
  if (isRoot()) return '/var/lib/memvault';
  const dataHome = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(dataHome, 'memvault');
}

export function clusterPaths(home: string): ClusterPaths {
  return {
    home,
    dataDir: join(home, 'pg', 'data'),
    socketDir: join(home, 'pg', 'run'),
    logFile: join(home, 'pg', 'postgres.log'),
    stateFile: join(home, 'pg', 'cluster.json'),
  };
}

/** The newest installed server's bin directory (PG_BIN overrides), e.g. /usr/lib/postgresql/15/bin. */
export function findPgBin(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PG_BIN) return env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'postgres')))
        .map(Number)
        .sort((a, b) => b - a)
    : [];
  if (majors.length === 0 || majors[0]! < 15) {
    throw new ClusterError(
      'no PostgreSQL >= 15 server found: run scripts/ensure-postgres.sh as root, or set PG_BIN',
    );
  }
  return join(root, String(majors[0]), 'bin');
}

interface RunAs {
  uid?: number;
  gid?: number;
}

async function serverUser(): Promise<RunAs> {
  if (!isRoot()) return {};
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-g', 'postgres']),
    ]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    throw new ClusterError('running as root needs a `postgres` system user to run the server as');
  }
}

function run(cmd: string, args: string[], as: RunAs, opts: { quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...as,
      // A neutral cwd the server user can enter; PGTZ etc. are left to the server's defaults.
      cwd: '/',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 || opts.quiet) resolve(out);
      else reject(new ClusterError(`${cmd.split('/').pop()} exited with ${code}: ${out.trim().slice(-800)}`));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function choosePort(preferred: number): Promise<number> {
  for (let port = preferred; port < preferred + 100; port++) {
    if (await portIsFree(port)) return port;
  }
  throw new ClusterError(`no free TCP port in ${preferred}..${preferred + 99}`);
}

export async function readState(paths: ClusterPaths): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(paths.stateFile, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

/** Superuser connection over the private socket (trust auth, reachable only by the socket dir's owner). */
export function adminUrl(paths: ClusterPaths, state: ClusterState, database = state.database): string {
  return `postgresql://postgres@/${database}?host=${encodeURIComponent(paths.socketDir)}&port=${state.port}`;
}

/** The daemon's least-privileged connection; it carries no password, so it is safe to print. */
export function appUrl(paths: ClusterPaths, state: ClusterState, database = state.database): string {
  return `postgresql://memory_app@/${database}?host=${encodeURIComponent(paths.socketDir)}&port=${state.port}`;
}

async function initCluster(paths: ClusterPaths, bin: string, as: RunAs, port: number): Promise<void> {
  // When the server runs as another user it must be able to pass through MEMVAULT_HOME (x only);
  // the files inside stay private to their owners.
  await mkdir(paths.home, { recursive: true, mode: as.uid !== undefined ? 0o711 : 0o700 });
  await mkdir(join(paths.home, 'pg'), { recursive: true, mode: 0o700 });
  await mkdir(paths.socketDir, { recursive: true, mode: 0o700 });
  if (as.uid !== undefined) {
    await chown(join(paths.home, 'pg'), as.uid, as.gid!);
    await chown(paths.socketDir, as.uid, as.gid!);
    // The server user must be able to walk down to its directory.
    await run('test', ['-w', join(paths.home, 'pg')], as).catch(() => {
      throw new ClusterError(
        `the postgres user cannot reach ${paths.home}: set MEMVAULT_HOME to a directory outside private home folders`,
      );
    });
  }
  await run(
    join(bin, 'initdb'),
    [
      '-D',
      paths.dataDir,
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--no-locale',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
    ],
    as,
  );
  const conf = [
    '',
    '# memvault embedded cluster: private socket + loopback only',
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${paths.socketDir.replace(/'/g, "''")}'`,
    'unix_socket_permissions = 0700',
    'max_connections = 100',
    "shared_buffers = '256MB'",
    "maintenance_work_mem = '512MB'",
    "log_min_messages = 'warning'",
    '',
  ].join('\n');
  const confFile = join(paths.dataDir, 'postgresql.conf');
  const existing = await readFile(confFile, 'utf8');
  await writeFile(confFile, existing + conf);
}

export async function isRunning(paths: ClusterPaths, bin = findPgBin()): Promise<boolean> {
  if (!existsSync(join(paths.dataDir, 'PG_VERSION'))) return false;
  const as = await serverUser();
  const out = await run(join(bin, 'pg_ctl'), ['-D', paths.dataDir, 'status'], as, { quiet: true });
  return /server is running/.test(out);
}

/**
 * Creates (first time) and starts the cluster; returns its state. Idempotent and fast when the
 * cluster is already running.
 */
export async function startCluster(
  home = defaultHome(),
): Promise<{ paths: ClusterPaths; state: ClusterState; created: boolean }> {
  const paths = clusterPaths(home);
  const bin = findPgBin();
  const as = await serverUser();
  let state = await readState(paths);
  let created = false;
  if (!existsSync(join(paths.dataDir, 'PG_VERSION'))) {
    const port = await choosePort(Number(process.env.MEMVAULT_PG_PORT ?? 54329));
    await initCluster(paths, bin, as, port);
    state = { port, database: 'memvault' };
    await writeFile(paths.stateFile, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    created = true;
  }
  if (!state)
    throw new ClusterError(`${paths.stateFile} is missing: remove ${paths.dataDir} to recreate the cluster`);
  if (!(await isRunning(paths, bin))) {
    await run(join(bin, 'pg_ctl'), ['-D', paths.dataDir, '-l', paths.logFile, '-w', '-t', '60', 'start'], as);
  }
  return { paths, state, created };
}

export async function stopCluster(home = defaultHome()): Promise<boolean> {
  const paths = clusterPaths(home);
  const bin = findPgBin();
  if (!(await isRunning(paths, bin))) return false;
  await run(
    join(bin, 'pg_ctl'),
    ['-D', paths.dataDir, '-w', '-t', '60', '-m', 'fast', 'stop'],
    await serverUser(),
  );
  return true;
}

/** Restart (used by fault-injection tests: acknowledged writes must survive). */
export async function restartCluster(
  home = defaultHome(),
  mode: 'fast' | 'immediate' = 'fast',
): Promise<void> {
  const paths = clusterPaths(home);
  const bin = findPgBin();
  await run(
    join(bin, 'pg_ctl'),
    ['-D', paths.dataDir, '-l', paths.logFile, '-w', '-t', '60', '-m', mode, 'restart'],
    await serverUser(),
  );
}
