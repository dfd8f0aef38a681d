/**
 * The chunk routes over real HTTP on a real database: read one, list (keyset, newest first,
 * tenant-bound cursors), update with versions (ETag / If-Match), delete one, export (NDJSON),
 * timestamps on every result.
 */
import t from 'tap';

import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });

async function write(user: string, n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const res = await api.request('POST', '/v1/chunks/batch', {
    body: {
      user_id: user,
      chunks: Array.from({ length: n }, (_, i) => ({
        doc_id: `doc-${i % 3}`,
        text: `${user} note ${i}`,
        metadata: { i },
        embedding: testVector(i + 1),
        ...extra,
      })),
    },
  });
  if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.ids;
}

const chunkPath = (user: string, id: string) => `/v1/users/${encodeURIComponent(user)}/chunks/${id}`;

t.test('GET one chunk: opened text and metadata, version 1, ETag, timestamps', async (t) => {
  const [id] = await write('getter', 1);
  const res = await api.request('GET', chunkPath('getter', id!));
  t.equal(res.status, 200);
  t.match(res.json, {
    id,
    doc_id: 'doc-0',
    source: 'default',
    text: 'getter note 0',
    metadata: { i: 0 },
    version: 1,
  });
  t.equal(res.headers.get('etag'), '"1"');
  t.equal(res.json.created_at, res.json.updated_at, 'never updated: updated_at = created_at');
  const age = Date.now() - Date.parse(res.json.created_at);
  t.ok(age >= -5_000 && age < 120_000, `created_at is now-ish (${age} ms ago)`);
  t.notOk('embedding' in res.json, 'the embedding is not returned');
});

t.test('GET a missing or malformed id', async (t) => {
  const missing = await api.request('GET', chunkPath('getter', '00000000-0000-4000-8000-000000000000'));
  t.equal(missing.status, 404);
  t.equal(missing.json.error.code, 'not_found');
  const bad = await api.request('GET', chunkPath('getter', 'not-a-uuid'));
  t.equal(bad.status, 400);
  t.equal(bad.json.error.field, 'id');
});

t.test('list: newest first, pages by cursor without gaps or repeats, filters', async (t) => {
  const ids = await write('lister', 7);
  // One batch shares created_at (one statement): the order falls back to id, still total.
  const more = [...(await write('lister', 2)), ...(await write('lister', 1))];
  const seen: string[] = [];
  const timestamps: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
    const res = await api.request('GET', `/v1/users/lister/chunks${query}`);
    t.equal(res.status, 200);
    t.ok(res.json.chunks.length <= 3);
    for (const chunk of res.json.chunks) {
      seen.push(chunk.id);
      timestamps.push(chunk.created_at);
      t.type(chunk.text, 'string');
      t.type(chunk.version, 'number');
    }
    cursor = res.json.next_cursor;
    pages++;
  } while (cursor && pages < 10);
  t.equal(pages, 4, '10 chunks in pages of 3: 4 pages, the last without next_cursor');
  t.same([...seen].sort(), [...ids, ...more].sort(), 'every chunk exactly once');
  t.same(timestamps, [...timestamps].sort().reverse(), 'newest first');
  t.equal(seen.at(0), more.at(-1), 'the last write comes first');

  const byDoc = await api.request('GET', '/v1/users/lister/chunks?doc_id=doc-1&limit=500');
  t.equal(byDoc.json.chunks.length, 3, 'doc-1: chunks 1 and 4 of the first batch, 1 of the second');
  t.ok(byDoc.json.chunks.every((c: { doc_id: string }) => c.doc_id === 'doc-1'));
  t.equal(byDoc.json.next_cursor, null);
});

t.test('list: bad limit and cursor values are 400s naming the parameter', async (t) => {
  for (const [query, field] of [
    ['?limit=0', 'limit'],
    ['?limit=501', 'limit'],
    ['?limit=abc', 'limit'],
    ['?cursor=xyz', 'cursor'],
    ['?cursor=' + 'A'.repeat(55), 'cursor'],
  ] as const) {
    const res = await api.request('GET', `/v1/users/lister/chunks${query}`);
    t.equal(res.status, 400, query);
    t.equal(res.json.error.field, field, query);
  }
});

t.test(
  "a cursor works only for its tenant and its filters: another's, or a tampered one, is a 400",
  async (t) => {
    await write('cursor-a', 4);
    await write('cursor-b', 4);
    const first = await api.request('GET', '/v1/users/cursor-a/chunks?limit=2');
    const cursor: string = first.json.next_cursor;
    t.type(cursor, 'string');
    const own = await api.request('GET', `/v1/users/cursor-a/chunks?limit=2&cursor=${cursor}`);
    t.equal(own.status, 200);
    t.equal(own.json.chunks.length, 2);

    const other = await api.request('GET', `/v1/users/cursor-b/chunks?limit=2&cursor=${cursor}`);
    t.equal(other.status, 400, "tenant b cannot use tenant a's cursor");
    t.equal(other.json.error.field, 'cursor');
    const filtered = await api.request(
      'GET',
      `/v1/users/cursor-a/chunks?limit=2&doc_id=doc-0&cursor=${cursor}`,
    );
    t.equal(filtered.status, 400, 'nor with other filters');
    // Flip one bit of the position: the MAC no longer matches.
    const bytes = Buffer.from(cursor, 'base64url');
    bytes[5]! ^= 1;
    const tampered = await api.request(
      'GET',
      `/v1/users/cursor-a/chunks?limit=2&cursor=${bytes.toString('base64url')}`,
    );
    t.equal(tampered.status, 400);
    t.equal(tampered.json.error.field, 'cursor');
  },
);

t.test('PATCH metadata only: text kept, version and updated_at move, ETag follows', async (t) => {
  const [id] = await write('patcher', 1);
  const before = await api.request('GET', chunkPath('patcher', id!));
  await new Promise((resolve) => setTimeout(resolve, 5));
  const res = await api.request('PATCH', chunkPath('patcher', id!), { body: { metadata: { tag: 'work' } } });
  t.equal(res.status, 200);
  t.match(res.json, { id, doc_id: 'doc-0', source: 'default', version: 2 });
  t.equal(res.headers.get('etag'), '"2"');
  t.equal(res.json.created_at, before.json.created_at, 'created_at unchanged');
  t.ok(Date.parse(res.json.updated_at) > Date.parse(before.json.updated_at), 'updated_at moved');
  const after = await api.request('GET', chunkPath('patcher', id!));
  t.same(after.json.metadata, { tag: 'work' });
  t.equal(after.json.text, 'patcher note 0');
  t.equal(after.json.version, 2);
});

t.test(
  'PATCH text with an embedding: re-sealed and re-indexed (the query finds it by the new vector)',
  async (t) => {
    const [id] = await write('patcher2', 1);
    const res = await api.request('PATCH', chunkPath('patcher2', id!), {
      body: { text: 'corrected fact', embedding: testVector(40) },
    });
    t.equal(res.status, 200);
    const query = await api.request('POST', '/v1/query', {
      body: { user_id: 'patcher2', query: 'x', embedding: testVector(40), k: 1, mode: 'dense' },
    });
    t.equal(query.json.results[0].id, id);
    t.equal(query.json.results[0].text, 'corrected fact');
    t.ok(query.json.results[0].score > 0.9999, `the new vector: cosine ${query.json.results[0].score}`);
    t.same(query.json.results[0].metadata, { i: 0 }, 'metadata kept');
    t.equal(query.json.results[0].updated_at, res.json.updated_at, 'query results carry updated_at');
    t.type(query.json.results[0].created_at, 'string');
    // The lexical index follows the text in the same statement: old words stop matching.
    const lexical = (words: string) =>
      api.request('POST', '/v1/query', {
        body: { user_id: 'patcher2', query: words, k: 5, mode: 'lexical', rerank: false },
      });
    const old = await lexical('patcher2 note');
    t.same(old.json.results, [], 'the old text is no longer found');
    const found = await lexical('corrected');
    t.same(
      found.json.results.map((r: { id: string; score_kind: string }) => [r.id, r.score_kind]),
      [[id, 'bm25']],
      'the new text is',
    );
    t.type(found.json.results[0].updated_at, 'string', 'lexical hits carry timestamps');
    // A metadata-only patch leaves the text and its index as they are.
    await api.request('PATCH', chunkPath('patcher2', id!), { body: { metadata: { i: 1 } } });
    t.equal((await lexical('corrected')).json.results[0]?.id, id);
  },
);

t.test('PATCH validation: an empty patch, bad text, embedding without text', async (t) => {
  const [id] = await write('patcher3', 1);
  for (const [body, field] of [
    [{}, 'text'],
    [{ text: '   ' }, 'text'],
    [{ metadata: [1] }, 'metadata'],
    [{ metadata: { a: 1 }, embedding: testVector(1) }, 'embedding'],
    [{ text: 'new', embedding: [1, 2] }, 'embedding'],
    [{ text: 'new' }, 'embedding'],
  ] as const) {
    const res = await api.request('PATCH', chunkPath('patcher3', id!), { body });
    t.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
    t.equal(res.json.error.field, field);
  }
  const after = await api.request('GET', chunkPath('patcher3', id!));
  t.equal(after.json.version, 1, 'nothing was written');
});

t.test('If-Match: the current version updates, a stale one is a 412 with the current ETag', async (t) => {
  const [id] = await write('versions', 1);
  const first = await api.request('PATCH', chunkPath('versions', id!), {
    body: { metadata: { by: 'writer 1' } },
    headers: { 'if-match': '"1"' },
  });
  t.equal(first.status, 200);
  t.equal(first.json.version, 2);
  // Writer 2 read version 1 too and does not know about writer 1's change.
  const second = await api.request('PATCH', chunkPath('versions', id!), {
    body: { metadata: { by: 'writer 2' } },
    headers: { 'if-match': '"1"' },
  });
  t.equal(second.status, 412);
  t.equal(second.json.error.code, 'version_conflict');
  t.equal(second.headers.get('etag'), '"2"');
  const now = await api.request('GET', chunkPath('versions', id!));
  t.same(now.json.metadata, { by: 'writer 1' }, "writer 1's change survived");
  const wildcard = await api.request('PATCH', chunkPath('versions', id!), {
    body: { metadata: { by: 'anyone' } },
    headers: { 'if-match': '*' },
  });
  t.equal(wildcard.status, 200, 'If-Match: * updates any current version');
  for (const header of ['W/"3"', '"1", "2"', 'abc', '"0"']) {
    const res = await api.request('PATCH', chunkPath('versions', id!), {
      body: { metadata: {} },
      headers: { 'if-match': header },
    });
    t.equal(res.status, 400, `If-Match: ${header}`);
    t.equal(res.json.error.field, 'If-Match');
  }
});

t.test('concurrent PATCHes without If-Match: each lands, none is lost', async (t) => {
  const [id] = await write('racers', 1);
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      api.request('PATCH', chunkPath('racers', id!), { body: { metadata: { writer: i } } }),
    ),
  );
  t.same(
    results.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
  );
  t.same(
    results.map((r) => r.json.version).sort((a: number, b: number) => a - b),
    [2, 3, 4, 5, 6, 7],
    'six distinct versions: every update applied on top of the previous one',
  );
});

t.test('DELETE one chunk: 200, then 404; a stale If-Match is a 412 and deletes nothing', async (t) => {
  const [keep, drop] = await write('deleter', 2);
  const stale = await api.request('DELETE', chunkPath('deleter', keep!), { headers: { 'if-match': '"7"' } });
  t.equal(stale.status, 412);
  t.equal(stale.headers.get('etag'), '"1"');
  t.equal((await api.request('GET', chunkPath('deleter', keep!))).status, 200, 'still there');
  const res = await api.request('DELETE', chunkPath('deleter', drop!));
  t.equal(res.status, 200);
  t.same(res.json, { deleted: 1 });
  t.equal((await api.request('GET', chunkPath('deleter', drop!))).status, 404);
  t.equal((await api.request('DELETE', chunkPath('deleter', drop!))).status, 404, 'deleting twice: 404');
  const query = await api.request('POST', '/v1/query', {
    body: { user_id: 'deleter', query: 'x', embedding: testVector(2), k: 10 },
  });
  t.same(
    query.json.results.map((r: { id: string }) => r.id),
    [keep],
    'the deleted chunk is no longer searchable',
  );
});

t.test('export: every chunk of the user as NDJSON, opened, newest first', async (t) => {
  const ids = await write('exporter', 12);
  const res = await fetch(`${api.url}/v1/users/exporter/export`, {
    headers: { authorization: `Bearer ${api.token}` },
  });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^application\/x-ndjson/);
  const body = await res.text();
  t.ok(body.endsWith('\n'), 'every line ends with a newline');
  const lines = body
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  t.equal(lines.length, 12);
  t.same(lines.map((l) => l.id).sort(), [...ids].sort());
  t.same(lines.map((l) => l.text).sort(), Array.from({ length: 12 }, (_, i) => `exporter note ${i}`).sort());
  t.match(lines[0], { metadata: Object, version: 1, created_at: String, updated_at: String });
  const byDoc = await fetch(`${api.url}/v1/users/exporter/export?doc_id=doc-2`, {
    headers: { authorization: `Bearer ${api.token}` },
  });
  t.equal((await byDoc.text()).trimEnd().split('\n').length, 4, 'doc_id filters the export');
  const empty = await fetch(`${api.url}/v1/users/nobody-at-all/export`, {
    headers: { authorization: `Bearer ${api.token}` },
  });
  t.equal(empty.status, 200);
  t.equal(await empty.text(), '', 'a user without chunks: an empty export');
});

t.test('a badly encoded user id is refused only by the route that matches the path', async (t) => {
  // %ED%A0%80 is a lone surrogate: not decodable. A path that matches no route stays a 404 (the
  // router must not decode a parameter of a route whose literal segments differ).
  const none = await api.request('DELETE', '/v1/users/%ED%A0%80/nothing-here');
  t.equal(none.status, 404);
  const list = await api.request('GET', '/v1/users/%ED%A0%80/chunks');
  t.equal(list.status, 400);
  t.equal(list.json.error.field, 'user_id');
});
