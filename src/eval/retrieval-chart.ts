/** The plot of an `eval retrieval` report: nDCG@10, MRR@10 and recall@100 per system, as bars. */
import path from 'node:path';

import { renderBarChart } from '../bench/plots.js';
import type { RetrievalReport } from './retrieval-eval.js';

export function retrievalChart(report: RetrievalReport, subtitle?: string): string {
  const rows = report.rows.filter((r) => r.supported);
  const name = path.basename(path.resolve(report.dataset));
  return renderBarChart({
    title: `${name}: ${report.queries} queries, ${report.docs.toLocaleString('en-US')} docs, through /v1/query (rerank ${report.rerank ? 'on' : 'off'})`,
    subtitle:
      subtitle ??
      `${report.command ?? 'memvault eval retrieval'}, ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    yLabel: 'score (higher is better)',
    groups: ['nDCG@10', 'MRR@10', `recall@${report.k}`],
    series: rows.map((r) => ({ label: r.system, values: [r.ndcg10, r.mrr10, r.recall100] })),
    yMax: 1,
  });
}
