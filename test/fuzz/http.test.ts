/**
 * Fuzzing the HTTP API of a real daemon (in-process, own test database): random JSON shapes and
 * raw bodies on every route, with hostile strings, numbers, ids, cursors and conditional headers
 * (the chunk routes: read, list, update, delete, export). Invariants after each case:
 *   - no 5xx, and the daemon still answers /healthz;
 *   - another tenant's chunk id is never answered with a 2xx (bob on alice's chunks);
 *   - the stored row count moves only by what a 2xx answer says (a rejected request stores
 *     nothing, an accepted write stores exactly its ids, a delete removes exactly `deleted`).
 */
import fc from 'fast-check';
import t from 'tap';

import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase } from '../helpers/db.js';
import { ensureFixtureModel, rerankEnv, withEnv } from '../helpers/models.js';
import { anyJson, edgeNumber, embeddingLike, nastyString, runs } from './arbitraries.js';

const DIM = 384;

const db = await createTestDatabase(t);
// The reranker on (fixture model), so /v1/rerank and reranked queries are fuzzed for real rather
// than answering 503 rerank_disabled. The reranker is process-wide and reads process.env when it
// loads, so the variables go there (restored at teardown), not only into the daemon's env.
const rerank = rerankEnv(await ensureFixtureModel(), { RERANK_CIRCUIT_MS: '5000' });
t.teardown(withEnv(rerank));
const api = await startTestDaemon(t, { databaseUrl: db.appUrl, env: rerank });

async function rowCount(): Promise<number> {
  const { rows } = await db.admin.query<{ n: string }>('select count(*) as n from memory.memory_chunks');
  return Number(rows[0]!.n);
}

const userId = fc.oneof(fc.constantFrom('alice', 'bob', 'fuzz-user'), nastyString, anyJson);
const chunk = fc.record(
  {
    doc_id: fc.oneof(fc.constantFrom('doc-1', 'doc-2'), nastyString, anyJson),
    source: fc.oneof(nastyString, anyJson),
    text: fc.oneof(fc.constantFrom('a memory worth keeping', 'x'), nastyString, anyJson),
    metadata: fc.oneof(fc.dictionary(nastyString, anyJson, { maxKeys: 3 }), anyJson),
    embedding: embeddingLike(DIM),
  },
  { requiredKeys: [] },
);

// Well-formed writes with hostile metadata, so accepted writes (and the deletes that follow) are
// common enough for the row accounting to mean something.
const validEmbedding = Array.from({ length: DIM }, (_, i) => Math.sin(i + 1) / 10);
const validWrite = fc
  .record({
    user_id: fc.constantFrom('alice', 'bob'),
    doc_id: fc.constantFrom('doc-1', 'doc-2', "doc'; drop table x; --", '../../etc/passwd'),
    text: fc.constantFrom('a memory worth keeping', '漢字 text \u{1F600}', 'NUL-free but \u202E reversed'),
    metadata: fc.dictionary(nastyString, anyJson, { maxKeys: 3 }),
  })
  .map((b) => ({ method: 'POST', path: '/v1/chunks', body: { ...b, embedding: validEmbedding } }));

type Case = {
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
};

// A few real chunks (and a real cursor), so the chunk routes are fuzzed on ids that exist too.
const seeded: string[] = [];
for (const text of ['seeded one', 'seeded two', 'seeded three']) {
  const res = await api.request('POST', '/v1/chunks', {
    body: { user_id: 'alice', doc_id: 'doc-1', text, embedding: validEmbedding },
  });
  seeded.push(res.json.id as string);
}
const realCursor = (await api.request('GET', '/v1/users/alice/chunks?limit=1')).json.next_cursor as string;
const chunkId = fc.oneof(
  fc.constantFrom(...seeded),
  fc.uuid(),
  fc.constantFrom(seeded[0]!.toUpperCase(), `${seeded[0]}x`, ''),
  nastyString,
);
const conditionalHeaders = fc.record(
  {
    'if-match': fc.oneof(
      fc.constantFrom('"1"', '"2"', '*', 'W/"1"', '"0"', '"99999999999999999999"', '1'),
      nastyString,
    ),
    'idempotency-key': fc.oneof(fc.constantFrom('key-1', 'key-2'), nastyString),
  },
  { requiredKeys: [] },
);
// Header values must be ByteStrings for fetch: keep the Latin-1 part of a hostile string.
const latin1 = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace(/[^\x20-\x7e\x80-\xff]/g, '?')]));
const queryString = fc
  .record(
    {
      doc_id: fc.oneof(fc.constantFrom('doc-1', ''), nastyString),
      source: nastyString,
      limit: fc.oneof(fc.constantFrom('1', '500', '501', '0', '-1', '1.5', '1e3', ''), nastyString),
      cursor: fc.oneof(
        fc.constantFrom(realCursor, realCursor.slice(0, -2), `${realCursor}A`, ''),
        nastyString,
      ),
    },
    { requiredKeys: [] },
  )
  .map((q) => {
    const params = Object.entries(q).map(([k, v]) => `${k}=${encodeSegment(v)}`);
    return params.length ? `?${params.join('&')}` : '';
  });

/** Percent-encodes a segment; a lone surrogate becomes the (invalid UTF-8) bytes ED A0 80. */
function encodeSegment(s: string): string {
  return s.replace(/\p{Surrogate}|[^\p{Surrogate}]+/gu, (part) =>
    /\p{Surrogate}/u.test(part) ? '%ED%A0%80' : encodeURIComponent(part),
  );
}

const pathSegment = fc
  .oneof(fc.constantFrom('alice', 'doc-1', '..', '%2e%2e', '%00'), nastyString)
  .map(encodeSegment);

const chunkUser = fc.oneof(fc.constantFrom('alice', 'bob'), pathSegment);

const requestCase: fc.Arbitrary<Case> = fc.oneof(
  validWrite,
  fc
    .record({ user_id: userId, doc_id: chunk.map((c) => c.doc_id), extra: chunk })
    .map((b) => ({ method: 'POST', path: '/v1/chunks', body: { user_id: b.user_id, ...b.extra } })),
  fc
    .record(
      { user_id: userId, chunks: fc.oneof(fc.array(chunk, { maxLength: 4 }), anyJson) },
      { requiredKeys: [] },
    )
    .map((body) => ({ method: 'POST', path: '/v1/chunks/batch', body })),
  fc
    .record(
      {
        user_id: userId,
        query: fc.oneof(nastyString, anyJson),
        embedding: embeddingLike(DIM),
        k: fc.oneof(edgeNumber, anyJson),
        candidates: fc.oneof(edgeNumber, anyJson),
        rerank: anyJson,
        doc_id: fc.oneof(nastyString, anyJson),
        source: fc.oneof(nastyString, anyJson),
      },
      { requiredKeys: [] },
    )
    .map((body) => ({ method: 'POST', path: '/v1/query', body })),
  fc
    .record(
      {
        query: fc.oneof(nastyString, anyJson),
        texts: fc.oneof(fc.array(nastyString, { maxLength: 4 }), anyJson),
        top_n: fc.oneof(edgeNumber, anyJson),
      },
      { requiredKeys: [] },
    )
    .map((body) => ({ method: 'POST', path: '/v1/rerank', body })),
  fc
    .tuple(pathSegment, pathSegment)
    .map(([u, d]) => ({ method: 'DELETE', path: `/v1/users/${u}/docs/${d}` })),
  pathSegment.map((u) => ({ method: 'DELETE', path: `/v1/users/${u}` })),
  fc
    .record({
      path: fc.constantFrom('/v1/chunks', '/v1/chunks/batch', '/v1/query', '/v1/rerank'),
      raw: fc.oneof(
        fc.string16bits({ maxLength: 60 }),
        fc.constantFrom('{', '[]', 'null', '{"a":1}{', '\u0000', '{"user_id":"a","text":"\\ud800"}'),
      ),
    })
    .map((c) => ({ method: 'POST', ...c })),
  anyJson.map((body) => ({ method: 'POST', path: '/v1/chunks', body })),
  fc.tuple(chunkUser, chunkId, conditionalHeaders).map(([u, id, headers]) => ({
    method: fc.sample(fc.constantFrom('GET', 'DELETE'), 1)[0]!,
    path: `/v1/users/${u}/chunks/${encodeSegment(id)}`,
    headers: latin1(headers),
  })),
  fc
    .record({
      user: chunkUser,
      id: chunkId,
      headers: conditionalHeaders,
      body: fc.oneof(
        fc.record(
          {
            text: fc.oneof(fc.constantFrom('a corrected memory'), nastyString, anyJson),
            metadata: fc.oneof(fc.dictionary(nastyString, anyJson, { maxKeys: 3 }), anyJson),
            embedding: embeddingLike(DIM),
          },
          { requiredKeys: [] },
        ),
        anyJson,
      ),
    })
    .map(({ user, id, headers, body }) => ({
      method: 'PATCH',
      path: `/v1/users/${user}/chunks/${encodeSegment(id)}`,
      headers: latin1(headers),
      body,
    })),
  fc
    .tuple(chunkUser, fc.constantFrom('chunks', 'export'), queryString)
    .map(([u, route, q]) => ({ method: 'GET', path: `/v1/users/${u}/${route}${q}` })),
);

let cases = 0;
const statuses: Record<number, number> = {};

t.test('no 5xx, no crash, and rows change only as 2xx answers say', async (t) => {
  await fc.assert(
    fc.asyncProperty(requestCase, async (c) => {
      cases++;
      const before = await rowCount();
      const res = await api.request(c.method, c.path, {
        ...(c.raw !== undefined ? { rawBody: c.raw } : c.body !== undefined ? { body: c.body } : {}),
        ...(c.headers ? { headers: c.headers } : {}),
      });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 500)
        throw new Error(`${c.method} ${c.path} -> ${res.status} ${JSON.stringify(res.json)}`);
      if (res.status < 300 && seeded.some((id) => c.path.startsWith(`/v1/users/bob/chunks/${id}`)))
        throw new Error(`bob reached alice's chunk: ${c.method} ${c.path} -> ${res.status}`);
      const ndjson = c.path.includes('/export') && res.status === 200;
      if (ndjson && typeof res.json === 'string' && !res.json.endsWith('\n'))
        throw new Error(`an export that does not end with a newline: ${c.path}`);
      if (res.status >= 400 && (typeof res.json !== 'object' || !res.json?.error?.code))
        throw new Error(`error without the error contract: ${res.status}`);
      const after = await rowCount();
      let expected = before;
      if (res.status === 201 && c.path === '/v1/chunks') expected = before + 1;
      else if (res.status === 201 && c.path === '/v1/chunks/batch')
        expected = before + (res.json.ids as string[]).length;
      else if (res.status === 200 && c.method === 'DELETE') expected = before - (res.json.deleted as number);
      if (after !== expected)
        throw new Error(`${c.method} ${c.path} answered ${res.status} but rows went ${before} -> ${after}`);
    }),
    { numRuns: runs(300) },
  );
  const health = await api.request('GET', '/healthz');
  t.equal(health.status, 200, 'the daemon still answers');
  t.ok(
    (statuses[201] ?? 0) + (statuses[200] ?? 0) > 0,
    'some requests were accepted, so the accounting was exercised',
  );
});

t.teardown(() => {
  console.log(`# http fuzz: ${cases} cases, statuses ${JSON.stringify(statuses)}`);
});
