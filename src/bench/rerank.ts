/**
 * Reranker benchmark: 24 candidates of ~100 tokens, single caller and 4 concurrent callers,
 * p50/p95/p99, throughput, and the overhead of rerank() against a bare session.run on the same
 * pre-tokenized batch in the same process and run (interleaved, medians over rounds).
 *
 * Run: memvault bench rerank [--quick] [--json <file>]
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import * as ort from 'onnxruntime-node';

import { writeDirAtomically } from '../models/atomic-dir.js';
import { writeFixtureFiles } from '../models/fixture.js';
import { repoRoot } from '../models/repo-paths.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { closeReranker, getCrossEncoder, rerankDetailed, resetRerankMetrics } from '../rerank/index.js';
import { BertPairEncoder } from '../rerank/pair-encoder.js';
import type { Metric } from './result.js';
import { buildResult, type Suite } from './suite.js';

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

interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

export interface RerankBenchRow {
  config: string;
  single: Percentiles;
  concurrent: Percentiles & { callers: number };
  pairsPerSecond: number;
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
  rows: RerankBenchRow[];
}

/** The synthetic TinyBERT-L-2-shaped cross-encoder (written once, shared with the tests). */
export async function fixtureDir(): Promise<string> {
  const dir = path.join(repoRoot(), '.memvault-test', 'models', 'fixture-tinybert-l2');
  if (!existsSync(path.join(dir, 'onnx', 'model.onnx')))
    await writeDirAtomically(dir, (tmp) => writeFixtureFiles(tmp));
  return dir;
}

async function benchConfig(
  dir: string,
  poolSize: number,
  threads: number,
  rounds: number,
  passages: string[],
): Promise<RerankBenchRow> {
  Object.assign(process.env, {
    RERANK_MODEL: dir,
    RERANK_DEVICE: 'cpu',
    RERANK_POOL_SIZE: String(poolSize),
    RERANK_THREADS: String(threads),
    RERANK_CIRCUIT_MS: '10000',
  });
  await closeReranker();
  await getCrossEncoder();
  // The bare baseline: same model, same pre-tokenized batch, no pool, in this thread, with the
  // threads ONE pool worker has — a single request runs on one worker, so that is like for like.
  const session = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model.onnx'), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
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
  for (let i = 0; i < 3; i++) {
    await session.run(feeds);
    await rerankDetailed(QUERY, passages);
  }
  resetRerankMetrics();
  const single: number[] = [];
  const bare: number[] = [];
  const tokenize: number[] = [];
  let skips = 0;
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    const out = await rerankDetailed(QUERY, passages);
    single.push(performance.now() - t0);
    if (!out.reranked) skips++;
    t0 = performance.now();
    await session.run(feeds);
    bare.push(performance.now() - t0);
    t0 = performance.now();
    encoder.encode(pairs);
    tokenize.push(performance.now() - t0);
  }
  await session.release();
  const callers = 4;
  const concurrent: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let r = 0; r < Math.ceil(rounds / 2); r++) {
        const t0 = performance.now();
        const out = await rerankDetailed(QUERY, passages);
        concurrent.push(performance.now() - t0);
        if (!out.reranked) skips++;
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  await closeReranker();
  const median = (values: number[]): number => percentiles(values).p50;
  return {
    config: `${poolSize} worker x ${threads} thread${threads > 1 ? 's' : ''}`,
    single: percentiles(single),
    concurrent: { ...percentiles(concurrent), callers },
    pairsPerSecond: (concurrent.length * passages.length) / wall,
    bareRunMs: median(bare),
    tokenizeMs: median(tokenize),
    overheadRatio: median(single) / median(bare),
    machineryRatio: median(single) / (median(bare) + median(tokenize)),
    skips,
  };
}

export async function runRerankBench(opts: { quick: boolean }): Promise<RerankBenchResult> {
  const dir = await fixtureDir();
  const passages = benchPassages(24, 100);
  const rounds = opts.quick ? 30 : 150;
  const configs: [number, number][] = opts.quick
    ? [[1, 2]]
    : [
        [1, 2],
        [2, 1],
      ];
  const rows: RerankBenchRow[] = [];
  for (const [size, threads] of configs) rows.push(await benchConfig(dir, size, threads, rounds, passages));
  const tokenizer = await loadTokenizer(path.join(dir, 'tokenizer.json'));
  const tokensPerPair =
    passages.reduce((sum, p) => sum + tokenizer.encode(p, { add_special_tokens: false }).ids.length, 0) /
    passages.length;
  return { candidates: passages.length, tokensPerPair, rounds, rows };
}

export function formatRerankBench(result: RerankBenchResult): string {
  const f = (x: number): string => x.toFixed(1).padStart(6);
  const lines = [
    `rerank bench: ${result.candidates} candidates x ~${Math.round(result.tokensPerPair)} passage tokens, ${result.rounds} rounds (synthetic TinyBERT-L-2 fixture)`,
    'config                | single p50    p95    p99 | 4 callers p50    p95    p99 | pairs/s | bare run  tokenize | rerank/bare  rerank/(bare+tok) | skips',
  ];
  for (const r of result.rows) {
    lines.push(
      `${r.config.padEnd(21)} | ${f(r.single.p50)} ${f(r.single.p95)} ${f(r.single.p99)} |    ${f(r.concurrent.p50)} ${f(r.concurrent.p95)} ${f(r.concurrent.p99)} | ${r.pairsPerSecond.toFixed(0).padStart(7)} | ${f(r.bareRunMs)}    ${f(r.tokenizeMs)} | ${r.overheadRatio.toFixed(2).padStart(11)}  ${r.machineryRatio.toFixed(2).padStart(17)} | ${r.skips}`,
    );
  }
  lines.push(
    '(times in ms; medians/percentiles over rounds; bare run = session.run on the same pre-tokenized batch in this thread)',
  );
  return lines.join('\n');
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
  summary: 'cross-encoder p50/p95/p99 for 24 candidates, pairs/s, overhead vs bare session.run',
  async run(ctx) {
    const startedAt = new Date();
    // The bench configures the reranker through the environment; restore it for later suites.
    const saved = { ...process.env };
    ctx.progress.stage('loading the fixture cross-encoder and measuring');
    let result: RerankBenchResult;
    try {
      result = await runRerankBench({ quick: ctx.quick });
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    const [title] = formatRerankBench(result).split('\n');
    return buildResult('rerank', ctx, startedAt, {
      settings: {
        candidates: result.candidates,
        tokensPerPair: Math.round(result.tokensPerPair),
        rounds: result.rounds,
        model: 'synthetic TinyBERT-L-2 fixture',
      },
      metrics: rerankMetrics(result),
      tables: [
        {
          title: title!,
          header: [
            'config',
            'p50',
            'p95',
            'p99',
            '4 callers p50',
            'p95',
            'p99',
            'pairs/s',
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
            r.bareRunMs.toFixed(1),
            r.tokenizeMs.toFixed(1),
            r.overheadRatio.toFixed(2),
            r.machineryRatio.toFixed(2),
            String(r.skips),
          ]),
          note: 'times in ms; bare run = session.run on the same pre-tokenized batch in this thread, interleaved with rerank() round by round',
        },
      ],
    });
  },
};
