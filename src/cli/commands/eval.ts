/**
 * `memvault eval rerank --dataset <BEIR dir> [--model <cross-encoder>] [--bi-encoder <dir>]
 *  [--run <file>] [--candidates N] [--queries N] [--json]`: BM25 top-N (or the run's candidates)
 *  before/after reranking (src/eval).
 * `memvault eval retrieval --dataset <BEIR dir> [--mode dense|lexical|hybrid|all] [--rerank]
 *  [--queries N] [--json <file>] [--plot <file.svg>]`: the corpus written through the real write
 *  path and the queries sent through the real query path of a daemon, per retrieval mode, against
 *  the BM25 reference of the same run (src/eval/retrieval-eval.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { ValidationError } from '../../errors.js';
import { oneOf, parseCommand, type Parsed, positiveInt, subcommand, UsageError } from '../args.js';
import { embeddedDefaults } from './embedded-defaults.js';

export const summary =
  'retrieval quality: rerank (BM25 top-N or a run, reordered) | retrieval (through the HTTP API, per mode)';

const USAGE = [
  'usage: memvault eval rerank --dataset <BEIR dir> [--model <dir|hf-id>] [--bi-encoder <dir>]',
  '                            [--run <file>] [--candidates N] [--queries N] [--json]',
  '  --run <file>      candidates from a TREC run (qid Q0 docid rank score tag) or BEIR results',
  '                    JSON ({"qid": {"docid": score}}) instead of BM25; queries absent from it',
  '                    score 0. Ordered by score, ties by rank.',
  '  --candidates N    per-query cut of the first stage (default 100 for BM25, the whole run list)',
  '',
  'usage: memvault eval retrieval --dataset <BEIR dir> [--mode dense|lexical|hybrid|all] [--rerank]',
  '                               [--queries N] [--json <file>] [--plot <file.svg>]',
  '  writes the corpus (title + text, one chunk per document) through POST /v1/chunks/batch into a',
  '  scratch tenant of a daemon it starts (on DATABASE_URL when set, else on a private embedded',
  '  cluster it removes afterwards), sends every judged query to POST /v1/query (k = 100) in each',
  '  mode, and prints nDCG@10, MRR@10, recall@100 and p50/p95 latency per mode beside the BM25',
  '  reference of the same run. Embedder: MEMVAULT_EMBED_MODEL, else the bundled USE-lite.',
  '  --mode            default all; a mode the server does not serve is reported as such',
  '  --rerank          rerank the 100 candidates (RERANK_MODEL, else the default model); off by default',
].join('\n');

const EVAL_RERANK_OPTIONS = {
  dataset: { type: 'string' },
  model: { type: 'string' },
  'bi-encoder': { type: 'string' },
  run: { type: 'string' },
  candidates: { type: 'string' },
  queries: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const RETRIEVAL_OPTIONS = {
  dataset: { type: 'string' },
  mode: { type: 'string' },
  rerank: { type: 'boolean' },
  queries: { type: 'string' },
  json: { type: 'string' },
  plot: { type: 'string' },
} as const;

export async function run(args: string[]): Promise<number> {
  const sub = subcommand(args, ['rerank', 'retrieval'], USAGE);
  return sub === 'rerank' ? evalRerankCommand(args.slice(1)) : evalRetrievalCommand(args.slice(1));
}

function requireDataset(dataset: string | undefined): string {
  if (dataset === undefined) throw new UsageError('--dataset <BEIR dir> is required', USAGE);
  return dataset;
}

async function evalRerankCommand(args: string[]): Promise<number> {
  const { values } = parseCommand(args, { usage: USAGE, options: EVAL_RERANK_OPTIONS });
  const dataset = requireDataset(values.dataset);
  const candidates = positiveInt(values.candidates, '--candidates', USAGE);
  const queries = positiveInt(values.queries, '--queries', USAGE);
  const { evalRerank, formatEvalReport } = await import('../../eval/index.js');
  const report = await evalRerank({
    dataset,
    model: values.model,
    biEncoder: values['bi-encoder'],
    run: values.run,
    candidates,
    queries,
    onProgress: (done, total) => {
      if (process.stderr.isTTY && done % 10 === 0)
        process.stderr.write(`\rreranked ${done}/${total} queries`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(values.json ? JSON.stringify(report, null, 2) : formatEvalReport(report));
  return 0;
}

type RetrievalValues = Parsed<typeof RETRIEVAL_OPTIONS>['values'];

/** `--dataset <basename> --mode M [--rerank] [--queries N]`: what shaped a run's figures. */
function retrievalFigureArgs(values: RetrievalValues, dataset: string): string[] {
  const out = ['--dataset', `.../${path.basename(path.resolve(dataset))}`, '--mode', values.mode ?? 'all'];
  if (values.rerank) out.push('--rerank');
  if (values.queries) out.push('--queries', values.queries);
  return out;
}

async function evalRetrievalCommand(args: string[]): Promise<number> {
  const { values } = parseCommand(args, { usage: USAGE, options: RETRIEVAL_OPTIONS });
  const dataset = requireDataset(values.dataset);
  const queries = positiveInt(values.queries, '--queries', USAGE);
  const { RETRIEVAL_MODES, evalRetrieval, formatRetrievalReport, retrievalChart } =
    await import('../../eval/index.js');
  const mode = oneOf(values.mode ?? 'all', '--mode', [...RETRIEVAL_MODES, 'all'], USAGE);
  const modes = mode === 'all' ? [...RETRIEVAL_MODES] : [mode];
  const embedModel = process.env.MEMVAULT_EMBED_MODEL || embeddedDefaults(process.env).embedModel;
  if (!embedModel) {
    throw new ValidationError(
      'MEMVAULT_EMBED_MODEL',
      'no embedder: set it to a sentence-encoder folder (the bundled USE-lite was not found)',
    );
  }
  const jsonFile = values.json;
  const plotFile = values.plot;
  const { createProgress } = await import('../../bench/progress.js');
  const report = await evalRetrieval({
    dataset,
    modes,
    rerank: values.rerank ?? false,
    queries,
    embedModel,
    env: process.env,
    progress: createProgress('eval retrieval'),
    // The options that shape the figures; --json/--plot only say where they go.
    command: ['memvault eval retrieval', ...retrievalFigureArgs(values, dataset)].join(' '),
  });
  console.log(formatRetrievalReport(report));
  for (const [file, text] of [
    [jsonFile, `${JSON.stringify(report, null, 2)}\n`],
    [plotFile, plotFile ? retrievalChart(report) : ''],
  ] as const) {
    if (!file) continue;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, text);
    console.error(`wrote ${file}`);
  }
  return 0;
}
