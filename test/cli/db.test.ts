/**
 * `memvault db up | status | down` through the built CLI, on a private MEMVAULT_HOME under the
 * temporary directory (never the shared test cluster): up twice prints the same DATABASE_URL and
 * the second is fast; a fresh schema gets the dimension `memvault start` would use.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import t from 'tap';

import { stopCluster } from '../../src/db/cluster.js';
import * as procedures from '../../src/db/procedures.js';
import { packageRoot } from '../../src/paths.js';

const execFileAsync = promisify(execFile);
const home = await mkdtemp(join(tmpdir(), 'memvault-cli-db-'));
// Tests running as root start the server as `postgres`, which must be able to pass through.
await chmod(home, 0o711);
t.teardown(async () => {
  await stopCluster(home).catch(() => undefined);
  await rm(home, { recursive: true, force: true });
});

// The environment of a user who has set nothing: the dimension must come from the default rule.
const env: NodeJS.ProcessEnv = { ...process.env, MEMVAULT_HOME: home };
for (const name of ['DATABASE_URL', 'MEMVAULT_EMBEDDING_DIM', 'MEMVAULT_EMBED_MODEL']) delete env[name];
// A random preferred port, so that test files starting clusters at once do not race for one.
env.MEMVAULT_PG_PORT = String(20_000 + Math.floor(Math.random() * 30_000));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

async function memvault(...args: string[]): Promise<Run> {
  const started = performance.now();
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [join(packageRoot, 'dist/cli/main.js'), ...args],
      { env, timeout: 120_000 },
    );
    return { code: 0, stdout, stderr, ms: performance.now() - started };
  } catch (thrown) {
    const e = thrown as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, ms: performance.now() - started };
  }
}

const urlLine = (out: string) => out.split('\n').find((l) => l.startsWith('DATABASE_URL='));

t.test('db up twice: the same DATABASE_URL, the second fast; status; down; status', async (t) => {
  const before = await memvault('db', 'status');
  t.equal(before.code, 3, 'status exits 3 before the cluster exists');
  t.match(before.stdout, /state: not created/);

  const first = await memvault('db', 'up');
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, /cluster created/);
  const url = urlLine(first.stdout);
  t.match(url, /^DATABASE_URL=postgresql:\/\/memory_app@\/memvault\?host=/);
  t.notMatch(first.stdout, /password|postgres@/, 'prints the app role URL, no superuser, no secret');

  const second = await memvault('db', 'up');
  t.equal(second.code, 0, second.stderr);
  t.equal(urlLine(second.stdout), url, 'the same DATABASE_URL');
  t.match(second.stderr, /cluster running .*; migrations up to date/);
  t.comment(`db up: first ${Math.round(first.ms)} ms, second ${Math.round(second.ms)} ms`);
  t.ok(
    second.ms < first.ms / 2,
    `the second run is fast (${Math.round(second.ms)} ms vs ${Math.round(first.ms)} ms)`,
  );

  const password = (await readFile(join(home, 'secrets.env'), 'utf8')).match(
    /^MEMVAULT_PG_APP_PASSWORD=(.+)$/m,
  )?.[1];
  t.ok(password && password.length >= 32, 'the app role has a generated password in secrets.env');
  t.notOk(first.stdout.includes(password!), 'stdout does not carry it');
  t.match(first.stderr, /MEMVAULT_PG_APP_PASSWORD in .*secrets\.env/, 'stderr says where it is');
  const databaseUrl = url!.slice('DATABASE_URL='.length);
  // What a user does with the printed URL: add the password (pg lets the URL's fields win over
  // the config's, so it goes into the URL).
  const client = new pg.Client({
    connectionString: databaseUrl.replace('memory_app@', `memory_app:${encodeURIComponent(password!)}@`),
  });
  await client.connect();
  try {
    const { embeddingDim } = await procedures.health(client);
    // What `npm start` uses on a fresh checkout: the bundled 512-d USE-lite (models/).
    t.equal(embeddingDim, 512, 'the schema has the dimension the embedded daemon will use');
  } finally {
    await client.end();
  }

  const status = await memvault('db', 'status');
  t.equal(status.code, 0);
  t.match(status.stdout, /state: running/);
  t.equal(urlLine(status.stdout), url);

  const down = await memvault('db', 'down');
  t.equal(down.code, 0);
  t.match(down.stderr, /cluster stopped/);
  const after = await memvault('db', 'status');
  t.equal(after.code, 3, 'status exits 3 when stopped');
  t.match(after.stdout, /state: stopped/);
  t.equal(urlLine(after.stdout), url, 'and still names the URL it will have');
});
