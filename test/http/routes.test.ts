/**
 * Every route's happy path, over real HTTP against a daemon on a real database; the calls whose
 * status and headers are not the point go through memvault/client, as an application's would.
 */
import t from 'tap';

import { MemvaultClient } from '../../src/client/index.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });
const client = new MemvaultClient({ baseUrl: api.url, token: api.token });

t.test('POST /v1/chunks stores a chunk and answers 201 with its id', async (t) => {
  const res = await api.request('POST', '/v1/chunks', {
    body: {
      user_id: 'alice',
      doc_id: 'notes',
      source: 'chat',
      text: 'Alice likes green tea',
      metadata: { lang: 'en' },
      embedding: testVector(1),
    },
  });
  t.equal(res.status, 201);
  t.match(res.json, { id: /^[0-9a-f-]{36}$/ });
  t.match(
    res.headers.get('x-request-id'),
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    'carries a request id (a UUID when the caller sent none)',
  );
});

t.test('POST /v1/chunks/batch stores every chunk and answers their ids in order', async (t) => {
  const res = await api.request('POST', '/v1/chunks/batch', {
    body: {
      user_id: 'alice',
      chunks: [
        { doc_id: 'diary', text: 'Went hiking in the Alps', embedding: testVector(2) },
        {
          doc_id: 'diary',
          text: 'Read a book about compilers',
          embedding: testVector(3),
          metadata: { page: 3 },
        },
      ],
    },
  });
  t.equal(res.status, 201);
  t.equal(res.json.ids.length, 2);
});

t.test('POST /v1/query returns the nearest chunks with text, metadata, score and ann_rank', async (t) => {
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: 'alice', query: 'tea', embedding: testVector(1), k: 2 },
  });
  t.equal(res.status, 200);
  t.equal(res.json.results.length, 2);
  t.match(res.json.results[0], {
    doc_id: 'notes',
    source: 'chat',
    text: 'Alice likes green tea',
    metadata: { lang: 'en' },
    ann_rank: 1,
  });
  t.equal(res.json.reranked, false);
  t.type(res.json.timings_ms.total, 'number');
  t.type(res.json.timings_ms.search, 'number');
});

t.test('without reranking, score is the cosine similarity of the query and the chunk', async (t) => {
  const query = testVector(9);
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: 'alice', query: 'x', embedding: query, k: 3, mode: 'dense' },
  });
  t.equal(res.json.results.length, 3);
  const stored: Record<string, number[]> = {
    'Alice likes green tea': testVector(1),
    'Went hiking in the Alps': testVector(2),
    'Read a book about compilers': testVector(3),
  };
  for (const hit of res.json.results as Array<{ text: string; score: number; score_kind: string }>) {
    const cosine = stored[hit.text]!.reduce((sum, x, i) => sum + x * query[i]!, 0);
    t.equal(hit.score_kind, 'cosine');
    t.ok(Math.abs(hit.score - cosine) < 1e-4, `${hit.text}: ${hit.score} = cosine ${cosine}`);
  }
  const scores = res.json.results.map((hit: { score: number }) => hit.score);
  t.same(
    scores,
    [...scores].sort((a, b) => b - a),
    'best first',
  );
});

t.test('a chunk without source gets the default source', async (t) => {
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: 'alice', query: 'hiking', embedding: testVector(2), k: 1 },
  });
  t.equal(res.json.results[0].source, 'default');
  t.same(res.json.results[0].metadata, {});
});

t.test('doc_id and source filters narrow the query', async (t) => {
  const byDoc = await client.queryMemories({
    user_id: 'alice',
    query: 'x',
    embedding: testVector(1),
    doc_id: 'diary',
  });
  t.same(
    byDoc.results.map((r) => r.doc_id),
    ['diary', 'diary'],
  );
  const bySource = await client.queryMemories({
    user_id: 'alice',
    query: 'x',
    embedding: testVector(1),
    source: 'chat',
  });
  t.equal(bySource.results.length, 1);
});

t.test('DELETE /v1/users/{user_id}/docs/{doc_id} deletes one document and answers the count', async (t) => {
  t.same(await client.forgetDoc('alice', 'diary'), { deleted: 2 });
  t.same(await client.forgetDoc('alice', 'diary'), { deleted: 0 }, 'nothing matched: 0');
});

t.test('DELETE /v1/users/{user_id} forgets the tenant entirely', async (t) => {
  t.same(await client.forgetUser('alice'), { deleted: 1 });
  const query = await client.queryMemories({ user_id: 'alice', query: 'tea', embedding: testVector(1) });
  t.same(query.results, []);
});

t.test('ids with slashes and other metacharacters round-trip through percent-encoding', async (t) => {
  const user = "o'brien/../; drop table x --";
  const doc = 'docs/2024?x=1#frag';
  await client.createChunk({ user_id: user, doc_id: doc, text: 'hello', embedding: testVector(5) });
  t.same(await client.forgetDoc(user, doc), { deleted: 1 });
});

t.test('GET /healthz answers 200 without a token', async (t) => {
  const res = await api.request('GET', '/healthz', { token: null });
  t.equal(res.status, 200);
  t.same(res.json, { status: 'ok' });
});

t.test('GET /readyz reports the database, migrations and reranker', async (t) => {
  const res = await api.request('GET', '/readyz', { token: null });
  t.equal(res.status, 200);
  t.match(res.json, {
    ready: true,
    checks: {
      database: { ok: true, migrations_current: true, embedding_dim: 384 },
      listener: { connected: true },
    },
  });
  t.match(res.json.checks.reranker, {
    state: /^(unloaded|loading|ready|failed)$/,
    model: String,
    poolSize: Number,
    threads: Number,
    breaker: /^(closed|open|half-open)$/,
    settings: { enabled: Boolean, circuitMs: Number, rolloutPercent: Number },
  });
});

t.test('GET /metrics exposes Prometheus text with HTTP, query, pool and key-rotation series', async (t) => {
  const res = await api.request('GET', '/metrics', { token: null });
  t.equal(res.status, 200);
  for (const name of [
    'memvault_http_request_seconds',
    'memvault_query_stage_seconds',
    'memvault_db_pool_max',
    'memvault_db_pool_utilisation',
    // Key rotation progress, read from the counts the key jobs publish (none yet: 0 to re-wrap).
    'memvault_key_rewrap_remaining 0',
  ]) {
    t.match(res.json, name, name);
  }
  t.notMatch(res.json, /alice/, 'no user ids in labels');
});

t.test('GET /metrics/memory answers the rerank metrics as JSON', async (t) => {
  const res = await api.request('GET', '/metrics/memory', { token: null });
  t.equal(res.status, 200);
  t.match(res.json, {
    rerank: { calls: Number },
    settings: { enabled: false },
    pool: { max: 10 },
    listener: { connected: true },
  });
});
