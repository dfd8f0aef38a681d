/**
 * The HTTP layer decides which tenant and which route from the bytes sent, without coercion
 * (issue 11, items 2 and 3): invalid UTF-8 is refused rather than mapped to U+FFFD (two user ids
 * once collided into one tenant), and the route is chosen from the raw path, split before decoding
 * (`new URL()` once turned `\` into `/` and resolved dot segments, so a DELETE reached another route).
 */
import { request } from 'node:http';

import t from 'tap';

import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });
const { port } = api.daemon;

/** A request with the target and body bytes exactly as given (fetch would normalise the path). */
function raw(
  method: string,
  path: string,
  body?: Buffer,
): Promise<{ status: number; json: { error?: { code: string; field?: string }; deleted?: number } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          authorization: `Bearer ${api.token}`,
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text || 'null') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function store(user: string, docId: string, text: string): Promise<void> {
  const res = await api.request('POST', '/v1/chunks', {
    body: { user_id: user, doc_id: docId, text, embedding: testVector(7) },
  });
  if (res.status !== 201) throw new Error(`store ${user}/${docId}: ${res.status}`);
}

async function docsOf(user: string): Promise<string[]> {
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: user, query: 'x', embedding: testVector(7), k: 50 },
  });
  if (res.status !== 200) throw new Error(`query ${user}: ${res.status}`);
  return (res.json.results as Array<{ doc_id: string }>).map((r) => r.doc_id).sort();
}

t.test('a body that is not valid UTF-8 is refused, not decoded with U+FFFD', async (t) => {
  for (const bad of [0xff, 0xfe]) {
    const body = Buffer.concat([
      Buffer.from('{"user_id":"mallory'),
      Buffer.from([bad]),
      Buffer.from(
        `","doc_id":"d","text":"written as invalid UTF-8","embedding":${JSON.stringify(testVector(7))}}`,
      ),
    ]);
    const res = await raw('POST', '/v1/chunks', body);
    t.equal(res.status, 400, `byte 0x${bad.toString(16)}`);
    t.same(res.json.error && { code: res.json.error.code, field: res.json.error.field }, {
      code: 'invalid_json',
      field: 'body',
    });
  }
  // Overlong encodings and lone surrogates encoded in UTF-8 are invalid too.
  for (const bytes of [
    [0xc0, 0xaf],
    [0xed, 0xa0, 0x80],
  ]) {
    const body = Buffer.concat([Buffer.from('{"user_id":"x'), Buffer.from(bytes), Buffer.from('"}')]);
    t.equal((await raw('POST', '/v1/chunks', body)).status, 400, `bytes ${bytes.join(',')}`);
  }
  t.same(await docsOf('mallory\uFFFD'), [], 'nothing reached the tenant U+FFFD would have mapped to');
  // Valid multi-byte UTF-8 is still accepted as is.
  const ok = await raw(
    'POST',
    '/v1/chunks',
    Buffer.from(
      JSON.stringify({ user_id: 'mälloryé€😀', doc_id: 'd', text: 'fine', embedding: testVector(7) }),
    ),
  );
  t.equal(ok.status, 201);
  t.same(await docsOf('mälloryé€😀'), ['d']);
});

t.test('a backslash in the path is part of the id, never a path separator', async (t) => {
  await store('victim1', 'keep', 'victim keeps this');
  const res = await raw('DELETE', '/v1/users/victim1\\docs\\keep');
  t.equal(res.status, 200);
  t.equal(res.json.deleted, 0, 'the request forgot the (empty) user named "victim1\\docs\\keep"');
  t.same(await docsOf('victim1'), ['keep'], "victim1's doc is untouched");
});

t.test('dot segments are ids like any other, whether sent raw or percent-encoded', async (t) => {
  for (const [user, path] of [
    ['..', '/v1/users/%2E%2E'],
    ['.', '/v1/users/.'],
    ['..', '/v1/users/..'],
  ] as const) {
    await store(user, 'd', `user ${user}`);
    const res = await raw('DELETE', path);
    t.equal(res.status, 200, path);
    t.equal(res.json.deleted, 1, `${path} forgot the user named ${user}`);
    t.same(await docsOf(user), []);
  }
  await store('dots', '..', 'doc named ..');
  await store('dots', 'other', 'another doc');
  const res = await raw('DELETE', '/v1/users/dots/docs/%2e%2E');
  t.equal(res.status, 200);
  t.equal(res.json.deleted, 1);
  t.same(await docsOf('dots'), ['other']);
  // And `..` cannot climb out of a route: this is the docs route with doc id "..", not /v1/users/x.
  await store('climb', 'd', 'stays');
  const climb = await raw('DELETE', '/v1/users/climb/docs/..');
  t.equal(climb.status, 200);
  t.equal(climb.json.deleted, 0);
  t.same(await docsOf('climb'), ['d']);
});

t.test('the query string and the absolute form do not change the route', async (t) => {
  await store('q-user', 'd', 'stays');
  const withQuery = await raw('DELETE', '/v1/users/q-user/docs/nope?x=/../..');
  t.equal(withQuery.status, 200);
  t.equal(withQuery.json.deleted, 0);
  const absolute = await raw('DELETE', `http://127.0.0.1:${port}/v1/users/q-user/docs/d`);
  t.equal(absolute.status, 200);
  t.equal(absolute.json.deleted, 1);
  t.same(await docsOf('q-user'), []);
});
