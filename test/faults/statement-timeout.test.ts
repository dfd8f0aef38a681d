/**
 * A statement that runs past MEMVAULT_DB_STATEMENT_TIMEOUT_MS (a busy or blocked server) is a 503
 * `database_timeout` with Retry-After, not a 500 `internal`: its transaction rolled back, nothing of
 * the request was written, and the same request (with the same Idempotency-Key) succeeds once the
 * server is free, writing once. The server is made to block for real: an admin transaction holds
 * an ACCESS EXCLUSIVE lock on the chunk table, so the daemon's write waits until the timeout
 * cancels it.
 */
import t from 'tap';

import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const TIMEOUT_MS = 300;
const db = await createTestDatabase(t);
const api = await startTestDaemon(t, {
  databaseUrl: db.appUrl,
  env: { MEMVAULT_DB_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS) },
});

const rowsOf = async (docId: string): Promise<number> =>
  (
    await db.admin.query<{ n: number }>(
      'select count(*)::int as n from memory.memory_chunks where doc_id = $1',
      [docId],
    )
  ).rows[0]!.n;

/** Runs `during` while an admin transaction holds the chunk table locked, then releases it. */
async function whileLocked<T>(during: () => Promise<T>): Promise<T> {
  const blocker = await db.admin.connect();
  try {
    await blocker.query('begin');
    await blocker.query('lock table memory.memory_chunks in access exclusive mode');
    return await during();
  } finally {
    await blocker.query('rollback');
    blocker.release();
  }
}

t.test(
  'a write blocked past the statement timeout: 503 database_timeout, then one write on retry',
  async (t) => {
    // The tenant exists first (its data key), so the blocked statement is the chunk write itself.
    const warm = await api.request('POST', '/v1/chunks', {
      body: { user_id: 'tina', doc_id: 'warm', text: 'warm up', embedding: testVector(1) },
    });
    t.equal(warm.status, 201);

    const body = {
      user_id: 'tina',
      chunks: [1, 2, 3].map((n) => ({ doc_id: 'blocked', text: `note ${n}`, embedding: testVector(n + 1) })),
    };
    const headers = { 'idempotency-key': 'timeout-batch-1' };
    const started = Date.now();
    const blocked = await whileLocked(() => api.request('POST', '/v1/chunks/batch', { body, headers }));
    const waited = Date.now() - started;
    t.equal(blocked.status, 503, 'not a 500');
    t.equal(blocked.json.error.code, 'database_timeout');
    t.equal(blocked.headers.get('retry-after'), '1');
    t.notMatch(blocked.json.error.message, /memory_chunks|lock|57014|canceling/i, 'no SQL text leaks');
    t.ok(waited >= TIMEOUT_MS, `it waited for the timeout (${waited} ms)`);
    t.equal(await rowsOf('blocked'), 0, 'nothing of the request was written');

    const retried = await api.request('POST', '/v1/chunks/batch', { body, headers });
    t.equal(retried.status, 201, 'the retry with the same key writes');
    t.equal(retried.headers.get('idempotent-replayed'), null, 'it is a fresh write, not a replay');
    t.equal(await rowsOf('blocked'), 3);
    const replay = await api.request('POST', '/v1/chunks/batch', { body, headers });
    t.equal(replay.headers.get('idempotent-replayed'), 'true');
    t.same(replay.json, retried.json);
    t.equal(await rowsOf('blocked'), 3, 'written once');
  },
);

t.test('a query blocked past the statement timeout is a 503 too', async (t) => {
  const res = await whileLocked(() =>
    api.request('POST', '/v1/query', {
      body: { user_id: 'tina', query: 'note', embedding: testVector(2), k: 3 },
    }),
  );
  t.equal(res.status, 503);
  t.equal(res.json.error.code, 'database_timeout');
  const after = await api.request('POST', '/v1/query', {
    body: { user_id: 'tina', query: 'note', embedding: testVector(2), k: 3 },
  });
  t.equal(after.status, 200, 'the same query answers once the server is free');
});
