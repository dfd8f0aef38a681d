/**
 * Filters over sealed metadata through the HTTP API of a real daemon on a real database: equality,
 * sets, and / or / not, negations, timestamps, on list, export and query; what the database holds
 * (tokens, never a field or a value); chunks without tokens (written before filters, corrected by
 * a PATCH) keyed before a filtered read so none is missed; tenants isolated; a filter the server
 * cannot answer is a 400 naming the clause.
 */
import t from 'tap';

import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });

interface Note {
  text: string;
  metadata: Record<string, unknown>;
}

const NOTES: Note[] = [
  { text: 'standup notes', metadata: { tag: 'work', year: 2024, pinned: true } },
  { text: 'groceries', metadata: { tag: 'home', year: 2024, pinned: false } },
  { text: 'quarterly plan', metadata: { tag: 'work', year: 2025, owner: null } },
  { text: 'birthday ideas', metadata: { tag: 'family', year: 2025, pinned: true } },
  { text: 'tax papers', metadata: { tag: 'home', year: '2025', labels: ['work'] } },
  { text: 'no metadata at all', metadata: {} },
];

async function write(user: string, notes: Note[]): Promise<string[]> {
  const res = await api.request('POST', '/v1/chunks/batch', {
    body: {
      user_id: user,
      chunks: notes.map((note, i) => ({ doc_id: `doc-${i}`, embedding: testVector(i + 1), ...note })),
    },
  });
  if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.ids;
}

const listPath = (user: string, filter: unknown, extra = '') =>
  `/v1/users/${encodeURIComponent(user)}/chunks?filter=${encodeURIComponent(JSON.stringify(filter))}${extra}`;

async function listTexts(user: string, filter: unknown): Promise<string[]> {
  const res = await api.request('GET', listPath(user, filter, '&limit=500'));
  if (res.status !== 200) throw new Error(`list failed: ${res.status} ${JSON.stringify(res.json)}`);
  return (res.json.chunks as Array<{ text: string }>).map((c) => c.text).sort();
}

await write('alice', NOTES);
await write('bob', [{ text: 'bob work item', metadata: { tag: 'work', year: 2024 } }]);

t.test('equality, sets, negation and boolean combinations on list', async (t) => {
  t.same(await listTexts('alice', { tag: 'work' }), ['quarterly plan', 'standup notes']);
  t.same(await listTexts('alice', { tag: { eq: 'work' } }), ['quarterly plan', 'standup notes']);
  t.same(await listTexts('alice', { tag: { in: ['home', 'family'] } }), [
    'birthday ideas',
    'groceries',
    'tax papers',
  ]);
  t.same(
    await listTexts('alice', { year: 2025 }),
    ['birthday ideas', 'quarterly plan'],
    '2025 is not "2025"',
  );
  t.same(await listTexts('alice', { year: '2025' }), ['tax papers']);
  t.same(await listTexts('alice', { pinned: true }), ['birthday ideas', 'standup notes']);
  t.same(await listTexts('alice', { owner: null }), ['quarterly plan'], 'null matches an explicit null only');
  t.same(await listTexts('alice', { tag: 'work', year: 2024 }), ['standup notes'], 'two fields: both');
  t.same(await listTexts('alice', { or: [{ tag: 'family' }, { year: 2024, tag: 'home' }] }), [
    'birthday ideas',
    'groceries',
  ]);
  t.same(
    await listTexts('alice', { tag: { ne: 'work' } }),
    ['birthday ideas', 'groceries', 'no metadata at all', 'tax papers'],
    'ne includes chunks without the field',
  );
  t.same(await listTexts('alice', { not: { or: [{ tag: 'work' }, { tag: 'home' }] } }), [
    'birthday ideas',
    'no metadata at all',
  ]);
  t.same(await listTexts('alice', { and: [{ tag: { nin: ['home'] } }, { pinned: true }] }), [
    'birthday ideas',
    'standup notes',
  ]);
  t.same(await listTexts('alice', { labels: 'work' }), [], 'arrays are not top-level scalars');
  t.same(await listTexts('alice', { tag: 'nothing-like-this' }), []);
  t.same(await listTexts('alice', {}), NOTES.map((n) => n.text).sort(), 'an empty filter keeps everything');
});

t.test('the database holds tokens, never a field name or a value', async (t) => {
  const { rows } = await db.admin.query<{ filter_tokens: string[]; filter_key_id: number | null }>(
    'select filter_tokens, filter_key_id from memory.memory_chunks where filter_tokens is not null',
  );
  t.ok(rows.length >= NOTES.length, 'keyed rows exist');
  const dump = JSON.stringify(rows);
  for (const plain of ['work', 'home', 'family', '2024', 'pinned', 'tag']) t.notMatch(dump, plain);
  const { rows: same } = await db.admin.query<{ n: string }>(
    `select count(distinct t) as n from memory.memory_chunks c, unnest(c.filter_tokens) t`,
  );
  t.ok(Number(same[0]!.n) > 5, 'tokens differ per (field, value)');
});

t.test("tenants are isolated: bob's filter sees only bob's chunks", async (t) => {
  t.same(await listTexts('bob', { tag: 'work' }), ['bob work item']);
  t.same(await listTexts('bob', { tag: 'home' }), []);
  // The same (field, value) keys to different tokens per tenant.
  const { rows } = await db.admin.query<{ shared: string }>(`
    select count(*) as shared from (
      select unnest(filter_tokens) t, user_hash from memory.memory_chunks
    ) a join (select unnest(filter_tokens) t, user_hash from memory.memory_chunks) b
      on a.t = b.t and a.user_hash < b.user_hash`);
  t.equal(Number(rows[0]!.shared), 0, 'no token is shared across tenants');
  const empty = await api.request('GET', listPath('nobody-here', { tag: 'work' }));
  t.same(empty.json, { chunks: [], next_cursor: null }, 'a tenant without chunks: an empty page');
});

t.test('chunks without tokens are keyed before a filtered read, and a PATCH re-keys', async (t) => {
  const ids = await write('legacy', [
    { text: 'old one', metadata: { tag: 'work' } },
    { text: 'old two', metadata: { tag: 'home' } },
  ]);
  // As if written before filters existed.
  await db.admin.query(
    'update memory.memory_chunks set filter_tokens = null, filter_key_id = null where id = any($1::uuid[])',
    [ids],
  );
  t.same(await listTexts('legacy', { tag: 'work' }), ['old one'], 'found although it had no tokens');
  const { rows } = await db.admin.query<{ n: string }>(
    'select count(*) as n from memory.memory_chunks where id = any($1::uuid[]) and filter_key_id is not null',
    [ids],
  );
  t.equal(Number(rows[0]!.n), 2, 'the backlog was keyed and stored');

  const patched = await api.request('PATCH', `/v1/users/legacy/chunks/${ids[1]}`, {
    body: { metadata: { tag: 'work', moved: true } },
  });
  t.equal(patched.status, 200);
  t.same(await listTexts('legacy', { tag: 'work' }), ['old one', 'old two'], 'the new metadata matches');
  t.same(await listTexts('legacy', { tag: 'home' }), [], 'the old metadata no longer does');
  t.same(await listTexts('legacy', { moved: true }), ['old two']);
});

t.test('created_at / updated_at ranges', async (t) => {
  const before = new Date(Date.now() - 1000).toISOString();
  const [id] = await write('timely', [{ text: 'late note', metadata: { tag: 'x' } }]);
  const all = await listTexts('timely', { created_at: { gte: before } });
  t.same(all, ['late note']);
  t.same(await listTexts('timely', { created_at: { lt: before } }), []);
  const future = new Date(Date.now() + 3_600_000).toISOString();
  t.same(await listTexts('timely', { updated_at: { gt: future } }), []);
  t.same(await listTexts('timely', { and: [{ tag: 'x' }, { created_at: { gte: before, lte: future } }] }), [
    'late note',
  ]);
  t.ok(id);
});

t.test('cursors are bound to the filter', async (t) => {
  const first = await api.request('GET', listPath('alice', { year: { in: [2024, 2025] } }, '&limit=2'));
  t.equal(first.json.chunks.length, 2);
  t.type(first.json.next_cursor, 'string');
  const cursor = `&cursor=${encodeURIComponent(first.json.next_cursor)}`;
  const next = await api.request(
    'GET',
    listPath('alice', { year: { in: [2024, 2025] } }, `&limit=2${cursor}`),
  );
  t.equal(next.status, 200);
  const seen = [...first.json.chunks, ...next.json.chunks].map((c: { id: string }) => c.id);
  t.equal(new Set(seen).size, 4, 'two pages, four distinct chunks');
  t.equal(next.json.next_cursor, null);
  const other = await api.request('GET', listPath('alice', { year: 2024 }, `&limit=2${cursor}`));
  t.equal(other.status, 400);
  t.equal(other.json.error.field, 'cursor');
});

t.test('export and query take the filter too', async (t) => {
  const res = await fetch(
    `${api.url}/v1/users/alice/export?filter=${encodeURIComponent(JSON.stringify({ tag: 'home' }))}`,
    { headers: { authorization: `Bearer ${api.token}` } },
  );
  t.equal(res.status, 200);
  const lines = (await res.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { text: string });
  t.same(lines.map((l) => l.text).sort(), ['groceries', 'tax papers']);

  const query = await api.request('POST', '/v1/query', {
    body: { user_id: 'alice', query: 'anything', embedding: testVector(1), k: 10, filter: { pinned: true } },
  });
  t.equal(query.status, 200);
  t.same((query.json.results as Array<{ text: string }>).map((r) => r.text).sort(), [
    'birthday ideas',
    'standup notes',
  ]);
  for (const mode of ['dense', 'lexical', 'hybrid']) {
    // "notes ideas plan papers groceries" matches every text lexically; the filter keeps two.
    const res = await api.request('POST', '/v1/query', {
      body: {
        user_id: 'alice',
        query: 'standup notes birthday ideas quarterly plan tax papers groceries',
        embedding: testVector(2),
        k: 10,
        mode,
        filter: { or: [{ tag: 'family' }, { tag: 'home', year: 2024 }] },
      },
    });
    t.equal(res.status, 200, mode);
    t.equal(res.json.mode, mode);
    t.same(
      (res.json.results as Array<{ text: string }>).map((r) => r.text).sort(),
      ['birthday ideas', 'groceries'],
      `${mode}: the filter applies to the first stage`,
    );
  }
  const none = await api.request('POST', '/v1/query', {
    body: { user_id: 'alice', query: 'anything', embedding: testVector(1), filter: { tag: 'nope' } },
  });
  t.same(none.json.results, []);
});

t.test('a filter the server cannot answer is a 400 naming the clause, never ignored', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{ year: { gt: 2024 } }, 'filter.year.gt'],
    [{ tag: { contains: 'wo' } }, 'filter.tag.contains'],
    [{ tag: { like: 'w%' } }, 'filter.tag.like'],
    [{ tag: { regexp: 'w' } }, 'filter.tag.regexp'],
    [{ tag: ['work'] }, 'filter.tag'],
    [{ tag: { a: 1 } }, 'filter.tag.a'],
    [{ tag: { in: [] } }, 'filter.tag.in'],
    [{ tag: { in: [{ x: 1 }] } }, 'filter.tag.in[0]'],
    [{ and: [] }, 'filter.and'],
    [{ or: 'x' }, 'filter.or'],
    [{ not: 1 }, 'filter.not'],
    [{ created_at: { gte: 'yesterday' } }, 'filter.created_at.gte'],
    [{ created_at: { eq: '2026-01-01T00:00:00Z' } }, 'filter.created_at.eq'],
    [[{ tag: 'work' }], 'filter'],
  ];
  for (const [filter, field] of cases) {
    const list = await api.request('GET', listPath('alice', filter));
    t.equal(list.status, 400, JSON.stringify(filter));
    t.equal(list.json.error.field, field, `list: ${JSON.stringify(filter)}`);
    const query = await api.request('POST', '/v1/query', {
      body: { user_id: 'alice', query: 'x', embedding: testVector(1), filter },
    });
    t.equal(query.status, 400, JSON.stringify(filter));
    t.equal(query.json.error.field, field, `query: ${JSON.stringify(filter)}`);
  }
  const notJson = await api.request('GET', '/v1/users/alice/chunks?filter=%7Btag');
  t.equal(notJson.json.error.field, 'filter');
  const deep = { not: { not: { not: { not: { not: { not: { not: { not: { tag: 'x' } } } } } } } } };
  const tooDeep = await api.request('GET', listPath('alice', deep));
  t.equal(tooDeep.status, 400);
  t.match(tooDeep.json.error.field, /^filter\.not/);
  const many = { tag: { in: Array.from({ length: 300 }, (_, i) => `v${i}`) } };
  const tooMany = await api.request('GET', listPath('alice', many));
  t.equal(tooMany.status, 400);
  t.equal(tooMany.json.error.field, 'filter.tag.in');
});
