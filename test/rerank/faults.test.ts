import t from 'tap';

import { ValidationError } from '../../src/errors.js';
import { ModelLoadError, QueueFullError } from '../../src/inference/errors.js';
import { siblingModule } from '../../src/inference/module-url.js';
import { InferencePool } from '../../src/inference/pool.js';
import {
  applyRerankSettings,
  closeReranker,
  getCrossEncoder,
  getRerankerState,
  getRerankMetrics,
  maybeRerank,
  rerankDetailed,
  RerankUnavailableError,
  resetRerankMetrics,
} from '../../src/rerank/index.js';
import type { Pair } from '../../src/rerank/pair-encoder.js';
import { ensureFixtureModel, rerankEnv, withEnv } from '../helpers/models.js';

const dir = await ensureFixtureModel();
const restore = withEnv(rerankEnv(dir, { RERANK_CIRCUIT_MS: '5000', RERANK_BREAKER_FAILURES: '3' }));
t.teardown(async () => {
  await closeReranker();
  restore();
});
const passages = Array.from({ length: 24 }, (_, i) =>
  `passage number ${i} about cats, markets and the immune system `.repeat(8),
);

/** A one-worker pool of the fixture cross-encoder, separate from the reranker's own. */
function crossEncoderPool(queue: { maxWaitMs: number; queueMax: number }): InferencePool<Pair, number> {
  return new InferencePool<Pair, number>({
    name: 'test',
    taskUrl: siblingModule(new URL('../../src/rerank/reranker.ts', import.meta.url).href, 'task'),
    taskConfig: {
      modelPath: `${dir}/onnx/model.onnx`,
      tokenizerPath: `${dir}/tokenizer.json`,
      tokenizerConfigPath: `${dir}/tokenizer_config.json`,
      maxTokens: 256,
    },
    size: 1,
    threads: 1,
    device: 'cpu',
    batchSize: 32,
    ...queue,
  });
}

t.test('flag off: input order, no model load', async (t) => {
  applyRerankSettings({ enabled: false });
  const out = await maybeRerank('what is a cat', passages);
  t.equal(out.reranked, false);
  t.equal(out.skipped, 'disabled');
  t.same(
    out.results.map((r) => r.index),
    passages.map((_, i) => i),
  );
  t.same(
    out.results.map((r) => r.score),
    passages.map((_, i) => 1 - i / passages.length),
  );
  t.equal(getRerankerState().state, 'unloaded', 'the model was not loaded');
  applyRerankSettings({ enabled: true });
});

t.test('rollout percent 0 skips every tenant, 100 none', async (t) => {
  // Hashes from across the bucket range (the bucket comes from the hash's leading bytes).
  const tenants = ['00', '7f', 'ab', 'ff'].map((byte) => byte.repeat(32));
  applyRerankSettings({ rolloutPercent: 0, enabled: false });
  t.equal((await maybeRerank('q', ['a'], { userHash: tenants[2]! })).skipped, 'disabled', 'the flag first');
  applyRerankSettings({ enabled: true });
  for (const userHash of tenants)
    t.equal((await maybeRerank('q', ['a'], { userHash })).skipped, 'rollout', `0%: ${userHash.slice(0, 2)}`);
  applyRerankSettings({ rolloutPercent: 100 });
  // Loaded first: this test is about the rollout, and a busy machine can take longer than the
  // budget to load the model on the first call (which then fails open as model_loading).
  await getCrossEncoder();
  for (const userHash of tenants) {
    const out = await maybeRerank('what is a cat', passages.slice(0, 2), { userHash });
    t.equal(out.reranked, true, `100%: ${userHash.slice(0, 2)} reranked`);
    t.equal(out.skipped, undefined);
  }
  await closeReranker(); // cold again for the loading test below (also drops the overrides)
});

t.test('bad input is a ValidationError, not a fail-open', async (t) => {
  await t.rejects(rerankDetailed(42 as unknown as string, ['a']), ValidationError);
  const field = (run: () => unknown): Promise<unknown> =>
    Promise.resolve()
      .then(run)
      .then(
        () => 'no error',
        (error: unknown) => (error instanceof ValidationError ? `${error.field}/${error.code}` : error),
      );
  t.equal(await field(() => rerankDetailed('  ', ['a'])), 'query/invalid_input');
  t.equal(await field(() => rerankDetailed('q', 'a' as unknown as string[])), 'candidates/invalid_input');
  t.equal(
    await field(() => rerankDetailed('q', ['a', 3 as unknown as string])),
    'candidates[1]/invalid_input',
  );
  t.equal(await field(() => rerankDetailed('q', Array(10_000).fill('x'))), 'candidates/too_large');
  t.equal(await field(() => rerankDetailed('q', ['a', ' '])), 'candidates[1]/invalid_input', 'blank text');
  t.equal(
    await field(() => maybeRerank('q', ['a', 3 as unknown as string])),
    'candidates[1]/invalid_input',
    'maybeRerank checks the same rules',
  );
  t.equal(await field(() => applyRerankSettings({ rolloutPercent: 101 })), 'rolloutPercent/invalid_input');
});

t.test(
  'a cold reranker and a short budget: ANN order (loading) when failing open, model_loading when strict',
  async (t) => {
    t.equal(getRerankerState().state, 'unloaded', 'cold: nothing has loaded the model yet');
    resetRerankMetrics();
    const started = performance.now();
    const open = await rerankDetailed('what is a cat', passages, { timeoutMs: 5 });
    const elapsed = performance.now() - started;
    t.equal(open.reranked, false);
    t.equal(open.skipped, 'loading');
    t.ok(elapsed < 5 + 50, `returned within the budget while loading (${elapsed.toFixed(1)} ms)`);
    t.equal(getRerankerState().state, 'loading', 'the call started the load');
    // A strict caller (POST /v1/rerank) must not receive that ANN order as if it were a rerank.
    const strict = await rerankDetailed('what is a cat', passages, { timeoutMs: 5, strict: true }).then(
      () => 'answered',
      (error: unknown) => error,
    );
    t.type(strict, RerankUnavailableError);
    t.match(strict, { code: 'model_loading', reason: 'loading' });
    t.equal(getRerankMetrics().skipsByReason.loading, 1, 'only the fail-open call counts as a skip');
    t.equal(getRerankerState().breaker, 'closed', 'a model still loading is not a model fault');
    t.equal(getRerankMetrics().errors, 0, 'nor counted as a model error');
    await getCrossEncoder();
    const warm = await rerankDetailed('what is a cat', passages, { strict: true });
    t.equal(warm.reranked, true, 'once loaded, the strict caller is served');
  },
);

t.test('a budget too small: ANN order within budget, skip counted (timeout)', async (t) => {
  await getCrossEncoder();
  resetRerankMetrics();
  const started = performance.now();
  const out = await rerankDetailed('what is a cat', passages, { timeoutMs: 3 });
  const elapsed = performance.now() - started;
  t.equal(out.reranked, false);
  t.equal(out.skipped, 'timeout');
  t.same(
    out.results.map((r) => r.rank),
    passages.map((_, i) => i + 1),
  );
  // The issue asks for "within budget + a few ms"; 50 ms of slack absorbs timers that run late on
  // a loaded 2-core CI machine (40 ms held there too) and still catches a caller kept for the rerank.
  t.ok(elapsed < 3 + 50, `returned after ${elapsed.toFixed(1)} ms`);
  t.equal(getRerankMetrics().skipsByReason.timeout, 1);
  const ok = await rerankDetailed('what is a cat', passages);
  t.equal(ok.reranked, true, 'the next call with a normal budget reranks');
});

t.test('consecutive failures open the breaker; a probe closes it', async (t) => {
  // A cool-down long enough that the checks of the open state finish inside it on a slow machine.
  const restoreEnv = withEnv({ RERANK_BREAKER_COOLDOWN_MS: '1000' });
  await closeReranker();
  await getCrossEncoder();
  for (let i = 0; i < 3; i++)
    t.equal((await rerankDetailed('q', passages, { timeoutMs: 1 })).skipped, 'timeout');
  t.equal(getRerankerState().breaker, 'open');
  const fast = await rerankDetailed('q', passages);
  t.equal(fast.skipped, 'breaker_open');
  t.ok(fast.ms < 50, `an open breaker answers at once (${fast.ms.toFixed(1)} ms)`);
  const strict = await rerankDetailed('q', passages, { strict: true }).then(
    () => 'answered',
    (error: unknown) => error,
  );
  t.match(strict, { code: 'rerank_unavailable', reason: 'breaker_open' }, 'strict: an error, not ANN order');
  t.ok((strict as RerankUnavailableError).retryAfterMs > 0, 'with the time left until the probe');
  await new Promise((resolve) => setTimeout(resolve, 1050));
  t.equal((await rerankDetailed('q', passages)).reranked, true, 'half-open probe succeeds');
  t.equal(getRerankerState().breaker, 'closed');
  restoreEnv();
});

t.test('a worker that dies is replaced; its requests fail open fast', async (t) => {
  const ce = await getCrossEncoder();
  const pool = ce.poolForTesting()!;
  const before = pool.stats().restarts;
  pool.crashNextBatchForTesting();
  const started = performance.now();
  const out = await rerankDetailed('what is a cat', passages, { timeoutMs: 5000 });
  t.equal(out.reranked, false);
  t.equal(out.skipped, 'error');
  t.ok(performance.now() - started < 1000, 'failed fast, not at the 5 s budget');
  for (let i = 0; i < 100 && pool.stats().live === 0; i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(pool.stats().restarts, before + 1);
  t.equal((await rerankDetailed('what is a cat', passages)).reranked, true, 'the replacement serves');
});

t.test('a full queue rejects at once with QueueFullError (backpressure)', async (t) => {
  const ce = await getCrossEncoder();
  t.ok(ce.state.state === 'ready');
  const pool = crossEncoderPool({ maxWaitMs: 50, queueMax: 10 });
  t.teardown(() => pool.close());
  await pool.start();
  const pairs = (n: number): Pair[] =>
    Array.from({ length: n }, (_, i) => ({ query: 'q', passage: `p${i}` }));
  const first = pool.run(pairs(8));
  await t.rejects(pool.run(pairs(8)), QueueFullError);
  t.equal((await first).length, 8);
  const aborted = new AbortController();
  const dropped = pool.run(pairs(2), { signal: aborted.signal });
  aborted.abort();
  await t.rejects(dropped, { code: 'inference_aborted' });
  await t.rejects(pool.run(pairs(2), { deadline: performance.now() - 1 }), { code: 'inference_aborted' });
  t.equal(pool.stats().queuedItems, 0);
});

t.test('a pool whose model cannot load stays failed: start() again rejects without respawning', async (t) => {
  const pool = new InferencePool<Pair, number>({
    name: 'test',
    taskUrl: siblingModule(new URL('../../src/rerank/reranker.ts', import.meta.url).href, 'task'),
    taskConfig: {
      modelPath: `${dir}/onnx/no-such-model.onnx`,
      tokenizerPath: `${dir}/tokenizer.json`,
      tokenizerConfigPath: `${dir}/tokenizer_config.json`,
      maxTokens: 256,
    },
    size: 2,
    threads: 1,
    device: 'cpu',
    batchSize: 32,
    maxWaitMs: 0,
    queueMax: 10,
  });
  t.teardown(() => pool.close());
  const first = await pool.start().then(
    () => undefined,
    (error: unknown) => error,
  );
  t.ok(first instanceof ModelLoadError, 'the load failure is a ModelLoadError');
  t.equal(pool.stats().workers, 0, 'the failed pool stopped its workers');
  const again = await pool.start().then(
    () => undefined,
    (error: unknown) => error,
  );
  t.equal(again, first, 'the same failure, at once');
  t.equal(pool.stats().workers, 0, 'no worker was spawned to fail again');
  await t.rejects(pool.run([{ query: 'q', passage: 'p' }]), ModelLoadError);
});

t.test(
  'closing a pool with batches in flight lets them finish natively, then stops (no process abort)',
  async (t) => {
    // Regression: terminate()ing a worker inside ONNX Runtime's run() aborted the whole process.
    // Reaching the assertions after each close is the test.
    const pairs = passages.map((passage) => ({ query: 'what is a cat', passage }));
    for (let round = 0; round < 4; round++) {
      const pool = crossEncoderPool({ maxWaitMs: 0, queueMax: 100 });
      await pool.start();
      const inFlight = [pool.run(pairs), pool.run(pairs)].map((p) =>
        p.then(
          () => 'ok',
          (e: { code?: string }) => e.code,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, round * 3));
      const started = performance.now();
      await pool.close();
      t.ok(
        performance.now() - started < 5_000,
        `round ${round}: closed in ${(performance.now() - started).toFixed(0)} ms`,
      );
      t.same(
        await Promise.all(inFlight),
        ['inference_closed', 'inference_closed'],
        'requests still pending at close are rejected',
      );
      t.equal(pool.stats().live, 0);
    }
  },
);
