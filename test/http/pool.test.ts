/**
 * The database pool under load and without a database: it never opens more connections than
 * MEMVAULT_DB_POOL_MAX, and an unreachable database is a quick 503 with a JSON error, not a hang.
 */
import t from 'tap';

import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';
import { startPgProxy } from './pg-proxy.js';

const POOL_MAX = 3;
// Also the longest wait for a free pooled client (node-postgres uses one timeout for both), so
// it must cover 200 requests queueing for 3 connections on a busy CI machine.
const CONNECT_TIMEOUT_MS = 5000;
const db = await createTestDatabase(t);
const proxy = await startPgProxy(db.appUrl);
t.teardown(() => proxy.close());
const api = await startTestDaemon(t, {
  databaseUrl: proxy.url,
  env: { MEMVAULT_DB_POOL_MAX: String(POOL_MAX), MEMVAULT_DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS) },
});

const appConnections = async () =>
  (
    await db.admin.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = $1 and usename = 'memory_app' and application_name = 'memvault'",
      [db.name],
    )
  ).rows[0]!.n;

t.test('200 concurrent requests never use more than MEMVAULT_DB_POOL_MAX connections', async (t) => {
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await appConnections());
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const requests = Array.from({ length: 200 }, (_, i) =>
    i % 2 === 0
      ? api.request('POST', '/v1/chunks', {
          body: { user_id: `u${i % 7}`, doc_id: 'd', text: `chunk ${i}`, embedding: testVector(i) },
        })
      : api.request('POST', '/v1/query', {
          body: { user_id: `u${i % 7}`, query: 'q', embedding: testVector(i) },
        }),
  );
  const statuses = (await Promise.all(requests)).map((r) => r.status);
  sampling = false;
  await sampler;
  t.same([...new Set(statuses)].sort(), [200, 201], 'every request succeeded');
  t.ok(peak > 0, `saw the pool at work (peak ${peak})`);
  t.ok(peak <= POOL_MAX, `peak ${peak} <= ${POOL_MAX}`);
  const metrics = await api.request('GET', '/metrics', { token: null });
  t.match(metrics.json, new RegExp(`memvault_db_pool_max ${POOL_MAX}`));
});

t.test('database refused: a 503 JSON error within the connect timeout', async (t) => {
  await proxy.setMode('refuse');
  const started = Date.now();
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: 'u1', query: 'q', embedding: testVector(1) },
  });
  const ms = Date.now() - started;
  t.equal(res.status, 503);
  t.same(res.json.error.code, 'database_unavailable');
  t.equal(res.headers.get('retry-after'), '1');
  t.ok(ms < CONNECT_TIMEOUT_MS * 2, `answered in ${ms} ms`);
  const write = await api.request('POST', '/v1/chunks', {
    body: { user_id: 'u1', doc_id: 'd', text: 't', embedding: testVector(1) },
  });
  t.equal(write.status, 503);
  const ready = await api.request('GET', '/readyz', { token: null });
  t.equal(ready.status, 503, 'not ready');
  t.match(ready.json, { ready: false, checks: { database: { ok: false } } });
  t.equal((await api.request('GET', '/healthz', { token: null })).status, 200, 'but alive');
});

t.test('database black-holed: a 503 after the connect timeout, not a hang', async (t) => {
  await proxy.setMode('blackhole');
  const started = Date.now();
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: 'u1', query: 'q', embedding: testVector(1) },
  });
  const ms = Date.now() - started;
  t.equal(res.status, 503);
  t.equal(res.json.error.code, 'database_unavailable');
  t.ok(ms >= CONNECT_TIMEOUT_MS * 0.8 && ms < CONNECT_TIMEOUT_MS * 2, `answered in ${ms} ms`);
});

t.test('the daemon recovers by itself once the database is back', async (t) => {
  await proxy.setMode('pass');
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = (
      await api.request('POST', '/v1/query', {
        body: { user_id: 'u1', query: 'q', embedding: testVector(1) },
      })
    ).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(status, 200);
});
