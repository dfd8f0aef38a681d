/** Timings of the query path's stages, for Prometheus (registered once, on the shared registry). */
import { Counter, Histogram } from 'prom-client';

import { registry } from '../metrics.js';

export type QueryStage =
  | 'embed'
  | 'filter'
  | 'search'
  | 'lexical'
  | 'rescore'
  | 'fuse'
  | 'open_text'
  | 'rerank'
  | 'open_metadata'
  | 'total';

const stageSeconds = new Histogram({
  name: 'memvault_query_stage_seconds',
  help: 'time spent in each stage of the query path',
  labelNames: ['stage'],
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

const queryResults = new Counter({
  name: 'memvault_query_reranked_total',
  help: 'queries answered, by whether the cross-encoder reordered them',
  labelNames: ['reranked'],
  registers: [registry],
});

export function observeStage(stage: QueryStage, ms: number): void {
  stageSeconds.observe({ stage }, ms / 1000);
}

export function countQuery(reranked: boolean): void {
  queryResults.inc({ reranked: String(reranked) });
}
