/**
 * Tenant isolation through the API: one tenant's query, filters or deletes never reach another
 * tenant's chunks, whatever the filters say.
 */
import t from 'tap';

import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });

// Alice and Bob store chunks with the same doc ids, sources and embeddings: only the tenant differs.
const SECRET = 'alice-secret-7f3a: the vault code is 1234';
for (const [user, text] of [
  ['alice', SECRET],
  ['bob', 'bob public note'],
] as const) {
  const res = await api.request('POST', '/v1/chunks/batch', {
    body: {
      user_id: user,
      chunks: [
        { doc_id: 'shared-doc', source: 'shared-source', text, embedding: testVector(1) },
        { doc_id: `${user}-only`, source: `${user}-source`, text: `${text} (2)`, embedding: testVector(2) },
      ],
    },
  });
  if (res.status !== 201) throw new Error(`setup failed: ${res.status}`);
}

const queryAs = (user: string, extra: Record<string, unknown> = {}) =>
  api.request('POST', '/v1/query', {
    body: { user_id: user, query: 'vault code', embedding: testVector(1), k: 100, candidates: 256, ...extra },
  });

const leaks = (results: Array<{ text: string }>) => results.filter((r) => r.text.includes('alice-secret'));

t.test("bob's query never returns alice's chunks, even with an identical embedding", async (t) => {
  const res = await queryAs('bob');
  t.equal(res.status, 200);
  t.equal(res.json.results.length, 2);
  t.same(leaks(res.json.results), []);
});

t.test("crafted doc_id and source filters do not reach alice's rows", async (t) => {
  // Each filter is valid, so each answers 200 with exactly bob's matching texts (none but one).
  const crafted: Array<[Record<string, string>, string[]]> = [
    [{ doc_id: 'alice-only' }, []],
    [{ source: 'alice-source' }, []],
    [{ doc_id: 'shared-doc', source: 'shared-source' }, ['bob public note']],
    [{ doc_id: "' or '1'='1" }, []],
    [{ doc_id: "alice-only' --" }, []],
    [{ source: '%' }, []],
    [{ doc_id: '*' }, []],
    [{ source: "shared-source'; set memory.user_hash = 'x" }, []],
  ];
  for (const [filter, expected] of crafted) {
    const res = await queryAs('bob', filter);
    t.equal(res.status, 200, JSON.stringify(filter));
    t.same(
      res.json.results.map((r: { text: string }) => r.text),
      expected,
      JSON.stringify(filter),
    );
  }
  // The control: the filters that found nothing for bob find alice's rows for alice.
  const alice = await queryAs('alice', { doc_id: 'alice-only' });
  t.same(
    alice.json.results.map((r: { text: string }) => r.text),
    [`${SECRET} (2)`],
  );
  // NUL cannot be stored or matched (PostgreSQL text): a 400 naming the field, not a driver error.
  const nul = await queryAs('bob', { doc_id: 'alice-only\u0000' });
  t.equal(nul.status, 400);
  t.match(nul.json, { error: { code: 'invalid_input', field: 'doc_id' } });
});

t.test('user ids that differ only by case or whitespace are different tenants', async (t) => {
  for (const user of ['Alice', 'alice ', ' alice', 'ALICE', 'alice\t']) {
    const res = await queryAs(user);
    t.same(res.json.results, [], JSON.stringify(user));
  }
});

t.test("bob cannot delete alice's document or forget alice", async (t) => {
  t.same((await api.request('DELETE', '/v1/users/bob/docs/alice-only')).json, { deleted: 0 });
  t.same(
    (await api.request('DELETE', '/v1/users/bob/docs/shared-doc')).json,
    { deleted: 1 },
    "deletes bob's own shared-doc only",
  );
  const alice = await queryAs('alice');
  t.equal(alice.json.results.length, 2, 'alice still has both chunks');
  t.same((await api.request('DELETE', '/v1/users/bob')).json, { deleted: 1 });
  t.equal((await queryAs('alice')).json.results.length, 2, 'forgetting bob left alice untouched');
});

t.test(
  "a blob copied from alice's row into bob's is refused with 500 integrity_error, leaking nothing",
  async (t) => {
    await api.request('POST', '/v1/chunks', {
      body: { user_id: 'carol', doc_id: 'c', text: 'carol text', embedding: testVector(3) },
    });
    await api.request('POST', '/v1/chunks', {
      body: { user_id: 'dave', doc_id: 'd', text: 'dave text', embedding: testVector(3) },
    });
    const { rows } = await db.admin.query(
      "select id, doc_id, text_cipher from memory.memory_chunks where doc_id in ('c', 'd')",
    );
    const carol = rows.find((r: { doc_id: string }) => r.doc_id === 'c');
    const dave = rows.find((r: { doc_id: string }) => r.doc_id === 'd');
    await db.admin.query('update memory.memory_chunks set text_cipher = $2 where id = $1', [
      dave.id,
      carol.text_cipher,
    ]);
    const res = await api.request('POST', '/v1/query', {
      body: { user_id: 'dave', query: 'q', embedding: testVector(3) },
    });
    t.equal(res.status, 500);
    t.equal(res.json.error.code, 'integrity_error');
    t.notMatch(JSON.stringify(res.json), /carol|dave text/);
  },
);

t.test("the chunk routes: bob cannot read, list, update, delete or export alice's chunks", async (t) => {
  const written = await api.request('POST', '/v1/chunks', {
    body: {
      user_id: 'erin',
      doc_id: 'e',
      text: 'erin-secret 42',
      metadata: { pin: 7 },
      embedding: testVector(4),
    },
  });
  const id: string = written.json.id;
  const erin = await api.request('GET', `/v1/users/erin/chunks/${id}`);
  const etag = erin.headers.get('etag')!;
  t.equal(etag, '"1"');

  const read = await api.request('GET', `/v1/users/frank/chunks/${id}`);
  t.equal(read.status, 404, "frank reading erin's id: 404, as for an id that does not exist");
  t.notMatch(JSON.stringify(read.json), /erin|42/);
  const patch = await api.request('PATCH', `/v1/users/frank/chunks/${id}`, {
    body: { metadata: { pin: 0 } },
    headers: { 'if-match': etag },
  });
  t.equal(patch.status, 404, "frank patching erin's id, with erin's ETag: 404");
  t.equal(patch.headers.get('etag'), null, 'and no ETag of erin leaks');
  const del = await api.request('DELETE', `/v1/users/frank/chunks/${id}`, { headers: { 'if-match': etag } });
  t.equal(del.status, 404);

  const after = await api.request('GET', `/v1/users/erin/chunks/${id}`);
  t.match(after.json, { text: 'erin-secret 42', metadata: { pin: 7 }, version: 1 }, 'erin untouched');

  await api.request('POST', '/v1/chunks', {
    body: { user_id: 'frank', doc_id: 'e', text: 'frank note', embedding: testVector(4) },
  });
  const list = await api.request('GET', '/v1/users/frank/chunks?doc_id=e');
  t.same(
    list.json.chunks.map((c: { text: string }) => c.text),
    ['frank note'],
  );
  const exported = await fetch(`${api.url}/v1/users/frank/export`, {
    headers: { authorization: `Bearer ${api.token}` },
  });
  const text = await exported.text();
  t.match(text, /frank note/);
  t.notMatch(text, /erin-secret/);

  // Erin's cursor, tried on frank's listing.
  await api.request('POST', '/v1/chunks', {
    body: { user_id: 'erin', doc_id: 'e2', text: 'erin second', embedding: testVector(5) },
  });
  const page = await api.request('GET', '/v1/users/erin/chunks?limit=1');
  const stolen = await api.request('GET', `/v1/users/frank/chunks?limit=1&cursor=${page.json.next_cursor}`);
  t.equal(stolen.status, 400);
  t.equal(stolen.json.error.field, 'cursor');
});

t.test('idempotency keys are per tenant: the same key for two users writes for each', async (t) => {
  const post = (user: string) =>
    api.request('POST', '/v1/chunks', {
      body: { user_id: user, doc_id: 'k', text: 'same text', embedding: testVector(6) },
      headers: { 'idempotency-key': 'shared-key-1' },
    });
  const gina = await post('gina');
  const hank = await post('hank');
  t.equal(gina.status, 201);
  t.equal(hank.status, 201);
  t.not(hank.json.id, gina.json.id, "hank's write is his own, not a replay of gina's");
  t.equal(hank.headers.get('idempotent-replayed'), null);
});
