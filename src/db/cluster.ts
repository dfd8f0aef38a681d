/**
 * The embedded default: a private PostgreSQL cluster under MEMVAULT_HOME, reachable only through a
 * Unix socket in a private directory and on loopback. `memvault db up/down/status` and the test
 * setup drive it; production points DATABASE_URL at a managed server instead.
 *
 * Every role signs in with a password (scram-sha-256, socket and loopback alike; no `trust`): the
 * passwords are generated once into MEMVAULT_HOME/secrets.env (mode 0600, beside the keys), so a
 * process that can reach the socket but cannot read that file reaches no role. A cluster made
 * before this (local `trust`) is moved over on its next start.
 *
 * The server's own outgoing connections (a Citus node's to the other nodes) sign in with the
 * passwords in MEMVAULT_HOME/pg/server.pgpass (`writeServerPassfile`): the server starts with
 * PGPASSFILE pointing there, never at ~postgres/.pgpass, which every cluster on the machine shares.
 * A cluster without that file makes no password-authenticated outgoing connections.
 *
 * initdb and postgres refuse to run as root, so when we are root the server runs as the `postgres`
 * user (which the Debian package creates) and the directories are handed to it.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';

import { MemvaultError } from '../errors.js';
import { readSecretsFile, secretsFile, writeSecretsFile } from '../secrets-file.js';
import { scramVerifier } from './scram.js';

const execFileAsync = promisify(execFile);

export interface ClusterPaths {
  home: string;
  dataDir: string;
  socketDir: string;
  logFile: string;
  stateFile: string;
}

/** The cluster's login roles, each with the secrets.env name of its generated password. */
export const CLUSTER_PASSWORD_VARIABLES = {
  postgres: 'MEMVAULT_PG_SUPERUSER_PASSWORD',
  memory_app: 'MEMVAULT_PG_APP_PASSWORD',
  memory_maintainer: 'MEMVAULT_PG_MAINTAINER_PASSWORD',
} as const;
export type ClusterRole = keyof typeof CLUSTER_PASSWORD_VARIABLES;
export type ClusterPasswords = Partial<Record<ClusterRole, string>>;

/** What cluster.json holds. */
interface StoredState {
  port: number;
  database: string;
}

export interface ClusterState extends StoredState {
  /** From secrets.env (never cluster.json); a role is absent before its password was generated. */
  passwords: ClusterPasswords;
}

/**
 * pg_hba.conf, whole: memvault owns this file and puts it back when it differs. Replication too
 * (a streaming replica's pg_basebackup signs in as postgres with its password).
 */
const HBA = [
  '# memvault embedded cluster (written by memvault, restored if changed): every role signs in with',
  '# its password, generated into MEMVAULT_HOME/secrets.env. No trust, no peer.',
  '# TYPE  DATABASE     USER  ADDRESS        METHOD',
  'local   all          all                  scram-sha-256',
  'host    all          all   127.0.0.1/32   scram-sha-256',
  'local   replication  all                  scram-sha-256',
  'host    replication  all   127.0.0.1/32   scram-sha-256',
  '',
].join('\n');

/** Serialises concurrent starts' role provisioning (CREATE/ALTER ROLE race otherwise). */
const PROVISION_LOCK = 7_420_011;

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

function run(
  cmd: string,
  args: string[],
  as: RunAs,
  opts: { quiet?: boolean; env?: Record<string, string> } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...as,
      // A neutral cwd the server user can enter; PGTZ etc. are left to the server's defaults.
      cwd: '/',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', ...opts.env },
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
  let stored: StoredState;
  try {
    const { port, database } = JSON.parse(await readFile(paths.stateFile, 'utf8')) as StoredState;
    stored = { port, database };
  } catch {
    return undefined;
  }
  return { ...stored, passwords: passwordsIn(await readSecretsFile(secretsFile(paths.home))) };
}

function passwordsIn(values: Record<string, string>): ClusterPasswords {
  const passwords: ClusterPasswords = {};
  for (const [role, variable] of Object.entries(CLUSTER_PASSWORD_VARIABLES) as [ClusterRole, string][]) {
    if (values[variable]) passwords[role] = values[variable];
  }
  return passwords;
}

/** `role` over the private socket, with its password from secrets.env: not for printing. */
export function clusterUrl(
  paths: ClusterPaths,
  state: ClusterState,
  role: ClusterRole,
  database = state.database,
): string {
  const password = state.passwords[role];
  const credentials = password === undefined ? role : `${role}:${encodeURIComponent(password)}`;
  return `postgresql://${credentials}@/${database}?host=${encodeURIComponent(paths.socketDir)}&port=${state.port}`;
}

/** The cluster superuser (migrations, key jobs on the embedded default). Carries its password. */
export function adminUrl(paths: ClusterPaths, state: ClusterState, database = state.database): string {
  return clusterUrl(paths, state, 'postgres', database);
}

/** The daemon's least-privileged connection. Carries its password: print `withoutPassword(...)`. */
export function appUrl(paths: ClusterPaths, state: ClusterState, database = state.database): string {
  return clusterUrl(paths, state, 'memory_app', database);
}

/** A connection URL with its password taken out, for printing. */
export function withoutPassword(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/, '$1@');
}

/**
 * The cluster's passwords from secrets.env, generating (and storing) those it lacks; `given` ones
 * are stored instead of generated (the nodes of a Citus formation share one set).
 */
async function ensurePasswords(home: string, given: ClusterPasswords = {}): Promise<ClusterPasswords> {
  const file = secretsFile(home);
  const stored = await readSecretsFile(file);
  let generated = false;
  for (const [role, variable] of Object.entries(CLUSTER_PASSWORD_VARIABLES) as [ClusterRole, string][]) {
    if (stored[variable]) continue;
    stored[variable] = given[role] ?? randomBytes(24).toString('base64url');
    generated = true;
  }
  if (generated) await writeSecretsFile(file, stored);
  return passwordsIn(stored);
}

async function initCluster(
  paths: ClusterPaths,
  bin: string,
  as: RunAs,
  port: number,
  superuserPassword: string,
): Promise<void> {
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
  // The superuser has its password from the first moment (no trust window): initdb reads it from
  // a file the server user can read, removed right after.
  const pwfile = join(paths.home, 'pg', `initdb-password-${process.pid}`);
  await writeFile(pwfile, superuserPassword + '\n', { mode: 0o600 });
  try {
    if (as.uid !== undefined) await chown(pwfile, as.uid, as.gid!);
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
        `--pwfile=${pwfile}`,
        '--auth-local=scram-sha-256',
        '--auth-host=scram-sha-256',
      ],
      as,
    );
  } finally {
    await rm(pwfile, { force: true });
  }
  // Writing over the existing file keeps its owner (the server user) and mode.
  await writeFile(join(paths.dataDir, 'pg_hba.conf'), HBA);
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

export interface StartOptions {
  /**
   * Create memory_app and memory_maintainer with their passwords when missing (default true), so
   * they can sign in once the migrations' role bootstrap has given them their attributes. False
   * leaves a bare cluster (tests of that bootstrap): such roles get no password from here.
   */
  provisionRoles?: boolean;
  /** Passwords to store for a cluster that has none yet, instead of generated ones. */
  passwords?: ClusterPasswords;
}

/** The passfile the server's outgoing connections read (PGPASSFILE in its environment). */
export function serverPassfile(paths: ClusterPaths): string {
  return join(paths.home, 'pg', 'server.pgpass');
}

/** The server's environment beyond PATH and locale: its own passfile. */
function serverEnv(paths: ClusterPaths): Record<string, string> {
  return { PGPASSFILE: serverPassfile(paths) };
}

/** One line of a passfile: the password `role` signs in with on `host`:`port`, any database. */
export interface ServerPassword {
  host: string;
  port: number;
  role: string;
  password: string;
}

/**
 * Writes the server's passfile whole (mode 0600, owned by the server user, as libpq requires).
 * libpq reads it at every connection attempt, so a running server uses it without a restart.
 */
export async function writeServerPassfile(home: string, entries: ServerPassword[]): Promise<void> {
  const paths = clusterPaths(home);
  const as = await serverUser();
  const field = (value: string) => value.replace(/[\\:]/g, (c) => `\\${c}`);
  const text = entries
    .map((e) => [e.host, String(e.port), '*', e.role, e.password].map(field).join(':'))
    .join('\n');
  const file = serverPassfile(paths);
  await writeFile(file, text + '\n', { mode: 0o600 });
  await chmod(file, 0o600); // mode applies only when the file is created
  if (as.uid !== undefined) await chown(file, as.uid, as.gid!);
}

/**
 * Creates (first time) and starts the cluster; returns its state. Idempotent and fast when the
 * cluster is already running.
 */
export async function startCluster(
  home = defaultHome(),
  options: StartOptions = {},
): Promise<{ paths: ClusterPaths; state: ClusterState; created: boolean }> {
  const paths = clusterPaths(home);
  const bin = findPgBin();
  const as = await serverUser();
  let state = await readState(paths);
  let created = false;
  if (!existsSync(join(paths.dataDir, 'PG_VERSION'))) {
    const port = await choosePort(Number(process.env.MEMVAULT_PG_PORT ?? 54329));
    // When the server runs as another user it must be able to pass through MEMVAULT_HOME (x only);
    // the files inside stay private to their owners.
    await mkdir(paths.home, { recursive: true, mode: as.uid !== undefined ? 0o711 : 0o700 });
    // Stored before initdb: a cluster must never hold a password that secrets.env lacks.
    const passwords = await ensurePasswords(home, options.passwords);
    await initCluster(paths, bin, as, port, passwords.postgres!);
    const stored: StoredState = { port, database: 'memvault' };
    await writeFile(paths.stateFile, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
    state = { ...stored, passwords };
    created = true;
  }
  if (!state)
    throw new ClusterError(`${paths.stateFile} is missing: remove ${paths.dataDir} to recreate the cluster`);
  state = { ...state, passwords: await ensurePasswords(home, options.passwords) };
  if (!(await isRunning(paths, bin))) {
    await run(
      join(bin, 'pg_ctl'),
      ['-D', paths.dataDir, '-l', paths.logFile, '-w', '-t', '60', 'start'],
      as,
      {
        env: serverEnv(paths),
      },
    );
  }
  await secureCluster(paths, state, options.provisionRoles ?? true);
  return { paths, state, created };
}

/**
 * Puts the running cluster in the state its secrets.env describes: every login role's password
 * set, pg_hba.conf memvault's (no trust). On a cluster made before passwords (local trust), this
 * first gives the superuser its password, then replaces the file and waits until the server
 * refuses a wrong password.
 */
async function secureCluster(
  paths: ClusterPaths,
  state: ClusterState,
  provisionRoles: boolean,
): Promise<void> {
  const hbaFile = join(paths.dataDir, 'pg_hba.conf');
  const hbaIsOurs = (await readFile(hbaFile, 'utf8')) === HBA;
  const client = new pg.Client({ connectionString: adminUrl(paths, state, 'postgres') });
  try {
    await client.connect();
  } catch (thrown) {
    const code = (thrown as { code?: string }).code;
    throw new ClusterError(
      code === '28P01'
        ? `the embedded cluster refuses the superuser password in ${secretsFile(paths.home)} (was the file replaced?)`
        : `cannot connect to the embedded cluster as its superuser (${code ?? (thrown as Error).message})`,
      { cause: thrown },
    );
  }
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [PROVISION_LOCK]);
    const roles: ClusterRole[] = provisionRoles ? ['memory_app', 'memory_maintainer'] : [];
    if (!hbaIsOurs) roles.unshift('postgres');
    for (const role of roles) {
      const { rows } = await client.query<{ has_password: boolean }>(
        'select rolpassword is not null as has_password from pg_catalog.pg_authid where rolname = $1',
        [role],
      );
      // The verifier, not the password, goes into the statement (scram.ts says why).
      const password = client.escapeLiteral(scramVerifier(state.passwords[role]!));
      if (rows.length === 0) {
        await client.query(`create role ${client.escapeIdentifier(role)} login password ${password}`);
      } else if (role === 'postgres' || !rows[0]!.has_password) {
        await client.query(`alter role ${client.escapeIdentifier(role)} password ${password}`);
      }
    }
    await client.query('commit');
    if (!hbaIsOurs) {
      await writeFile(hbaFile, HBA);
      await client.query('select pg_reload_conf()');
    }
  } finally {
    await client.end();
  }
  if (!hbaIsOurs) await untilPasswordsAreChecked(paths, state);
}

/** pg_reload_conf() only signals the server: wait until a wrong password is refused. */
async function untilPasswordsAreChecked(paths: ClusterPaths, state: ClusterState): Promise<void> {
  const wrong = { ...state, passwords: { postgres: `wrong-${randomBytes(8).toString('hex')}` } };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new pg.Client({ connectionString: adminUrl(paths, wrong, 'postgres') });
    const refused = await probe.connect().then(
      () => false,
      (thrown: unknown) => (thrown as { code?: string }).code === '28P01',
    );
    await probe.end().catch(() => undefined);
    if (refused) return;
    if (Date.now() > deadline)
      throw new ClusterError('the embedded cluster still accepts connections without a valid password');
    await new Promise((r) => setTimeout(r, 50));
  }
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
    { env: serverEnv(paths) },
  );
}
