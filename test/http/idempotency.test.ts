/**
 * Idempotency-Key on POST /v1/chunks, POST /v1/chunks/batch and PATCH: a retry with the same key
 * and body gets the first response and writes nothing; another body is a 422; keys live in the
 * database (a second daemon on the same database honours them), and concurrent retries write once.
 */
import t from 'tap';

import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });

const rowsOf = async (docId: string): Promise<number> =>
  (
    await db.admin.query<{ n: number }>(
      'select count(*)::int as n from memory.memory_chunks where doc_id = $1',
      [docId],
    )
  ).rows[0]!.n;

t.test('POST /v1/chunks: same key and body → the first response, one row', async (t) => {
  const body = { user_id: 'ivy', doc_id: 'idem-1', text: 'pay the rent', embedding: testVector(1) };
  const headers = { 'idempotency-key': 'req-0001' };
  const first = await api.request('POST', '/v1/chunks', { body, headers });
  t.equal(first.status, 201);
  t.equal(first.headers.get('idempotent-replayed'), null);
  const again = await api.request('POST', '/v1/chunks', { body, headers });
  t.equal(again.status, 201);
  t.same(again.json, first.json, 'the same id');
  t.equal(again.headers.get('idempotent-replayed'), 'true');
  // Key order and spacing of the JSON do not make it another request.
  const reordered = await api.request('POST', '/v1/chunks', {
    rawBody: JSON.stringify({
      embedding: body.embedding,
      text: body.text,
      doc_id: body.doc_id,
      user_id: 'ivy',
    }),
    headers,
  });
  t.same(reordered.json, first.json);
  t.equal(await rowsOf('idem-1'), 1, 'one row written');
});

t.test('same key, another body → 422 naming Idempotency-Key, nothing written', async (t) => {
  const headers = { 'idempotency-key': 'req-0002' };
  const first = await api.request('POST', '/v1/chunks', {
    body: { user_id: 'ivy', doc_id: 'idem-2', text: 'first', embedding: testVector(2) },
    headers,
  });
  t.equal(first.status, 201);
  const other = await api.request('POST', '/v1/chunks', {
    body: { user_id: 'ivy', doc_id: 'idem-2', text: 'second', embedding: testVector(2) },
    headers,
  });
  t.equal(other.status, 422);
  t.equal(other.json.error.code, 'idempotency_key_reused');
  t.equal(other.json.error.field, 'Idempotency-Key');
  const batch = await api.request('POST', '/v1/chunks/batch', {
    body: { user_id: 'ivy', chunks: [{ doc_id: 'idem-2', text: 'first', embedding: testVector(2) }] },
    headers,
  });
  t.equal(batch.status, 422, 'the same key on another route is another request too');
  t.equal(await rowsOf('idem-2'), 1);
});

t.test('a failed request records nothing: the retry with its key writes', async (t) => {
  const headers = { 'idempotency-key': 'req-0003' };
  const bad = await api.request('POST', '/v1/chunks', {
    body: { user_id: 'ivy', doc_id: 'idem-3', text: '', embedding: testVector(3) },
    headers,
  });
  t.equal(bad.status, 400);
  const good = await api.request('POST', '/v1/chunks', {
    body: { user_id: 'ivy', doc_id: 'idem-3', text: 'fixed', embedding: testVector(3) },
    headers,
  });
  t.equal(good.status, 201);
  t.equal(await rowsOf('idem-3'), 1);
});

t.test('batch: the replay answers the same ids in order', async (t) => {
  const body = {
    user_id: 'ivy',
    chunks: [1, 2, 3].map((i) => ({ doc_id: 'idem-4', text: `b${i}`, embedding: testVector(i) })),
  };
  const headers = { 'idempotency-key': 'batch-1' };
  const first = await api.request('POST', '/v1/chunks/batch', { body, headers });
  const again = await api.request('POST', '/v1/chunks/batch', { body, headers });
  t.equal(first.json.ids.length, 3);
  t.same(again.json, first.json);
  t.equal(await rowsOf('idem-4'), 3);
});

t.test('concurrent retries with one key write once and all answer the same id', async (t) => {
  const body = { user_id: 'ivy', doc_id: 'idem-5', text: 'once', embedding: testVector(5) };
  const responses = await Promise.all(
    Array.from({ length: 8 }, () =>
      api.request('POST', '/v1/chunks', { body, headers: { 'idempotency-key': 'burst-1' } }),
    ),
  );
  t.same(
    responses.map((r) => r.status),
    Array(8).fill(201),
  );
  t.equal(new Set(responses.map((r) => r.json.id)).size, 1, 'one id for all');
  t.equal(responses.filter((r) => r.headers.get('idempotent-replayed') === null).length, 1, 'one original');
  t.equal(await rowsOf('idem-5'), 1);
});

t.test('keys live in the database: a second daemon replays what the first answered', async (t) => {
  const other = await startTestDaemon(t, { databaseUrl: db.appUrl });
  const body = { user_id: 'ivy', doc_id: 'idem-6', text: 'across daemons', embedding: testVector(6) };
  const headers = { 'idempotency-key': 'cross-1' };
  const first = await api.request('POST', '/v1/chunks', { body, headers });
  const again = await other.request('POST', '/v1/chunks', { body, headers });
  t.same(again.json, first.json);
  t.equal(again.headers.get('idempotent-replayed'), 'true');
  t.equal(await rowsOf('idem-6'), 1);
});

t.test('PATCH: a replay answers the first version and does not update again', async (t) => {
  const created = await api.request('POST', '/v1/chunks', {
    body: { user_id: 'ivy', doc_id: 'idem-7', text: 'v1', embedding: testVector(7) },
  });
  const path = `/v1/users/ivy/chunks/${created.json.id}`;
  const headers = { 'idempotency-key': 'patch-1' };
  const first = await api.request('PATCH', path, { body: { metadata: { n: 1 } }, headers });
  const again = await api.request('PATCH', path, { body: { metadata: { n: 1 } }, headers });
  t.equal(first.json.version, 2);
  t.same(again.json, first.json, 'same version and timestamps');
  t.equal(again.headers.get('etag'), '"2"');
  t.equal((await api.request('GET', path)).json.version, 2, 'updated once');
  const different = await api.request('PATCH', path, { body: { metadata: { n: 2 } }, headers });
  t.equal(different.status, 422);
});

t.test('the stored record holds digests and ids only: no key, text or metadata', async (t) => {
  const { rows } = await db.admin.query<{ row: string }>(
    'select row_to_json(i)::text as row from memory.idempotency_keys i',
  );
  t.ok(rows.length >= 7, `${rows.length} keys stored`);
  const all = rows.map((r) => r.row).join('\n');
  for (const secret of ['req-0001', 'burst-1', 'pay the rent', 'across daemons', '"n":'])
    t.notMatch(all, secret);
});

t.test('a malformed Idempotency-Key is a 400 naming the header', async (t) => {
  for (const key of ['', 'x'.repeat(256), 'has space', 'ünïcode']) {
    const res = await api.request('POST', '/v1/chunks', {
      body: { user_id: 'ivy', doc_id: 'idem-8', text: 't', embedding: testVector(8) },
      headers: { 'idempotency-key': key },
    });
    t.equal(res.status, 400, JSON.stringify(key).slice(0, 20));
    t.equal(res.json.error.field, 'Idempotency-Key');
  }
  t.equal(await rowsOf('idem-8'), 0);
});

t.test('keys expire after 24 hours: an expired key is claimed afresh', async (t) => {
  const body = { user_id: 'ivy', doc_id: 'idem-9', text: 'old', embedding: testVector(9) };
  const headers = { 'idempotency-key': 'expiring-1' };
  const first = await api.request('POST', '/v1/chunks', { body, headers });
  await db.admin.query("update memory.idempotency_keys set expires_at = now() - interval '1 second'");
  const later = await api.request('POST', '/v1/chunks', { body, headers });
  t.equal(later.status, 201);
  t.not(later.json.id, first.json.id, 'a new write');
  t.equal(await rowsOf('idem-9'), 2);
});
