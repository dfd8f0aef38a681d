/**
 * Graceful shutdown of a real `memvault serve` child process: SIGTERM while batch writes are in
 * flight. Every request sent before the signal is answered; each answered write is complete in
 * the database and each refused one left nothing behind (no half-written batch); exit code 0.
 */
import t from 'tap';

import { configureCrypto, hmacUser } from '../../src/crypto/index.js';
import { spawnTestDaemon, TEST_SECRETS } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

configureCrypto({ ...process.env, ...TEST_SECRETS });
const db = await createTestDatabase(t);
const BATCH = 400;
const REQUESTS = 12;

const rowsOf = async (user: string) =>
  (
    await db.admin.query<{ n: number }>(
      'select count(*)::int as n from memory.memory_chunks where user_hash = $1',
      [hmacUser(user)],
    )
  ).rows[0]!.n;

t.test('SIGTERM drains in-flight writes and exits 0', async (t) => {
  const daemon = await spawnTestDaemon(t, {
    databaseUrl: db.appUrl,
    env: { MEMVAULT_SHUTDOWN_TIMEOUT_MS: '20000' },
  });
  const chunks = Array.from({ length: BATCH }, (_, i) => ({
    doc_id: `d${i % 5}`,
    text: `memory number ${i}`,
    embedding: testVector(i),
  }));
  const outcomes = Array.from({ length: REQUESTS }, (_, i) =>
    daemon
      .request('POST', '/v1/chunks/batch', { body: { user_id: `user-${i}`, chunks } })
      .then((res) => ({
        user: `user-${i}`,
        status: res.status,
        code: res.json?.error?.code as string | undefined,
      }))
      .catch((error: Error) => ({ user: `user-${i}`, status: 0, code: error.message })),
  );
  // Let the first requests reach the handlers, then ask for shutdown with the rest in flight.
  await new Promise((r) => setTimeout(r, 150));
  daemon.child.kill('SIGTERM');
  const results = await Promise.all(outcomes);
  const exitCode = await daemon.exited;

  t.equal(exitCode, 0, 'exit code 0');
  const completed = results.filter((r) => r.status === 201);
  t.ok(completed.length > 0, `${completed.length} of ${REQUESTS} writes completed during the drain`);
  for (const r of results) {
    const stored = await rowsOf(r.user);
    if (r.status === 201) t.equal(stored, BATCH, `${r.user}: acknowledged, all ${BATCH} rows present`);
    else {
      t.ok(r.status === 503 || r.status === 0, `${r.user}: refused (${r.status} ${r.code ?? ''})`);
      t.equal(stored, 0, `${r.user}: refused, no rows`);
    }
  }
  t.match(daemon.output(), /shutdown complete/);
});

t.test('a second SIGTERM during the drain forces exit 70', async (t) => {
  const daemon = await spawnTestDaemon(t, { databaseUrl: db.appUrl });
  const chunks = Array.from({ length: BATCH }, (_, i) => ({
    doc_id: 'd',
    text: `m ${i}`,
    embedding: testVector(i),
  }));
  const pending = Array.from({ length: 6 }, (_, i) =>
    daemon
      .request('POST', '/v1/chunks/batch', { body: { user_id: `force-${i}`, chunks } })
      .catch(() => undefined),
  );
  await new Promise((r) => setTimeout(r, 100));
  daemon.child.kill('SIGTERM');
  // POSIX does not queue a second identical signal: wait until the first one was handled.
  while (!/shutting down/.test(daemon.output())) await new Promise((r) => setTimeout(r, 5));
  daemon.child.kill('SIGTERM');
  t.equal(await daemon.exited, 70);
  await Promise.all(pending);
  for (let i = 0; i < 6; i++) {
    const stored = await rowsOf(`force-${i}`);
    t.ok(stored === 0 || stored === BATCH, `force-${i}: ${stored} rows (all or nothing)`);
  }
});
