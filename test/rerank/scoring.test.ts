import t from 'tap';

import {
  closeReranker,
  getCrossEncoder,
  getRerankerState,
  getRerankMetrics,
  rerank,
  rerankDetailed,
  resetRerankMetrics,
} from '../../src/rerank/index.js';
import { ensureFixtureModel, rerankEnv, withEnv } from '../helpers/models.js';

const dir = await ensureFixtureModel();
const restore = withEnv(
  rerankEnv(dir, { RERANK_POOL_SIZE: '2', RERANK_THREADS: '1', RERANK_CIRCUIT_MS: '5000' }),
);
t.teardown(async () => {
  await closeReranker();
  restore();
});

const passages = [
  'a cat is an animal',
  'the stock market fell sharply today',
  'Vaccines train the immune system to recognise a pathogen before an infection. '.repeat(6),
  'cats purr when they are content',
  'quantum chromodynamics describes the strong interaction',
];

t.test('loads lazily and reports state, device and load time', async (t) => {
  t.equal(getRerankerState().state, 'unloaded');
  const ce = await getCrossEncoder();
  const state = getRerankerState();
  t.equal(state.state, 'ready');
  t.equal(state.device, 'cpu');
  t.ok((state.loadMs ?? 0) > 0);
  const live = ce.poolStats()?.live ?? 0;
  t.ok(live >= 1 && live <= 2, 'serves once the first worker is ready');
});

t.test("a candidate's score does not depend on its batch or on padding (1e-4)", async (t) => {
  const ce = await getCrossEncoder();
  const query = 'what is a cat';
  const alone = await Promise.all(passages.map((passage) => ce.score([{ query, passage }])));
  const together = await ce.score(passages.map((passage) => ({ query, passage })));
  const reversed = (await ce.score([...passages].reverse().map((passage) => ({ query, passage })))).reverse();
  passages.forEach((_, i) => {
    t.ok(Math.abs(alone[i]![0]! - together[i]!) < 1e-4, `candidate ${i} alone vs padded batch`);
    t.ok(Math.abs(together[i]! - reversed[i]!) < 1e-4, `candidate ${i} in another order`);
  });
  t.ok(new Set(together.map((x) => x.toFixed(4))).size > 1, 'scores vary between candidates');
});

t.test('returns every candidate once, sorted by score, ranks 1..n', async (t) => {
  const out = await rerankDetailed('what is a cat', passages);
  t.equal(out.reranked, true);
  t.same(out.results.map((r) => r.index).sort(), [0, 1, 2, 3, 4]);
  t.same(
    out.results.map((r) => r.rank),
    [1, 2, 3, 4, 5],
  );
  for (let i = 1; i < out.results.length; i++) t.ok(out.results[i - 1]!.score >= out.results[i]!.score);
  for (const r of out.results) {
    t.equal(r.text, passages[r.index]);
    t.ok(r.score > 0 && r.score < 1);
  }
  t.same(await rerank('q', []), []);
});

t.test('concurrent callers get their own results and the pool never exceeds its size', async (t) => {
  resetRerankMetrics();
  const queries = [
    'what is a cat',
    'stock prices',
    'immune response',
    'strong force',
    'purring',
    'markets',
    'cats',
    'physics',
  ];
  // The expected scores come from one request at a time, so a mix-up between requests merged
  // into one batch cannot hide on both sides of the comparison.
  const ce = await getCrossEncoder();
  const expected: number[][] = [];
  for (const q of queries) expected.push(await ce.score(passages.map((passage) => ({ query: q, passage }))));
  resetRerankMetrics();
  const results = await Promise.all(queries.map((q) => rerankDetailed(q, passages)));
  results.forEach((out, i) => {
    t.equal(out.reranked, true);
    for (const r of out.results) {
      const want = 1 / (1 + Math.exp(-expected[i]![r.index]!));
      t.ok(Math.abs(r.score - want) < 1e-4, `query ${i} candidate ${r.index}`);
    }
  });
  const stats = (await getCrossEncoder()).poolStats();
  t.ok(stats && stats.peakBusy <= 2, `peak busy ${stats?.peakBusy} <= pool size 2`);
  const metrics = getRerankMetrics();
  t.equal(metrics.reranked, queries.length);
  t.ok(metrics.maxBatchPairs > passages.length, 'concurrent requests were merged into one batch');
  t.ok(metrics.maxBatchPairs <= 32, 'batches respect RERANK_BATCH_SIZE');
  t.ok(metrics.latencyMs.p50 > 0 && metrics.latencyMs.p99 >= metrics.latencyMs.p50);
});
