/**
 * Bearer-token authentication on every /v1 route; operational routes stay open.
 */
import t from 'tap';

import { bearerTokenCheck } from '../../src/http/auth.js';
import { HttpError } from '../../src/http/errors.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });

const V1_ROUTES: Array<[string, string, unknown]> = [
  ['POST', '/v1/chunks', { user_id: 'u', doc_id: 'd', text: 'x', embedding: testVector(1) }],
  [
    'POST',
    '/v1/chunks/batch',
    { user_id: 'u', chunks: [{ doc_id: 'd', text: 'x', embedding: testVector(1) }] },
  ],
  ['POST', '/v1/query', { user_id: 'u', query: 'x', embedding: testVector(1) }],
  ['DELETE', '/v1/users/u/docs/d', undefined],
  ['DELETE', '/v1/users/u', undefined],
  ['POST', '/v1/rerank', { query: 'x', texts: ['a'] }],
];

t.test('every /v1 route answers 401 without a token, with WWW-Authenticate', async (t) => {
  for (const [method, path, body] of V1_ROUTES) {
    const res = await api.request(method, path, { body, token: null });
    t.equal(res.status, 401, `${method} ${path}`);
    t.equal(res.json.error.code, 'unauthorized');
    t.match(res.headers.get('www-authenticate'), /^Bearer/);
  }
});

t.test('every /v1 route answers 401 with a wrong token', async (t) => {
  const wrong = [
    'x',
    api.token.slice(0, -1),
    api.token + 'x',
    api.token.slice(1),
    api.token.toUpperCase() === api.token ? api.token.toLowerCase() : api.token.toUpperCase(),
    'a'.repeat(10_000),
  ];
  for (const [method, path, body] of V1_ROUTES) {
    for (const token of wrong) {
      const res = await api.request(method, path, { body, token });
      t.equal(res.status, 401, `${method} ${path} token of length ${token.length}`);
    }
  }
});

t.test('only the Bearer scheme is accepted', async (t) => {
  for (const authorization of [`Basic ${api.token}`, api.token, `Bearer`, `Bearer ${api.token} extra`]) {
    const res = await api.request('DELETE', '/v1/users/u', { token: null, headers: { authorization } });
    t.equal(res.status, 401, authorization.slice(0, 12));
  }
  const ok = await api.request('DELETE', '/v1/users/u', {
    token: null,
    headers: { authorization: `bearer ${api.token}` },
  });
  t.equal(ok.status, 200, 'the scheme is case-insensitive (RFC 7235)');
});

t.test('a rejected write stores nothing', async (t) => {
  await api.request('POST', '/v1/chunks', {
    body: { user_id: 'mallory', doc_id: 'd', text: 'x', embedding: testVector(1) },
    token: 'nope',
  });
  const { rows } = await db.admin.query('select count(*)::int as n from memory.memory_chunks');
  t.equal(rows[0].n, 0);
});

t.test('operational routes need no token', async (t) => {
  for (const path of ['/healthz', '/readyz', '/metrics', '/metrics/memory']) {
    t.equal((await api.request('GET', path, { token: null })).status, 200, path);
  }
});

t.test(
  'the comparison hashes both sides, so tokens of any length are compared without throwing',
  async (t) => {
    const check = bearerTokenCheck('the-expected-token-value');
    t.doesNotThrow(() => check('Bearer the-expected-token-value'));
    for (const header of [
      undefined,
      '',
      'Bearer ',
      'Bearer a',
      `Bearer ${'z'.repeat(100_000)}`,
      'Bearer the-expected-token-valuf',
    ]) {
      t.throws(() => check(header), HttpError, String(header).slice(0, 20));
    }
  },
);
