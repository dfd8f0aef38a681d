/**
 * `memvault eval rerank --dataset <BEIR dir> [--model <cross-encoder>] [--bi-encoder <dir>]
 *  [--candidates 100] [--queries N] [--json]`: BM25 top-N before/after reranking (src/eval).
 */
import { ValidationError } from '../../errors.js';

export const summary = 'measure rerank quality on a BEIR folder (nDCG@10, MRR@10 of BM25 top-N)';

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
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
    console.error(
      'usage: memvault eval rerank --dataset <BEIR dir> [--model <dir|hf-id>] [--bi-encoder <dir>] [--candidates 100] [--queries N] [--json]',
    );
    return 2;
  }
  const { evalRerank, formatEvalReport } = await import('../../eval/index.js');
  const report = await evalRerank({
    dataset,
    model: option(args, '--model'),
    biEncoder: option(args, '--bi-encoder'),
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
