/**
 * Statuses of the error table that no validation test reaches: 429 `too_many_requests` over
 * MEMVAULT_MAX_IN_FLIGHT, and 422 for a well-formed request that the database refuses.
 */
import { request as httpRequest } from 'node:http';

import t from 'tap';

import { bearerTokenCheck } from '../../src/http/auth.js';
import { createApiServer } from '../../src/http/server.js';
import { apiClient, startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl, env: { MEMVAULT_MAX_IN_FLIGHT: '1' } });

const chunk = { user_id: 'u', doc_id: 'd', text: 'hello', embedding: testVector(1) };
const storedRows = async () =>
  (await db.admin.query('select count(*)::int as n from memory.memory_chunks')).rows[0].n as number;

async function until(what: string, ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

t.test('over MEMVAULT_MAX_IN_FLIGHT a /v1 request is a 429 too_many_requests with Retry-After', async (t) => {
  // One request held in flight for as long as the test wants: its body arrives in two parts.
  const body = Buffer.from(JSON.stringify(chunk));
  const held = httpRequest(`${api.url}/v1/chunks`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${api.token}`,
      'content-type': 'application/json',
      'content-length': String(body.length),
    },
  });
  const heldResponse = new Promise<number>((resolve, reject) => {
    held.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    held.once('error', reject);
  });
  held.write(body.subarray(0, 10));
  await until('the held request to be in flight', () => api.daemon.api.inFlight === 1);

  const refused = await api.request('POST', '/v1/chunks', { body: chunk });
  t.equal(refused.status, 429);
  t.equal(refused.json.error.code, 'too_many_requests');
  t.equal(refused.headers.get('retry-after'), '1');
  const health = await api.request('GET', '/healthz', { token: null });
  t.equal(health.status, 200, 'operational routes are not limited');

  held.end(body.subarray(10));
  t.equal(await heldResponse, 201, 'the held request completes');
  t.equal(await storedRows(), 1, 'only the held request stored a row');
  const after = await api.request('POST', '/v1/chunks', { body: chunk });
  t.equal(after.status, 201, 'with the slot free again, requests are served');
});

t.test(
  'a well-formed request the database refuses is a 422 with its code (dimension_mismatch)',
  async (t) => {
    // The daemon checks embeddings against the dimension the schema had when it started; the
    // procedures re-check against the schema's current one. Re-declaring the schema's dimension
    // under the running daemon (as a re-migration with another model would) makes them disagree.
    const dim = api.daemon.embeddingDim;
    const redeclare = (n: number) =>
      db.admin.query(
        `create or replace function memory.embedding_dim() returns integer
         language sql immutable parallel safe set search_path = pg_catalog, pg_temp
         as $$ select ${Number(n)} $$`,
      );
    await redeclare(dim + 1);
    t.teardown(() => redeclare(dim));
    const before = await storedRows();

    const write = await api.request('POST', '/v1/chunks', { body: chunk });
    t.equal(write.status, 422, JSON.stringify(write.json));
    t.equal(write.json.error.code, 'dimension_mismatch');
    t.notOk(write.json.error.stack, 'no stack trace');
    t.equal(await storedRows(), before, 'nothing stored');

    const query = await api.request('POST', '/v1/query', {
      body: { user_id: 'u', query: 'hello', embedding: testVector(1) },
    });
    t.equal(query.status, 422, JSON.stringify(query.json));
    t.equal(query.json.error.code, 'dimension_mismatch');
    t.type(query.json.error.message, 'string');
  },
);

t.test('MEMVAULT_MAX_IN_FLIGHT counts /v1 requests only: a slow probe takes no API slot', async (t) => {
  // A server of its own, with an operational route that answers only when told to: the daemon's
  // own probes answer too quickly to be caught in flight.
  let releaseProbe: () => void = () => {};
  const probeHeld = new Promise<void>((resolve) => (releaseProbe = resolve));
  const token = 'a-test-token-of-enough-length';
  const server = createApiServer({
    routes: [
      {
        method: 'GET',
        pattern: '/slow-probe',
        auth: false,
        handle: async () => {
          await probeHeld;
          return { status: 200, json: { ok: true } };
        },
      },
      { method: 'GET', pattern: '/v1/ping', auth: true, handle: async () => ({ status: 200, json: {} }) },
    ],
    checkToken: bearerTokenCheck(token),
    maxBodyBytes: 1024,
    maxBodyBytesInFlight: 4096,
    maxInFlight: 1,
    requestTimeoutMs: 10_000,
  });
  const { port } = await server.listen(0, '127.0.0.1');
  t.teardown(async () => {
    releaseProbe();
    await server.stopIntake();
    server.destroyConnections();
  });
  const client = apiClient(`http://127.0.0.1:${port}`, token);
  const probe = client.request('GET', '/slow-probe', { token: null });
  await until('the probe to be in flight', () => server.inFlight === 1);

  const api = await client.request('GET', '/v1/ping');
  t.equal(api.status, 200, 'the one API slot is free while the probe runs');
  t.equal(server.inFlight, 1, 'the probe still counts for the drain and the gauge');
  releaseProbe();
  t.equal((await probe).status, 200);
});
