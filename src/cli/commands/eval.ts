/**
 * `memvault eval rerank --dataset <BEIR dir> [--model <cross-encoder>] [--bi-encoder <dir>]
 *  [--run <file>] [--candidates N] [--queries N] [--json]`: BM25 top-N (or the run's candidates)
 *  before/after reranking (src/eval).
 */
import { ValidationError } from '../../errors.js';

export const summary = 'measure rerank quality on a BEIR folder (nDCG@10, MRR@10 of BM25 top-N or a run)';

const USAGE = [
  'usage: memvault eval rerank --dataset <BEIR dir> [--model <dir|hf-id>] [--bi-encoder <dir>]',
  '                            [--run <file>] [--candidates N] [--queries N] [--json]',
  '  --run <file>      candidates from a TREC run (qid Q0 docid rank score tag) or BEIR results',
  '                    JSON ({"qid": {"docid": score}}) instead of BM25; queries absent from it',
  '                    score 0. Ordered by score, ties by rank.',
  '  --candidates N    per-query cut of the first stage (default 100 for BM25, the whole run list)',
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
  if (sub !== 'rerank' || !dataset) {
    console.error(USAGE);
    return 2;
  }
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
