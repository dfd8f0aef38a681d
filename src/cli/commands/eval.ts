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

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  // A flag at the end or followed by another flag would otherwise be silently ignored.
  if (value === undefined || value.startsWith('--')) throw new ValidationError(name, 'needs a value');
  return value;
}

function positive(args: string[], name: string): number | undefined {
  const raw = option(args, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ValidationError(name, 'must be a positive integer');
  return n;
}

export async function run(args: string[]): Promise<number> {
  const [sub] = args;
  const dataset = option(args, '--dataset');
  if ((sub !== 'rerank' && sub !== 'retrieval') || !dataset) {
    console.error(USAGE);
    return 2;
  }
  return sub === 'rerank' ? evalRerankCommand(args, dataset) : evalRetrievalCommand(args, dataset);
}

async function evalRerankCommand(args: string[], dataset: string): Promise<number> {
  const { evalRerank, formatEvalReport } = await import('../../eval/index.js');
  const report = await evalRerank({
    dataset,
    model: option(args, '--model'),
    biEncoder: option(args, '--bi-encoder'),
    run: option(args, '--run'),
    candidates: positive(args, '--candidates'),
    queries: positive(args, '--queries'),
    onProgress: (done, total) => {
      if (process.stderr.isTTY && done % 10 === 0)
        process.stderr.write(`\rreranked ${done}/${total} queries`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(args.includes('--json') ? JSON.stringify(report, null, 2) : formatEvalReport(report));
  return 0;
}

/** `--dataset <basename> --mode M [--rerank] [--queries N]`: what shaped a run's figures. */
function retrievalFigureArgs(args: string[]): string[] {
  const dataset = option(args, '--dataset')!;
  const out = [
    '--dataset',
    `.../${path.basename(path.resolve(dataset))}`,
    '--mode',
    option(args, '--mode') ?? 'all',
  ];
  if (args.includes('--rerank')) out.push('--rerank');
  const queries = option(args, '--queries');
  if (queries) out.push('--queries', queries);
  return out;
}

const RETRIEVAL_FLAGS = new Set(['--dataset', '--mode', '--queries', '--json', '--plot', '--rerank']);

async function evalRetrievalCommand(args: string[], dataset: string): Promise<number> {
  // A misspelt option must not silently measure the defaults.
  const unknown = args.slice(1).find((a) => a.startsWith('--') && !RETRIEVAL_FLAGS.has(a));
  if (unknown) throw new ValidationError(unknown, 'is not an option of eval retrieval (see memvault eval)');
  const { RETRIEVAL_MODES, evalRetrieval, formatRetrievalReport, retrievalChart } =
    await import('../../eval/index.js');
  const mode = option(args, '--mode') ?? 'all';
  const modes = mode === 'all' ? [...RETRIEVAL_MODES] : RETRIEVAL_MODES.filter((m) => m === mode);
  if (modes.length === 0)
    throw new ValidationError('--mode', `must be one of ${RETRIEVAL_MODES.join(', ')}, all`);
  const embedModel = process.env.MEMVAULT_EMBED_MODEL || embeddedDefaults(process.env).embedModel;
  if (!embedModel) {
    throw new ValidationError(
      'MEMVAULT_EMBED_MODEL',
      'no embedder: set it to a sentence-encoder folder (the bundled USE-lite was not found)',
    );
  }
  const jsonFile = option(args, '--json');
  const plotFile = option(args, '--plot');
  const { createProgress } = await import('../../bench/progress.js');
  const report = await evalRetrieval({
    dataset,
    modes,
    rerank: args.includes('--rerank'),
    queries: positive(args, '--queries'),
    embedModel,
    env: process.env,
    progress: createProgress('eval retrieval'),
    // The options that shape the figures; --json/--plot only say where they go.
    command: ['memvault eval retrieval', ...retrievalFigureArgs(args)].join(' '),
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
