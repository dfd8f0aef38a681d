/**
 * What one request body can cost (issue 11, item 7). Before, an authenticated 16 MiB body with
 * ~8M levels of nesting in an ignored field was accepted and blocked the event loop for 5 s, and
 * twelve concurrent bodies of ~4M `{}` left the daemon at 3.3 GB RSS. The body's shape is now
 * bounded while it streams in (depth, objects and arrays, values), before JSON.parse, and the
 * bytes of bodies held at once across requests are bounded too.
 */
import { request } from 'node:http';

import t from 'tap';

import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

// The limits of src/http/body.ts, written out so this test also runs (and fails) on code without them.
const MAX_JSON_DEPTH = 48;
const MAX_JSON_CONTAINERS = 100_000;
const MAX_JSON_VALUES = 2_000_000;

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, {
  databaseUrl: db.appUrl,
  env: { MEMVAULT_MAX_BODY_BYTES_IN_FLIGHT: String(24 * 1024 * 1024) },
});

const chunkWith = (x: string) =>
  `{"user_id":"shape","doc_id":"d","text":"t","embedding":${JSON.stringify(testVector(1))},"x":${x}}`;

t.test('deep nesting is refused while the body streams in, not parsed', async (t) => {
  const levels = 1_000_000;
  const started = performance.now();
  const res = await api.request('POST', '/v1/chunks', {
    rawBody: chunkWith('['.repeat(levels) + ']'.repeat(levels)),
  });
  t.equal(res.status, 400);
  t.same(res.json.error.code, 'too_large');
  t.same(res.json.error.field, 'body');
  t.match(res.json.error.message, `deeper than ${MAX_JSON_DEPTH} levels`);
  t.ok(performance.now() - started < 10_000, 'answered well within the request timeout');
  // One level over the limit is refused, the limit itself passes the scan (and the ignored field).
  const atLimit = await api.request('POST', '/v1/chunks', {
    rawBody: chunkWith('['.repeat(MAX_JSON_DEPTH - 1) + ']'.repeat(MAX_JSON_DEPTH - 1)),
  });
  t.equal(atLimit.status, 201, `${MAX_JSON_DEPTH} levels in all are accepted`);
  const over = await api.request('POST', '/v1/chunks', {
    rawBody: chunkWith('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)),
  });
  t.equal(over.status, 400);
});

t.test('too many objects and arrays, or too many values, are refused', async (t) => {
  const containers = await api.request('POST', '/v1/chunks', {
    rawBody: chunkWith(`[${'{},'.repeat(MAX_JSON_CONTAINERS)}{}]`),
  });
  t.equal(containers.status, 400);
  t.match(containers.json.error, { code: 'too_large', field: 'body' });
  t.match(containers.json.error.message, `more than ${MAX_JSON_CONTAINERS} objects and arrays`);
  const values = await api.request('POST', '/v1/chunks', {
    rawBody: chunkWith(`[${'0,'.repeat(MAX_JSON_VALUES)}0]`),
  });
  t.equal(values.status, 400);
  t.match(values.json.error.message, `more than ${MAX_JSON_VALUES} values`);
  // Strings may hold any of the structural characters without counting.
  const inStrings = await api.request('POST', '/v1/chunks', {
    rawBody: chunkWith(JSON.stringify('[{,\\"'.repeat(50_000))),
  });
  t.equal(inStrings.status, 201);
});

t.test('the largest batch of the documented shape still fits', async (t) => {
  // 1,000 chunks, 384-d embeddings at full double precision, 1 KiB of text, metadata 32 levels deep.
  let deep: unknown = { leaf: true };
  for (let i = 1; i < 32; i++) deep = { d: deep };
  const body = {
    user_id: 'big-batch',
    chunks: Array.from({ length: 1000 }, (_, i) => ({
      doc_id: `d${i}`,
      text: 'x'.repeat(1024),
      metadata: deep,
      embedding: testVector(i + 1),
    })),
  };
  const res = await api.request('POST', '/v1/chunks/batch', { body });
  t.equal(res.status, 201);
  t.equal(res.json.ids.length, 1000);
});

t.test('bytes held at once across requests are bounded (429), and given back', async (t) => {
  const { port } = api.daemon;
  const size = 14 * 1024 * 1024;
  const body = Buffer.from(chunkWith(`"${'y'.repeat(size - chunkWith('""').length)}"`));
  // A slow client: declares 14 MiB (most of it an ignored field) and sends half, holding its reservation.
  let answered = false;
  const slow = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/chunks',
    headers: {
      authorization: `Bearer ${api.token}`,
      'content-type': 'application/json',
      'content-length': String(body.length),
    },
  });
  const slowStatus = new Promise<number>((resolve, reject) => {
    slow.on('response', (res) => {
      answered = true;
      res.resume();
      resolve(res.statusCode!);
    });
    slow.on('error', reject);
  });
  slow.write(body.subarray(0, body.length / 2));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const refused = await api.request('POST', '/v1/chunks', { rawBody: body });
  t.equal(refused.status, 429, 'a second 14 MiB body does not fit the 24 MiB budget');
  t.equal(refused.json.error.code, 'too_many_requests');
  t.equal(refused.headers.get('retry-after'), '1');
  t.equal(answered, false, 'the slow request is still being read');
  slow.end(body.subarray(body.length / 2));
  t.equal(await slowStatus, 201, 'the slow request completes');
  const again = await api.request('POST', '/v1/chunks', { rawBody: body });
  t.equal(again.status, 201, 'once it was answered, its bytes are available again');
});
