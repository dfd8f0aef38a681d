/**
 * POST /v1/rerank is strict: whenever the model did not score the texts, the caller gets an error
 * status, never ANN order presented as a rerank. Over real HTTP with the fixture cross-encoder:
 *   - the daemon starts loading the configured model at start-up, without holding readiness;
 *   - a short budget on the still-cold model: 503 model_loading;
 *   - a worker crash: 503 worker_crashed (fixed message), and the replacement serves;
 *   - the rerank queue full: 429 overloaded;
 *   - a missed budget: 503 rerank_unavailable, and once the breaker is open, 503 at once.
 */
import t, { type Test } from 'tap';

import { setSetting } from '../../src/db/procedures.js';
import { getCrossEncoder } from '../../src/rerank/index.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase } from '../helpers/db.js';
import { ensureFixtureModel, rerankEnv, withEnv } from '../helpers/models.js';

// A queue of 30 pairs and a 100 ms batch wait: two 20-text requests arriving together cannot both
// queue. The breaker opens after 2 failures and stays open for the rest of the file.
const env = rerankEnv(await ensureFixtureModel(), {
  RERANK_CIRCUIT_MS: '50',
  RERANK_QUEUE_MAX: '30',
  RERANK_BATCH_SIZE: '64',
  RERANK_BATCH_WAIT_MS: '100',
  RERANK_BREAKER_FAILURES: '2',
  RERANK_BREAKER_COOLDOWN_MS: '600000',
});
// The reranker is process-wide and reads process.env when it loads.
t.teardown(withEnv(env));
const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl, env });

const texts = Array.from({ length: 20 }, (_, i) => `passage ${i} about cats, markets and the immune system`);
const rerank = () =>
  api.request('POST', '/v1/rerank', { body: { query: 'which passage is about cats', texts } });

interface RerankerCheck {
  state: string;
  breaker: string;
  settings: { circuitMs: number };
}
async function readyz(): Promise<{ status: number; reranker: RerankerCheck }> {
  const res = await api.request('GET', '/readyz', { token: null });
  return { status: res.status, reranker: res.json.checks.reranker as RerankerCheck };
}

async function waitFor(what: string, ok: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function setBudget(ms: number): Promise<void> {
  await setSetting(db.admin, 'rerank_circuit_ms', ms);
  await waitFor(`rerank_circuit_ms ${ms}`, async () => (await readyz()).reranker.settings.circuitMs === ms);
}

function assertContract(t: Test, json: { error?: { message?: string; stack?: unknown } }): void {
  t.type(json.error?.message, 'string');
  t.notOk(json.error?.stack, 'no stack trace');
  t.notMatch(json.error?.message ?? '', /\/|exit code|onnx/i, 'no path, exit code or runtime text');
}

t.test(
  'the daemon starts loading the configured reranker at start-up; readiness does not wait',
  async (t) => {
    let seen = await readyz();
    // The first settings read (as the listener connects) starts the load; it may trail start-up.
    for (let i = 0; i < 500 && seen.reranker.state === 'unloaded'; i++) seen = await readyz();
    t.equal(seen.reranker.state, 'loading', 'loading in the background, nobody asked for a rerank');
    t.equal(seen.status, 200, 'ready while the reranker loads (its state is reported, not required)');
  },
);

t.test('a short budget on the cold model: 503 model_loading with Retry-After, never ANN order', async (t) => {
  t.equal((await readyz()).reranker.state, 'loading', 'precondition: the model is still loading');
  const res = await rerank();
  t.equal(res.status, 503, JSON.stringify(res.json));
  t.equal(res.json.error.code, 'model_loading');
  t.equal(res.headers.get('retry-after'), '1');
  t.notOk(res.json.results, 'no results');
  assertContract(t, res.json);
  t.equal((await readyz()).reranker.breaker, 'closed', 'loading is not counted as a model failure');
});

t.test('once loaded (and with a roomy budget) the same request is scored', async (t) => {
  await waitFor('the model to load', async () => (await readyz()).reranker.state === 'ready', 60_000);
  await setBudget(10_000);
  const res = await rerank();
  t.equal(res.status, 200, JSON.stringify(res.json));
  t.equal(res.json.results.length, texts.length);
});

t.test('a worker that crashes mid-request: 503 worker_crashed; the replacement serves', async (t) => {
  const pool = (await getCrossEncoder()).poolForTesting()!;
  const restarts = pool.stats().restarts;
  // The worker exits on receipt of the batch (never terminate() it: see src/inference/worker.ts).
  pool.crashNextBatchForTesting();
  const res = await rerank();
  t.equal(res.status, 503, JSON.stringify(res.json));
  t.equal(res.json.error.code, 'worker_crashed');
  t.equal(res.headers.get('retry-after'), '1');
  assertContract(t, res.json);
  await waitFor('a replacement worker', async () => pool.stats().live > 0);
  t.equal(pool.stats().restarts, restarts + 1);
  const again = await rerank();
  t.equal(again.status, 200, 'the replacement scores the next request');
});

t.test(
  'a full rerank queue: 429 overloaded with Retry-After; the requests that fit are scored',
  async (t) => {
    const responses = await Promise.all(Array.from({ length: 6 }, () => rerank()));
    const statuses = responses.map((r) => r.status);
    t.ok(
      statuses.every((s) => s === 200 || s === 429),
      `only 200 and 429: ${statuses.join(' ')}`,
    );
    const refused = responses.filter((r) => r.status === 429);
    t.ok(refused.length >= 1, `some were refused: ${statuses.join(' ')}`);
    t.ok(refused.length < responses.length, 'some were served');
    for (const r of refused) {
      t.equal(r.json.error.code, 'overloaded');
      t.equal(r.headers.get('retry-after'), '1');
    }
    for (const r of responses.filter((r) => r.status === 200)) t.equal(r.json.results.length, texts.length);
    t.equal((await readyz()).reranker.breaker, 'closed', 'backpressure is not a model failure');
  },
);

t.test(
  'a missed budget is a 503 rerank_unavailable; then the open breaker answers 503 at once',
  async (t) => {
    await setBudget(1);
    for (let i = 0; i < 2; i++) {
      const res = await rerank();
      t.equal(res.status, 503, JSON.stringify(res.json));
      t.equal(res.json.error.code, 'rerank_unavailable');
      t.match(res.json.error.message, /budget/);
      t.match(res.headers.get('retry-after'), /^[1-9]\d*$/, 'Retry-After in whole seconds');
      assertContract(t, res.json);
      // Each miss counts once: RERANK_BREAKER_FAILURES=2 opens the breaker at the second, not the first.
      t.equal((await readyz()).reranker.breaker, i === 0 ? 'closed' : 'open', `breaker after miss ${i + 1}`);
    }

    await setBudget(10_000);
    const started = performance.now();
    const res = await rerank();
    const ms = performance.now() - started;
    t.equal(res.status, 503, 'a roomy budget does not help while the breaker is open');
    t.equal(res.json.error.code, 'rerank_unavailable');
    t.match(res.json.error.message, /breaker/);
    t.ok(Number(res.headers.get('retry-after')) > 1, 'Retry-After tells the time left in the cool-down');
    t.ok(ms < 1_000, `answered at once (${ms.toFixed(0)} ms)`);
  },
);
