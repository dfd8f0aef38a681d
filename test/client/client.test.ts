/**
 * memvault/client against a real daemon: a method per operation, answers typed as the server
 * sends them, errors carrying the API's code and field, retries that wait for Retry-After, the
 * idempotency key kept across retries, timeouts and network failures.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

import t from 'tap';

import { allOperations } from '../../src/api/schema.js';
import {
  MemvaultApiError,
  MemvaultClient,
  MemvaultClientError,
  parseRetryAfter,
} from '../../src/client/index.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl, env: { MEMVAULT_MAX_IN_FLIGHT: '1' } });

/** A fetch that records every attempt's method, path and headers. */
function recordingFetch() {
  const attempts: Array<{ method: string; path: string; headers: Headers }> = [];
  const fetchFn: typeof fetch = (input, init) => {
    attempts.push({
      method: init?.method ?? 'GET',
      path: new URL(String(input)).pathname,
      headers: new Headers(init?.headers),
    });
    return fetch(input, init);
  };
  return { attempts, fetch: fetchFn };
}

const client = new MemvaultClient({ baseUrl: api.url, token: api.token });

t.test(
  'the client has a method for every operation of the API contract, named by its operationId',
  async (t) => {
    for (const op of allOperations.filter((o) => o.inClient !== false)) {
      t.type((client as unknown as Record<string, unknown>)[op.operationId], 'function', op.operationId);
    }
  },
);

t.test('every route through the client, answers as documented', async (t) => {
  const { id } = await client.createChunk({
    user_id: 'c1',
    doc_id: 'd1',
    text: 'alpha',
    embedding: testVector(1),
  });
  t.match(id, /^[0-9a-f-]{36}$/);
  const { ids } = await client.createChunks({
    user_id: 'c1',
    chunks: [
      { doc_id: 'd2', text: 'beta', embedding: testVector(2), metadata: { n: 2 } },
      { doc_id: 'd2', text: 'gamma', embedding: testVector(3) },
    ],
  });
  t.equal(ids.length, 2);
  const found = await client.queryMemories({ user_id: 'c1', query: 'alpha', embedding: testVector(1), k: 3 });
  t.same(
    found.results.map((r) => r.text).sort(),
    ['alpha', 'beta', 'gamma'],
    'all three memories of c1 come back',
  );
  t.equal(found.results[0]!.text, 'alpha', 'the nearest first');
  t.same((await client.forgetDoc('c1', 'd2')).deleted, 2);
  t.same((await client.forgetUser('c1')).deleted, 1);
  t.same(await client.health(), { status: 'ok' });
  t.equal((await client.ready()).ready, true);
  t.match(await client.metrics(), /memvault_http_request_seconds/);
  t.type((await client.memoryMetrics()).settings, 'object');
  t.equal((await client.openApi()).openapi, '3.1.0');
});

t.test('errors carry the status, code, field and request id; not retried', async (t) => {
  const rec = recordingFetch();
  const c = new MemvaultClient({ baseUrl: api.url, token: api.token, fetch: rec.fetch });
  const error = await c
    .createChunk({ user_id: 'c1', doc_id: 'd', text: '  ', embedding: testVector(1) })
    .catch((e) => e);
  t.type(error, MemvaultApiError);
  t.match(error, {
    status: 400,
    code: 'invalid_input',
    field: 'text',
    message: 'text: must not be empty or only whitespace',
  });
  t.match(error.requestId, /\S/);
  t.equal(rec.attempts.length, 1, 'a 400 is not retried');
  const wrong = new MemvaultClient({ baseUrl: api.url, token: 'not-the-token' });
  t.match(await wrong.health(), { status: 'ok' }, 'the operational routes need no token');
  t.match(await wrong.forgetUser('c1').catch((e) => e), { status: 401, code: 'unauthorized' });
});

t.test('a 503 whose Retry-After exceeds maxRetryDelayMs is thrown at once with retryAfterMs', async (t) => {
  const rec = recordingFetch();
  const c = new MemvaultClient({ baseUrl: api.url, token: api.token, fetch: rec.fetch });
  const error = await c.rerank({ query: 'q', texts: ['a'] }).catch((e) => e);
  t.match(error, { status: 503, code: 'rerank_disabled', retryAfterMs: 30_000 });
  t.equal(rec.attempts.length, 1);
});

/** Holds the daemon's one API slot (MEMVAULT_MAX_IN_FLIGHT=1) until release(). */
async function holdTheOnlySlot() {
  const body = Buffer.from(
    JSON.stringify({ user_id: 'held', doc_id: 'd', text: 'held', embedding: testVector(9) }),
  );
  const req = httpRequest(`${api.url}/v1/chunks`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${api.token}`,
      'content-type': 'application/json',
      'content-length': String(body.length),
    },
  });
  const answered = new Promise<number>((resolve, reject) => {
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
  req.write(body.subarray(0, 5));
  while (api.daemon.api.inFlight !== 1) await new Promise((r) => setTimeout(r, 5));
  return () => {
    req.end(body.subarray(5));
    return answered;
  };
}

t.test('the chunk methods: list, get, update (If-Match), delete, export', async (t) => {
  const { ids } = await client.createChunks({
    user_id: 'c2',
    chunks: [1, 2, 3].map((i) => ({ doc_id: 'd', text: `item ${i}`, embedding: testVector(i) })),
  });
  const first = await client.listChunks('c2', { limit: 2 });
  t.equal(first.chunks.length, 2);
  t.type(first.next_cursor, 'string');
  const rest = await client.listChunks('c2', { limit: 2, cursor: first.next_cursor! });
  t.same([...first.chunks, ...rest.chunks].map((c) => c.id).sort(), [...ids].sort());
  t.equal(rest.next_cursor, null);

  const one = await client.getChunk('c2', ids[0]!);
  t.equal(one.version, 1);
  const updated = await client.updateChunk(
    'c2',
    ids[0]!,
    { metadata: { ok: true } },
    { ifMatch: one.version },
  );
  t.equal(updated.version, 2);
  const stale = await client
    .updateChunk('c2', ids[0]!, { metadata: { ok: false } }, { ifMatch: one.version })
    .catch((e: unknown) => e);
  t.ok(stale instanceof MemvaultApiError);
  t.equal((stale as MemvaultApiError).code, 'version_conflict');
  t.equal((stale as MemvaultApiError).status, 412);

  t.same(await client.deleteChunk('c2', ids[1]!), { deleted: 1 });
  const missing = await client.getChunk('c2', ids[1]!).catch((e: unknown) => e);
  t.equal((missing as MemvaultApiError).code, 'not_found');

  const exported: string[] = [];
  for await (const chunk of client.exportChunks('c2')) exported.push(chunk.text);
  t.same(exported.sort(), ['item 1', 'item 3']);
});

t.test(
  'a 429 is retried after Retry-After, and a write keeps its idempotency key across retries',
  async (t) => {
    const rec = recordingFetch();
    const c = new MemvaultClient({ baseUrl: api.url, token: api.token, fetch: rec.fetch });
    const release = await holdTheOnlySlot();
    const started = performance.now();
    setTimeout(() => void release(), 300);
    const { id } = await c.createChunk(
      { user_id: 'c2', doc_id: 'd', text: 'retried', embedding: testVector(4) },
      { idempotencyKey: true },
    );
    const waited = performance.now() - started;
    t.match(id, /^[0-9a-f-]{36}$/);
    t.equal(rec.attempts.length, 2, 'refused once (429), then served');
    t.ok(waited >= 950, `waited for Retry-After: 1 (${Math.round(waited)} ms)`);
    const keys = rec.attempts.map((a) => a.headers.get('idempotency-key'));
    t.match(keys[0], /^[0-9a-f-]{36}$/, 'a generated key');
    t.equal(keys[1], keys[0], 'the same key on the retry');
    const given = recordingFetch();
    await new MemvaultClient({ baseUrl: api.url, token: api.token, fetch: given.fetch }).createChunks(
      { user_id: 'c2', chunks: [{ doc_id: 'd', text: 'keyed', embedding: testVector(5) }] },
      { idempotencyKey: 'caller-key-1' },
    );
    t.equal(given.attempts[0]!.headers.get('idempotency-key'), 'caller-key-1');
    await client.createChunk({ user_id: 'c2', doc_id: 'd', text: 'plain', embedding: testVector(6) });
    await client.forgetUser('c2');
  },
);

t.test('retries stop after `retries`: the last 429 is thrown', async (t) => {
  const rec = recordingFetch();
  const c = new MemvaultClient({ baseUrl: api.url, token: api.token, fetch: rec.fetch, retries: 1 });
  const release = await holdTheOnlySlot();
  const error = await c
    .queryMemories({ user_id: 'c3', query: 'q', embedding: testVector(1) })
    .catch((e) => e);
  await release();
  t.match(error, { status: 429, code: 'too_many_requests', retryAfterMs: 1000 });
  t.equal(rec.attempts.length, 2);
});

t.test('a silent server is a timeout (MemvaultClientError timeout)', async (t) => {
  // Fault injection: a server that accepts and never answers, which a real daemon does not do.
  const silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    silent.closeAllConnections();
    silent.close();
  });
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const c = new MemvaultClient({ baseUrl: url, token: 'x', timeoutMs: 200, retries: 0 });
  const started = performance.now();
  const error = await c.health().catch((e) => e);
  t.type(error, MemvaultClientError);
  t.equal(error.code, 'timeout');
  t.ok(performance.now() - started < 5_000, 'within a sane bound of timeoutMs');
});

t.test('a refused connection is a network error, retried for reads but not for unkeyed writes', async (t) => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((resolve) => closed.close(resolve));
  const read = recordingFetch();
  const c = new MemvaultClient({ baseUrl: url, token: 'x', retries: 2, fetch: read.fetch });
  t.match(await c.health().catch((e) => e), { name: 'MemvaultClientError', code: 'network' });
  t.equal(read.attempts.length, 3, 'a read is retried');
  const write = recordingFetch();
  const w = new MemvaultClient({ baseUrl: url, token: 'x', retries: 2, fetch: write.fetch });
  await w.createChunk({ user_id: 'u', doc_id: 'd', text: 't' }).catch(() => undefined);
  t.equal(write.attempts.length, 1, 'a write without an idempotency key is not');
});

t.test('parseRetryAfter reads seconds and HTTP dates', async (t) => {
  t.equal(parseRetryAfter('2'), 2000);
  t.equal(parseRetryAfter(null), undefined);
  t.equal(parseRetryAfter('soon'), undefined);
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now), 3000);
});
