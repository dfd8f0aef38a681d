/**
 * PostgreSQL going away under a running daemon, on a private cluster:
 *   - restarted (immediate mode: a crash, not a polite shutdown) during a write load: every
 *     acknowledged write is present afterwards and opens whole, failures in between are 503s
 *     (never 500), and the same daemon serves again without being restarted;
 *   - stopped: requests get a 503 database_unavailable quickly (bounded by the configured
 *     connect timeout, not a hang), and service resumes once the server is back.
 */
import t from 'tap';

import { defaultKeyRing, hmacUser } from '../../src/crypto/index.js';
import { createPool } from '../../src/db/pool.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { getMemoryChunks } from '../../src/memory/read.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { testVector } from '../helpers/db.js';
import { privateCluster } from './private-cluster.js';

const cluster = await privateCluster(t);
const api = await startTestDaemon(t, {
  databaseUrl: cluster.appUrl,
  env: { MEMVAULT_DB_CONNECT_TIMEOUT_MS: '1000', MEMVAULT_DB_POOL_MAX: '4' },
});

const userId = 'fault-writer';
const embedding = testVector(1);

async function write(i: number) {
  return api.request('POST', '/v1/chunks', {
    body: {
      user_id: userId,
      doc_id: `doc-${i}`,
      text: `acknowledged write number ${i}`,
      metadata: { i },
      embedding,
    },
  });
}

async function waitUntil(what: string, ok: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test(
  'restart during a write load: acknowledged writes survive whole; the daemon recovers by itself',
  async (t) => {
    const acknowledged = new Map<string, number>();
    const failures: Record<string, number> = {};
    let next = 0;
    let stop = false;
    let afterRestart = 0;
    let restarted = false;
    const writer = async () => {
      while (!stop) {
        const i = next++;
        const res = await write(i).catch(() => ({ status: 0, json: undefined }));
        if (res.status === 201) {
          acknowledged.set(res.json.id as string, i);
          if (restarted) afterRestart++;
        } else {
          const key = `${res.status} ${res.json?.error?.code ?? ''}`.trim();
          failures[key] = (failures[key] ?? 0) + 1;
        }
      }
    };
    const writers = Array.from({ length: 4 }, writer);
    await waitUntil('some acknowledged writes', async () => acknowledged.size >= 20);
    await cluster.restart('immediate');
    restarted = true;
    await waitUntil('writes acknowledged after the restart', async () => afterRestart >= 20);
    stop = true;
    await Promise.all(writers);

    for (const key of Object.keys(failures))
      t.match(key, /^503 /, `failures during the restart are 503s (${key} x ${failures[key]})`);
    const { rows } = await cluster.admin.query<{ id: string }>(
      'select id from memory.memory_chunks where user_hash = $1',
      [hmacUser(userId)],
    );
    const stored = new Set(rows.map((r) => r.id));
    const missing = [...acknowledged.keys()].filter((id) => !stored.has(id));
    t.same(
      missing,
      [],
      `all ${acknowledged.size} acknowledged writes are present (${rows.length} rows stored)`,
    );
    // Every stored row (acknowledged or not) must open whole through the read path: no torn chunk.
    const app = createPool({ connectionString: cluster.appUrl, max: 1 });
    try {
      const ids = rows.map((r) => r.id);
      // The keys the in-process daemon installed, through a store of our own.
      const memory = { pool: app, dim: embedding.length, keys: new TenantKeyStore(app, defaultKeyRing) };
      const chunks = [];
      for (let i = 0; i < ids.length; i += 500)
        chunks.push(...(await getMemoryChunks(memory, userId, ids.slice(i, i + 500))));
      const whole = chunks.filter(
        (c) =>
          c.text.startsWith('acknowledged write number') &&
          c.embedding.length === embedding.length &&
          typeof c.metadata.i === 'number',
      );
      t.equal(whole.length, rows.length, 'every stored chunk opens whole (text, metadata, embedding)');
    } finally {
      await app.end();
    }
    t.ok(afterRestart >= 20, `the same daemon acknowledged ${afterRestart} writes after the restart`);
  },
);

t.test('database unreachable: 503 database_unavailable quickly, then recovery', async (t) => {
  await cluster.stop();
  const started = performance.now();
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: userId, query: 'anything', embedding },
  });
  const elapsed = performance.now() - started;
  t.equal(res.status, 503);
  t.equal(res.json?.error?.code, 'database_unavailable');
  t.match(res.headers.get('retry-after'), /^[1-9]\d*$/, 'says when to retry, in whole seconds');
  // Generous bound: the connect timeout is 1 s; a hang would run into the request timeout (30 s).
  t.ok(elapsed < 10_000, `answered in ${Math.round(elapsed)} ms`);
  const ready = await api.request('GET', '/readyz');
  t.equal(ready.status, 503, 'readiness reports the outage');
  await cluster.start();
  await waitUntil(
    'queries answering again',
    async () =>
      (await api.request('POST', '/v1/query', { body: { user_id: userId, query: 'anything', embedding } }))
        .status === 200,
  );
  t.pass('the daemon serves again after the database returns');
});
