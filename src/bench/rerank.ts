/**
 * Reranker benchmark: 24 candidates of ~100 tokens, single caller and 4 concurrent callers,
 * p50/p95/p99, and two ratios against bare onnxruntime on the same pre-tokenized batch, both
 * measured in the same run with the order of the sides rotated round by round:
 * - latency: one rerank() call vs one session.run in this thread with one pool worker's threads
 *   (a single request runs on one worker), and the tokenization on its own;
 * - throughput: pairs/s of the pool under 4 callers vs pairs/s of bare sessions in worker
 *   threads of the same shape (workers x threads), running the same 24-pair batches back to back.
 *
 * Run: memvault bench rerank [--quick] [--rounds <n>] [--json <file>]
 */
import path from 'node:path';

import { createSession, ort } from '../inference/session.js';
import { ensureFixtureModel } from '../models/fixture.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { closeReranker, getCrossEncoder, rerankDetailed, resetRerankMetrics } from '../rerank/index.js';
import { BertPairEncoder } from '../rerank/pair-encoder.js';
import { BareRunners } from './bare-runners.js';
import type { Metric } from './result.js';
import { median, type Percentiles, percentiles, rotated } from './stats.js';
import { buildResult, intOption, type Suite } from './suite.js';

const WORDS = (
  'memory retrieval encrypted tenant vector search ranking passage query assistant model latency ' +
  'protein immune response climate ocean temperature market economy policy research clinical trial ' +
  'patients treatment outcome neural network language learning evidence hypothesis experiment result'
).split(' ');

/** Deterministic passages of about `tokens` WordPiece tokens each. */
export function benchPassages(count: number, tokens: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length: tokens }, (_, j) => WORDS[(i * 13 + j * 7 + ((i * j) % 5)) % WORDS.length]).join(
      ' ',
    ),
  );
}

const QUERY = 'which treatment improved clinical outcome for patients in the trial';

export interface RerankBenchRow {
  config: string;
  single: Percentiles;
  concurrent: Percentiles & { callers: number };
  pairsPerSecond: number;
  /** Bare sessions of the pool's shape (workers x threads) in worker threads, same batches. */
  barePairsPerSecond: number;
  /** pool pairs/s / bare pairs/s */
  throughputRatio: number;
  bareRunMs: number;
  tokenizeMs: number;
  overheadRatio: number;
  machineryRatio: number;
  skips: number;
}

export interface RerankBenchResult {
  candidates: number;
  tokensPerPair: number;
  rounds: number;
  throughputRounds: number;
  rows: RerankBenchRow[];
}

async function benchConfig(
  dir: string,
  poolSize: number,
  threads: number,
  rounds: number,
  throughputRounds: number,
  passages: string[],
): Promise<RerankBenchRow> {
  Object.assign(process.env, {
    RERANK_MODEL: dir,
    RERANK_DEVICE: 'cpu',
    RERANK_POOL_SIZE: String(poolSize),
    RERANK_THREADS: String(threads),
    RERANK_CIRCUIT_MS: '10000',
    // One request per batch, so the pool runs exactly the batch shape the bare side runs.
    RERANK_BATCH_SIZE: String(passages.length),
  });
  await closeReranker();
  await getCrossEncoder();
  const modelPath = path.join(dir, 'onnx', 'model.onnx');
  // The bare latency baseline: same model, same pre-tokenized batch, no pool, in this thread, with
  // the threads ONE pool worker has — a single request runs on one worker, so that is like for like.
  const { session } = await createSession(modelPath, { threads, device: 'cpu' });
  const encoder = new BertPairEncoder(
    await loadTokenizer(path.join(dir, 'tokenizer.json'), path.join(dir, 'tokenizer_config.json')),
    256,
  );
  const pairs = passages.map((passage) => ({ query: QUERY, passage }));
  const batch = encoder.encode(pairs);
  const dims = [batch.batch, batch.sequence];
  const feeds = {
    input_ids: new ort.Tensor('int64', batch.inputIds, dims),
    attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
    token_type_ids: new ort.Tensor('int64', batch.tokenTypeIds, dims),
  };
  // The bare throughput baseline: the pool's shape, without the pool. Idle while the pool is timed.
  const bareRunners = await BareRunners.start(modelPath, poolSize, threads, batch);
  try {
    for (let i = 0; i < 3; i++) {
      await session.run(feeds);
      await rerankDetailed(QUERY, passages);
    }
    await bareRunners.burst(poolSize);
    resetRerankMetrics();

    // Latency: the three sides one after another, the leader rotating every round.
    const single: number[] = [];
    const bare: number[] = [];
    const tokenize: number[] = [];
    let skips = 0;
    const latencySides: Array<() => Promise<void>> = [
      async () => {
        const t0 = performance.now();
        const out = await rerankDetailed(QUERY, passages);
        single.push(performance.now() - t0);
        if (!out.reranked) skips++;
      },
      async () => {
        const t0 = performance.now();
        await session.run(feeds);
        bare.push(performance.now() - t0);
      },
      async () => {
        const t0 = performance.now();
        encoder.encode(pairs);
        tokenize.push(performance.now() - t0);
      },
    ];
    for (let r = 0; r < rounds; r++) for (const side of rotated(latencySides, r)) await side();

    // Throughput: per round, 4 callers keep the pool busy for `perCaller` calls each, and the bare
    // workers run the same number of batches; which side goes first alternates.
    const callers = 4;
    const perCaller = Math.max(1, Math.ceil(Math.ceil(rounds / 2) / throughputRounds));
    const batchesPerRound = callers * perCaller;
    const concurrent: number[] = [];
    let poolMs = 0;
    let bareMs = 0;
    const throughputSides: Array<() => Promise<void>> = [
      async () => {
        const started = performance.now();
        await Promise.all(
          Array.from({ length: callers }, async () => {
            for (let c = 0; c < perCaller; c++) {
              const t0 = performance.now();
              const out = await rerankDetailed(QUERY, passages);
              concurrent.push(performance.now() - t0);
              if (!out.reranked) skips++;
            }
          }),
        );
        poolMs += performance.now() - started;
      },
      async () => {
        bareMs += await bareRunners.burst(batchesPerRound);
      },
    ];
    for (let r = 0; r < throughputRounds; r++) for (const side of rotated(throughputSides, r)) await side();

    const pairsTotal = throughputRounds * batchesPerRound * passages.length;
    const pairsPerSecond = pairsTotal / (poolMs / 1000);
    const barePairsPerSecond = pairsTotal / (bareMs / 1000);
    return {
      config: `${poolSize} worker x ${threads} thread${threads > 1 ? 's' : ''}`,
      single: percentiles(single),
      concurrent: { ...percentiles(concurrent), callers },
      pairsPerSecond,
      barePairsPerSecond,
      throughputRatio: pairsPerSecond / barePairsPerSecond,
      bareRunMs: median(bare),
      tokenizeMs: median(tokenize),
      overheadRatio: median(single) / median(bare),
      machineryRatio: median(single) / (median(bare) + median(tokenize)),
      skips,
    };
  } finally {
    await session.release();
    await bareRunners.stop();
    await closeReranker();
  }
}

export async function runRerankBench(opts: { quick: boolean; rounds?: number }): Promise<RerankBenchResult> {
  const dir = await ensureFixtureModel();
  const passages = benchPassages(24, 100);
  const rounds = opts.rounds ?? (opts.quick ? 30 : 150);
  // More, shorter rounds interleave the two sides more finely for the same total work.
  const throughputRounds = opts.quick ? 8 : 20;
  const configs: [number, number][] = opts.quick
    ? [[1, 2]]
    : [
        [1, 2],
        [2, 1],
      ];
  const rows: RerankBenchRow[] = [];
  for (const [size, threads] of configs)
    rows.push(await benchConfig(dir, size, threads, rounds, throughputRounds, passages));
  const tokenizer = await loadTokenizer(path.join(dir, 'tokenizer.json'));
  const tokensPerPair =
    passages.reduce((sum, p) => sum + tokenizer.encode(p, { add_special_tokens: false }).ids.length, 0) /
    passages.length;
  return { candidates: passages.length, tokensPerPair, rounds, throughputRounds, rows };
}

function rerankMetrics(result: RerankBenchResult): Metric[] {
  return result.rows.flatMap((row): Metric[] => {
    const key = row.config.replace(/ /g, '');
    return [
      { name: `${key}.single_p50_ms`, value: row.single.p50, unit: 'ms', better: 'lower' },
      {
        name: `${key}.single_p95_ms`,
        value: row.single.p95,
        unit: 'ms',
        better: 'lower',
        goal: { op: '<=', value: 150 },
      },
      {
        name: `${key}.single_p99_ms`,
        value: row.single.p99,
        unit: 'ms',
        better: 'lower',
        goal: { op: '<=', value: 250 },
      },
      { name: `${key}.concurrent_p95_ms`, value: row.concurrent.p95, unit: 'ms', better: 'lower' },
      { name: `${key}.pairs_per_s`, value: row.pairsPerSecond, unit: 'pairs/s', better: 'higher' },
      { name: `${key}.bare_pairs_per_s`, value: row.barePairsPerSecond, unit: 'pairs/s', better: 'higher' },
      {
        name: `${key}.pairs_per_s_ratio_vs_bare_run`,
        value: row.throughputRatio,
        unit: 'x',
        better: 'higher',
      },
      {
        name: `${key}.overhead_vs_bare_run`,
        value: row.overheadRatio,
        unit: 'x',
        better: 'lower',
        goal: { op: '<=', value: 1.15 },
      },
    ];
  });
}

export const suite: Suite = {
  name: 'rerank',
  options: ['rounds'],
  summary:
    'cross-encoder p50/p95/p99 for 24 candidates, pairs/s; latency and pairs/s ratios vs bare session.run',
  async run(ctx) {
    const startedAt = new Date();
    // The bench configures the reranker through the environment; restore it for later suites.
    const saved = { ...process.env };
    ctx.progress.stage('loading the fixture cross-encoder and measuring');
    let result: RerankBenchResult;
    try {
      const rounds = ctx.options.rounds === undefined ? undefined : intOption(ctx, 'rounds', 30, 1);
      result = await runRerankBench({ quick: ctx.quick, rounds });
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    const title = `rerank: ${result.candidates} candidates x ~${Math.round(result.tokensPerPair)} passage tokens, ${result.rounds} latency rounds, ${result.throughputRounds} throughput rounds (synthetic TinyBERT-L-2 fixture)`;
    return buildResult('rerank', ctx, startedAt, {
      settings: {
        candidates: result.candidates,
        tokensPerPair: Math.round(result.tokensPerPair),
        rounds: result.rounds,
        throughputRounds: result.throughputRounds,
        callers: 4,
        model: 'synthetic TinyBERT-L-2 fixture',
      },
      metrics: rerankMetrics(result),
      // Calls timed per pool shape: `rounds` single calls, and the 4 callers' calls in the
      // throughput rounds.
      series: {
        samples: Object.fromEntries(
          result.rows.map((r) => [r.config, { single: r.single.n, concurrent: r.concurrent.n }]),
        ),
      },
      tables: [
        {
          title,
          header: [
            'config',
            'p50',
            'p95',
            'p99',
            '4 callers p50',
            'p95',
            'p99',
            'pairs/s',
            'bare pairs/s',
            'pairs/s ratio',
            'bare run',
            'tokenize',
            'rerank/bare',
            'rerank/(bare+tok)',
            'skips',
          ],
          rows: result.rows.map((r) => [
            r.config,
            ...[
              r.single.p50,
              r.single.p95,
              r.single.p99,
              r.concurrent.p50,
              r.concurrent.p95,
              r.concurrent.p99,
            ].map((v) => v.toFixed(1)),
            r.pairsPerSecond.toFixed(0),
            r.barePairsPerSecond.toFixed(0),
            r.throughputRatio.toFixed(2),
            r.bareRunMs.toFixed(1),
            r.tokenizeMs.toFixed(1),
            r.overheadRatio.toFixed(2),
            r.machineryRatio.toFixed(2),
            String(r.skips),
          ]),
          note:
            "times in ms; bare run = session.run on the same pre-tokenized batch in this thread with one worker's threads; " +
            "pairs/s under 4 callers; bare pairs/s = the same batches on bare sessions of the pool's shape (workers x threads) in worker threads; " +
            'the sides alternate (latency: rotate) which goes first each round',
        },
      ],
    });
  },
};
