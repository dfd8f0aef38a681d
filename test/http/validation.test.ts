/**
 * Every validation error over HTTP: the status, the error code and the field it names; and that
 * nothing is stored when a request is rejected.
 */
import t, { type Test } from 'tap';

import {
  MAX_BATCH_CHUNKS,
  MAX_ID_LENGTH,
  MAX_METADATA_BYTES,
  MAX_TEXT_BYTES,
} from '../../src/memory/validate.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, {
  databaseUrl: db.appUrl,
  env: { MEMVAULT_MAX_BODY_BYTES: String(2 * 1024 * 1024) },
});

const chunk = (extra: Record<string, unknown> = {}) => ({
  user_id: 'u1',
  doc_id: 'd1',
  text: 'hello',
  embedding: testVector(1),
  ...extra,
});
const query = (extra: Record<string, unknown> = {}) => ({
  user_id: 'u1',
  query: 'hello',
  embedding: testVector(1),
  ...extra,
});
const storedRows = async () =>
  (await db.admin.query('select count(*)::int as n from memory.memory_chunks')).rows[0].n as number;

async function expectError(
  t: Test,
  method: string,
  path: string,
  body: unknown,
  status: number,
  field?: string,
  code?: string,
) {
  const res = await api.request(method, path, { body });
  t.equal(res.status, status, `${path} ${field ?? ''} -> ${status}`);
  if (field !== undefined) t.equal(res.json?.error?.field, field, `names ${field}`);
  if (code !== undefined) t.equal(res.json?.error?.code, code);
  t.type(res.json?.error?.message, 'string');
  t.notOk(res.json?.error?.stack, 'no stack trace');
}

t.test('single chunk: each bad field is a 400 naming it', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ user_id: undefined }, 'user_id'],
    [{ user_id: '' }, 'user_id'],
    [{ user_id: 42 }, 'user_id'],
    [{ user_id: 'x'.repeat(MAX_ID_LENGTH + 1) }, 'user_id'],
    [{ user_id: 'a\u0000b' }, 'user_id'],
    [{ user_id: 'a\ud800' }, 'user_id'],
    [{ doc_id: undefined }, 'doc_id'],
    [{ doc_id: '' }, 'doc_id'],
    [{ source: '' }, 'source'],
    [{ source: ['x'] }, 'source'],
    [{ text: undefined }, 'text'],
    [{ text: '   ' }, 'text'],
    [{ text: 'x'.repeat(MAX_TEXT_BYTES + 1) }, 'text'],
    [{ text: 'bad \udc00 surrogate' }, 'text'],
    [{ embedding: testVector(1, 383) }, 'embedding'],
    [{ embedding: 'not an array' }, 'embedding'],
    [{ embedding: [...testVector(1, 383), 'x'] }, 'embedding'],
    [{ embedding: [...testVector(1, 383), 1e39] }, 'embedding'],
    [{ metadata: [1, 2] }, 'metadata'],
    [{ metadata: 'x' }, 'metadata'],
    [{ metadata: { big: 'x'.repeat(MAX_METADATA_BYTES) } }, 'metadata'],
  ];
  for (const [extra, field] of cases) await expectError(t, 'POST', '/v1/chunks', chunk(extra), 400, field);
  t.equal(await storedRows(), 0, 'nothing stored');
});

t.test(
  'without an embedder, a missing embedding is a 400 naming embedding (writes, dense queries)',
  async (t) => {
    await expectError(t, 'POST', '/v1/chunks', chunk({ embedding: undefined }), 400, 'embedding');
    await expectError(
      t,
      'POST',
      '/v1/query',
      query({ embedding: undefined, mode: 'dense' }),
      400,
      'embedding',
    );
  },
);

t.test('without an embedder, a query without an embedding answers lexically', async (t) => {
  const res = await api.request('POST', '/v1/query', { body: query({ embedding: undefined }) });
  t.equal(res.status, 200);
  t.equal(res.json.mode, 'lexical');
});

t.test('an unknown mode is a 400 naming mode', async (t) => {
  await expectError(t, 'POST', '/v1/query', query({ mode: 'fuzzy' }), 400, 'mode');
});

t.test('batch: all or nothing, errors name chunks[i].field', async (t) => {
  await expectError(t, 'POST', '/v1/chunks/batch', { user_id: 'u1' }, 400, 'chunks');
  await expectError(t, 'POST', '/v1/chunks/batch', { user_id: 'u1', chunks: [] }, 400, 'chunks');
  await expectError(t, 'POST', '/v1/chunks/batch', { user_id: 'u1', chunks: {} }, 400, 'chunks');
  await expectError(t, 'POST', '/v1/chunks/batch', { chunks: [chunk()] }, 400, 'user_id');
  const tooMany = Array.from({ length: MAX_BATCH_CHUNKS + 1 }, () => ({
    doc_id: 'd',
    text: 't',
    embedding: [0],
  }));
  await expectError(
    t,
    'POST',
    '/v1/chunks/batch',
    { user_id: 'u1', chunks: tooMany },
    400,
    'chunks',
    'too_large',
  );
  const good = { doc_id: 'd', text: 'fine', embedding: testVector(2) };
  await expectError(
    t,
    'POST',
    '/v1/chunks/batch',
    { user_id: 'u1', chunks: [good, 'nope'] },
    400,
    'chunks[1]',
  );
  await expectError(
    t,
    'POST',
    '/v1/chunks/batch',
    { user_id: 'u1', chunks: [good, good, { ...good, text: '' }] },
    400,
    'chunks[2].text',
  );
  await expectError(
    t,
    'POST',
    '/v1/chunks/batch',
    { user_id: 'u1', chunks: [good, { ...good, embedding: [1] }] },
    400,
    'chunks[1].embedding',
  );
  t.equal(await storedRows(), 0, 'the valid chunks of a rejected batch were not stored');
});

t.test('query: each bad field is a 400 naming it', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ user_id: '' }, 'user_id'],
    [{ query: undefined }, 'query'],
    [{ query: '' }, 'query'],
    [{ query: 7 }, 'query'],
    [{ k: 0 }, 'k'],
    [{ k: 101 }, 'k'],
    [{ k: 2.5 }, 'k'],
    [{ k: '8' }, 'k'],
    [{ candidates: 0 }, 'candidates'],
    [{ candidates: 10_000 }, 'candidates'],
    [{ k: 10, candidates: 5 }, 'candidates'],
    [{ rerank: 'yes' }, 'rerank'],
    [{ doc_id: '' }, 'doc_id'],
    [{ doc_id: 5 }, 'doc_id'],
    [{ source: 'x'.repeat(MAX_ID_LENGTH + 1) }, 'source'],
    [{ embedding: [1, 2, 3] }, 'embedding'],
  ];
  for (const [extra, field] of cases) await expectError(t, 'POST', '/v1/query', query(extra), 400, field);
});

t.test('rerank: bad fields are 400s naming them', async (t) => {
  await expectError(t, 'POST', '/v1/rerank', { texts: ['a'] }, 400, 'query');
  await expectError(t, 'POST', '/v1/rerank', { query: 'q', texts: 'a' }, 400, 'texts');
  await expectError(t, 'POST', '/v1/rerank', { query: 'q', texts: [] }, 400, 'texts');
  await expectError(t, 'POST', '/v1/rerank', { query: 'q', texts: ['a', 3] }, 400, 'texts[1]');
  await expectError(t, 'POST', '/v1/rerank', { query: 'q', texts: ['a', '  '] }, 400, 'texts[1]');
  // One code for one rule, whichever entry point (the library says `candidates`).
  const tooMany = Array.from({ length: 513 }, () => 'x');
  await expectError(t, 'POST', '/v1/rerank', { query: 'q', texts: tooMany }, 400, 'texts', 'too_large');
  await expectError(t, 'POST', '/v1/rerank', { query: 'q', texts: ['a'], top_n: 0 }, 400, 'top_n');
});

t.test('delete: path parameters are validated', async (t) => {
  await expectError(t, 'DELETE', `/v1/users/${'x'.repeat(MAX_ID_LENGTH + 1)}`, undefined, 400, 'user_id');
  await expectError(t, 'DELETE', '/v1/users/%E0%A4%A/docs/d', undefined, 400, 'user_id', 'invalid_input');
  await expectError(t, 'DELETE', '/v1/users/u/docs/a%00b', undefined, 400, 'doc_id');
});

t.test('body: JSON object only, application/json only, size-limited', async (t) => {
  const invalid = await api.request('POST', '/v1/chunks', { rawBody: '{"user_id": ' });
  t.equal(invalid.status, 400);
  t.equal(invalid.json.error.code, 'invalid_json');
  for (const raw of ['[1,2]', 'null', '"x"', '3']) {
    const res = await api.request('POST', '/v1/query', { rawBody: raw });
    t.equal(res.status, 400, raw);
    t.equal(res.json.error.field, 'body');
  }
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
    const res = await api.request('POST', '/v1/chunks', {
      rawBody: JSON.stringify(chunk()),
      headers: { 'content-type': type },
    });
    t.equal(res.status, 415, type);
    t.equal(res.json.error.code, 'unsupported_media_type');
  }
  const charset = await api.request('POST', '/v1/query', {
    rawBody: JSON.stringify(query()),
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
  t.equal(charset.status, 200, 'a charset parameter is fine');
  const big = await api.request('POST', '/v1/chunks', {
    rawBody: JSON.stringify(chunk({ text: 'x'.repeat(3 * 1024 * 1024) })),
  });
  t.equal(big.status, 413);
  t.equal(big.json.error.code, 'payload_too_large');
});

t.test('unknown routes are 404 and known paths with another method 405 with Allow', async (t) => {
  const missing = await api.request('GET', '/v1/nothing');
  t.equal(missing.status, 404);
  t.equal(missing.json.error.code, 'not_found');
  const wrong = await api.request('GET', '/v1/chunks');
  t.equal(wrong.status, 405);
  t.equal(wrong.headers.get('allow'), 'POST');
  t.equal((await api.request('PUT', '/v1/users/u')).headers.get('allow'), 'DELETE');
});

t.test('a caller-supplied request id is echoed when it is plain, replaced when it is not', async (t) => {
  const plain = await api.request('GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
  t.equal(plain.headers.get('x-request-id'), 'abc-123');
  const odd = await api.request('GET', '/healthz', { headers: { 'x-request-id': 'a b\tc' } });
  t.not(odd.headers.get('x-request-id'), 'a b\tc');
});
