/**
 * README's first command, `npm start` (= `memvault start`), end to end on a fresh MEMVAULT_HOME:
 * it creates and migrates the embedded cluster, generates the keys and the API token once (0600),
 * embeds text with the bundled model, keeps tenants apart, stops cleanly on SIGTERM, and on a
 * second start reuses the cluster and the secrets instead of generating new ones.
 */
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import { stopCluster } from '../../src/db/cluster.js';
import { apiClient, type ChildCli, spawnCliUntil } from '../helpers/daemon.js';

const home = await mkdtemp(join(tmpdir(), 'memvault-start-'));
// mkdtemp makes it 0700; as root the server runs as `postgres` and must be able to pass through.
await chmod(home, 0o711);
t.teardown(async () => {
  await stopCluster(home).catch(() => undefined);
  await rm(home, { recursive: true, force: true });
});

/** The environment of a newcomer: nothing memvault-specific but where to keep its data. */
function freshEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(MEMVAULT_|MEMORY_|RERANK_|DATABASE_URL)/.test(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    MEMVAULT_HOME: home,
    MEMVAULT_PORT: '0',
    // A random preferred port, so a parallel test file's cluster is never probed for the same one.
    MEMVAULT_PG_PORT: String(20_000 + Math.floor(Math.random() * 30_000)),
  };
}

async function start(): Promise<ChildCli & { url: string }> {
  const cli = await spawnCliUntil(
    t,
    ['start'],
    freshEnv(),
    /memvault is listening on (http:\/\/\S+)/,
    120_000,
  );
  return { ...cli, url: cli.ready[1]! };
}

async function token(): Promise<string> {
  const secrets = await readFile(join(home, 'secrets.env'), 'utf8');
  const match = /^MEMVAULT_API_TOKEN=(.+)$/m.exec(secrets);
  if (!match) throw new Error('no MEMVAULT_API_TOKEN in secrets.env');
  return match[1]!;
}

t.test(
  'first start: creates the cluster and the secrets, embeds, isolates tenants, stops on SIGTERM',
  async (t) => {
    const daemon = await start();
    t.match(daemon.output(), /database: embedded PostgreSQL \(created now\), schema dimension 512/);
    t.match(
      daemon.output(),
      /generated now: MEMORY_ENCRYPTION_KEY, MEMORY_TENANT_HMAC_KEY, MEMVAULT_API_TOKEN/,
    );
    t.equal((await stat(join(home, 'secrets.env'))).mode & 0o777, 0o600, 'secrets.env is 0600');
    const secret = await token();
    t.notOk(daemon.output().includes(secret), 'the token is never printed');
    const api = apiClient(daemon.url, secret);

    const alice = await api.request('POST', '/v1/chunks', {
      body: { user_id: 'alice', doc_id: 'prefs', text: 'Alice drinks green tea every morning' },
    });
    t.equal(alice.status, 201);
    const bob = await api.request('POST', '/v1/chunks', {
      body: { user_id: 'bob', doc_id: 'prefs', text: 'Bob drinks black coffee' },
    });
    t.equal(bob.status, 201);
    const query = { user_id: 'alice', query: 'What does Alice drink?', k: 3 };
    const found = await api.request('POST', '/v1/query', { body: query });
    t.equal(found.status, 200);
    t.same(
      found.json.results.map((r: { id: string; text: string }) => [r.id, r.text]),
      [[alice.json.id, 'Alice drinks green tea every morning']],
      "only alice's own memory comes back",
    );
    t.equal(
      (await api.request('POST', '/v1/query', { body: query, token: null })).status,
      401,
      'no token: 401',
    );

    daemon.child.kill('SIGTERM');
    t.equal(await daemon.exited, 0, 'SIGTERM: exit 0');
    t.match(daemon.output(), /shutdown complete/);
  },
);

t.test('second start: reuses the cluster, the secrets and the data', async (t) => {
  const before = await token();
  const daemon = await start();
  t.match(daemon.output(), /database: embedded PostgreSQL \(existing\)/);
  t.notMatch(daemon.output(), /generated now/);
  t.equal(await token(), before, 'the same token');
  const found = await apiClient(daemon.url, before).request('POST', '/v1/query', {
    body: { user_id: 'alice', query: 'tea', k: 3 },
  });
  t.equal(found.status, 200);
  t.equal(found.json.results.length, 1, 'the memory written by the first run opens with the reused keys');
  daemon.child.kill('SIGTERM');
  t.equal(await daemon.exited, 0);
});
