/**
 * The OpenAPI document against the running server. The committed docs/openapi.json and GET
 * /openapi.json are what src/api/schema.ts generates; every route the daemon serves is an
 * operation of the document and the other way round; and every (operation, status, error code)
 * the document lists is produced here against a real daemon, or by the named test file (whose
 * answers the same contract check validates: test/helpers/daemon.ts checks every response).
 */
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import path from 'node:path';

import t from 'tap';

import { openApiDocument } from '../../src/api/openapi.js';
import { allOperations, ERROR_CODES, type ErrorCode } from '../../src/api/schema.js';
import { apiRoutes } from '../../src/http/routes/index.js';
import { routerPattern } from '../../src/http/routes/operation.js';
import type { MemoryContext } from '../../src/memory/context.js';
import { MAX_ID_LENGTH } from '../../src/memory/validate.js';
import { packageRoot } from '../../src/paths.js';
import { type ApiResponse, startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const MAX_BODY = 256 * 1024;
const db = await createTestDatabase(t);
const api = await startTestDaemon(t, {
  databaseUrl: db.appUrl,
  env: { MEMVAULT_MAX_IN_FLIGHT: '1', MEMVAULT_MAX_BODY_BYTES: String(MAX_BODY) },
});

/** (operationId, status, code) seen here; `code` is '' for a success. */
const seen = new Set<string>();
const key = (operationId: string, status: number, code = '') => `${operationId} ${status} ${code}`;

/** Codes other test files produce over HTTP through the contract-checking client. */
const PRODUCED_ELSEWHERE: Partial<Record<ErrorCode, string>> = {
  dimension_mismatch: 'test/http/limits.test.ts',
  database_unavailable: 'test/faults/postgres-outage.test.ts',
  database_timeout: 'test/faults/statement-timeout.test.ts',
  integrity_error: 'test/http/isolation.test.ts',
  overloaded: 'test/http/rerank-errors.test.ts',
  rerank_unavailable: 'test/http/rerank-errors.test.ts',
  model_loading: 'test/http/rerank-errors.test.ts',
  worker_crashed: 'test/http/rerank-errors.test.ts',
  model_unavailable: 'test/http/errors.test.ts',
  not_found: 'test/http/chunks.test.ts',
  version_conflict: 'test/http/chunks.test.ts',
  idempotency_key_reused: 'test/http/idempotency.test.ts',
};
/** Codes no test can produce on purpose, and why. */
const NOT_PRODUCIBLE: Partial<Record<ErrorCode, string>> = {
  internal: 'a bug: any unexpected throw',
  limit_out_of_range:
    "the database's re-check of a limit the schema already bounds (test/db/procedures.test.ts)",
  inference_failed: 'a model raising on validated input; no fixture model does',
};

async function call(
  operationId: string,
  method: string,
  route: string,
  options: Parameters<typeof api.request>[2] = {},
) {
  const res: ApiResponse = await api.request(method, route, options);
  seen.add(key(operationId, res.status, res.json?.error?.code ?? ''));
  return res;
}

const chunk = { user_id: 'contract', doc_id: 'd', text: 'hello', embedding: testVector(1) };
const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'x-memvault-user-id': 'contract' };
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'contract', version: '1' } },
};
// A stored chunk for the routes that address one (read, update, then delete, in declaration order).
const stored = await api.request('POST', '/v1/chunks', { body: { ...chunk, doc_id: 'one' } });
const chunkPath = `/v1/users/contract/chunks/${stored.json.id as string}`;
const BODIES: Record<string, { good: unknown; bad: unknown; tooLarge: unknown }> = {
  createChunk: {
    good: chunk,
    bad: { ...chunk, text: 5 },
    tooLarge: { ...chunk, user_id: 'x'.repeat(MAX_ID_LENGTH + 1) },
  },
  createChunks: {
    good: { user_id: 'contract', chunks: [{ doc_id: 'd2', text: 'hi', embedding: testVector(2) }] },
    bad: { user_id: 'contract', chunks: 'no' },
    tooLarge: {
      user_id: 'contract',
      chunks: Array.from({ length: 1001 }, () => ({ doc_id: 'd', text: 't' })),
    },
  },
  queryMemories: {
    good: { user_id: 'contract', query: 'hello', embedding: testVector(1) },
    bad: { user_id: 'contract', query: 'hello', k: 0 },
    tooLarge: { user_id: 'contract', query: 'x'.repeat(64 * 1024 + 1) },
  },
  updateChunk: {
    good: { metadata: { corrected: true } },
    bad: { text: 5 },
    tooLarge: { text: 'x'.repeat(64 * 1024 + 1) },
  },
  rerank: {
    // Reranking is off in test daemons: a valid request is answered 503 rerank_disabled
    // (test/http/rerank.test.ts checks the 200 answers of both shapes).
    good: { query: 'q', texts: ['a'] },
    bad: { query: 'q', texts: 'a' },
    tooLarge: { query: 'q', texts: Array.from({ length: 513 }, () => 'x') },
  },
  mcp: { good: initialize, bad: { ...initialize, jsonrpc: '1.0' }, tooLarge: initialize },
};
/** Headers an operation needs besides the token. */
const HEADERS: Record<string, { good: Record<string, string>; tooLarge?: Record<string, string> }> = {
  mcp: {
    good: MCP_HEADERS,
    tooLarge: { ...MCP_HEADERS, 'x-memvault-user-id': 'x'.repeat(MAX_ID_LENGTH + 1) },
  },
};
const PATHS: Record<string, { good: string; bad: string; tooLarge: string }> = {
  forgetDoc: {
    good: '/v1/users/contract/docs/d',
    bad: '/v1/users/contract/docs/a%00b',
    tooLarge: `/v1/users/${'x'.repeat(MAX_ID_LENGTH + 1)}/docs/d`,
  },
  listChunks: {
    good: '/v1/users/contract/chunks?limit=2',
    bad: '/v1/users/a%00b/chunks',
    tooLarge: `/v1/users/${'x'.repeat(MAX_ID_LENGTH + 1)}/chunks`,
  },
  getChunk: {
    good: chunkPath,
    bad: '/v1/users/contract/chunks/not-a-uuid',
    tooLarge: `/v1/users/${'x'.repeat(MAX_ID_LENGTH + 1)}/chunks/${stored.json.id as string}`,
  },
  updateChunk: {
    good: chunkPath,
    bad: '/v1/users/contract/chunks/not-a-uuid',
    tooLarge: `/v1/users/${'x'.repeat(MAX_ID_LENGTH + 1)}/chunks/${stored.json.id as string}`,
  },
  deleteChunk: {
    good: chunkPath,
    bad: '/v1/users/contract/chunks/not-a-uuid',
    tooLarge: `/v1/users/${'x'.repeat(MAX_ID_LENGTH + 1)}/chunks/${stored.json.id as string}`,
  },
  exportChunks: {
    good: '/v1/users/contract/export',
    bad: '/v1/users/a%00b/export',
    tooLarge: `/v1/users/${'x'.repeat(MAX_ID_LENGTH + 1)}/export`,
  },
  forgetUser: {
    good: '/v1/users/nobody',
    bad: '/v1/users/a%00b',
    tooLarge: `/v1/users/${'x'.repeat(MAX_ID_LENGTH + 1)}`,
  },
};

t.test('docs/openapi.json and GET /openapi.json are the document src/api/schema.ts generates', async (t) => {
  const generated = openApiDocument();
  const committed = JSON.parse(readFileSync(path.join(packageRoot, 'docs', 'openapi.json'), 'utf8'));
  t.same(committed, generated, 'docs/openapi.json is current (memvault openapi > docs/openapi.json)');
  const served = await call('openApi', 'GET', '/openapi.json', { token: null });
  t.same(served.json, generated);
  t.equal((generated as { openapi: string }).openapi, '3.1.0');
});

t.test(
  'every route the daemon serves is an operation of the document, and the other way round',
  async (t) => {
    const routes = apiRoutes({
      readiness: async () => ({ ready: true, checks: {} }),
      memoryMetrics: () => ({}),
      memory: {} as MemoryContext,
    });
    const served = routes.map((r) => `${r.method} ${r.pattern} ${r.operationId ?? '(none)'}`).sort();
    const documented = allOperations
      .map((op) => `${op.method} ${routerPattern(op.path)} ${op.operationId}`)
      .sort();
    t.same(served, documented);
    const paths = openApiDocument().paths as Record<string, Record<string, { operationId: string }>>;
    const inDocument = Object.values(paths).flatMap((methods) =>
      Object.values(methods).map((o) => o.operationId),
    );
    t.same(inDocument.sort(), allOperations.map((op) => op.operationId).sort());
  },
);

t.test(
  'each operation answers its documented success status with a body of the documented schema',
  async (t) => {
    for (const op of allOperations) {
      const route = PATHS[op.operationId]?.good ?? op.path;
      const body = BODIES[op.operationId]?.good;
      const headers = HEADERS[op.operationId]?.good ?? {};
      const res = await call(
        op.operationId,
        op.method,
        route,
        body === undefined ? { headers } : { body, headers },
      );
      const expected = op.operationId === 'rerank' ? 503 : Number(Object.keys(op.responses)[0]);
      t.equal(res.status, expected, `${op.method} ${op.path}`);
    }
  },
);

t.test('each documented input error is produced: invalid_input, too_large and the body errors', async (t) => {
  for (const op of allOperations) {
    const codes = op.errors as readonly ErrorCode[];
    if (!codes.includes('invalid_input')) continue;
    const byPath = PATHS[op.operationId];
    const byBody = BODIES[op.operationId];
    const headers = HEADERS[op.operationId];
    // An operation with both (PATCH a chunk) gets a bad path with a good body, then a good path
    // with a bad body.
    const send = async (which: 'bad' | 'tooLarge') => {
      if (!byPath) {
        return call(op.operationId, op.method, op.path, {
          body: byBody![which],
          headers: (which === 'tooLarge' ? headers?.tooLarge : headers?.good) ?? {},
        });
      }
      const viaPath = await call(
        op.operationId,
        op.method,
        byPath[which],
        byBody ? { body: byBody.good } : {},
      );
      if (byBody) {
        const viaBody = await call(op.operationId, op.method, byPath.good, { body: byBody[which] });
        t.equal(viaBody.json.error.code, viaPath.json.error.code, `${op.operationId}: the body's ${which}`);
      }
      return viaPath;
    };
    t.equal((await send('bad')).json.error.code, 'invalid_input', `${op.operationId} invalid_input`);
    t.equal((await send('tooLarge')).json.error.code, 'too_large', `${op.operationId} too_large`);
    if (!op.body) continue;
    const raw = (rawBody: string, extra: Record<string, string> = {}) =>
      call(op.operationId, op.method, byPath?.good ?? op.path, {
        rawBody,
        headers: { ...headers?.good, ...extra },
      });
    t.equal((await raw('{"x":')).json.error.code, 'invalid_json');
    t.equal((await raw('[1]')).json.error.code, 'invalid_body');
    t.equal((await raw('{}', { 'content-type': 'text/plain' })).json.error.code, 'unsupported_media_type');
    t.equal((await raw(JSON.stringify({ pad: 'x'.repeat(MAX_BODY) }))).json.error.code, 'payload_too_large');
  }
});

t.test('each /v1 operation answers 401 unauthorized without the token', async (t) => {
  for (const op of allOperations.filter((o) => o.auth)) {
    const res = await call(op.operationId, op.method, PATHS[op.operationId]?.good ?? op.path, {
      token: null,
      ...(op.method === 'GET' ? {} : { body: BODIES[op.operationId]?.good ?? {} }),
      headers: HEADERS[op.operationId]?.good ?? {},
    });
    t.equal(res.json.error.code, 'unauthorized', op.operationId);
  }
});

t.test('each /v1 operation answers 429 too_many_requests over MEMVAULT_MAX_IN_FLIGHT', async (t) => {
  const held = holdRequest('/v1/chunks', JSON.stringify(chunk));
  await until(() => api.daemon.api.inFlight === 1);
  for (const op of allOperations.filter((o) => o.auth)) {
    const res = await call(op.operationId, op.method, PATHS[op.operationId]?.good ?? op.path, {
      ...(op.method === 'GET' ? {} : { body: BODIES[op.operationId]?.good ?? {} }),
      headers: HEADERS[op.operationId]?.good ?? {},
    });
    t.equal(res.json.error.code, 'too_many_requests', op.operationId);
  }
  t.equal(await held.finish(), 201);
});

t.test('a draining daemon answers 503 shutting_down on a kept-alive connection', async (t) => {
  // The connection is kept busy by a held request while intake stops, so it is not closed as idle.
  // The draining answer comes before routing, so one operation stands for all of them.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const held = holdRequest('/v1/chunks', JSON.stringify(chunk), agent);
  await until(() => api.daemon.api.inFlight === 1);
  await api.daemon.api.stopIntake();
  t.equal(await held.finish(), 201, 'the request in flight is served');
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(`${api.url}/healthz`, { agent });
    req.once('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
  t.equal(answer.status, 503);
  t.equal(JSON.parse(answer.body).error.code, 'shutting_down');
  if (JSON.parse(answer.body).error.code === 'shutting_down') seen.add('draining 503 shutting_down');
});

t.test('every (operation, status, code) of the document is produced here or by a named test', async (t) => {
  const sources = new Map<string, string>();
  const readTest = (file: string) => {
    if (!sources.has(file)) sources.set(file, readFileSync(path.join(packageRoot, file), 'utf8'));
    return sources.get(file)!;
  };
  const missing: string[] = [];
  for (const op of allOperations) {
    for (const code of op.errors as readonly ErrorCode[]) {
      const status = ERROR_CODES[code].status;
      if (seen.has(key(op.operationId, status, code))) continue;
      if (code === 'shutting_down' && seen.has('draining 503 shutting_down')) continue;
      const elsewhere = PRODUCED_ELSEWHERE[code];
      if (elsewhere && readTest(elsewhere).includes(`'${code}'`)) continue;
      if (NOT_PRODUCIBLE[code]) continue;
      missing.push(`${op.operationId} ${status} ${code}`);
    }
  }
  t.same(missing, [], 'no documented error code is left unproduced');
  t.ok(seen.size > 40, `${seen.size} distinct (operation, status, code) answers checked here`);
});

function holdRequest(route: string, body: string, agent?: Agent) {
  const bytes = Buffer.from(body);
  const req = httpRequest(`${api.url}${route}`, {
    method: 'POST',
    ...(agent ? { agent } : {}),
    headers: {
      authorization: `Bearer ${api.token}`,
      'content-type': 'application/json',
      'content-length': String(bytes.length),
    },
  });
  const answered = new Promise<number>((resolve, reject) => {
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
  req.write(bytes.subarray(0, 10));
  return {
    finish() {
      req.end(bytes.subarray(10));
      return answered;
    },
  };
}

async function until(ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
