/**
 * Reranker metrics: Prometheus series on the shared registry plus in-process counters for
 * getRerankMetrics(). Registered once at import (the registry rejects duplicates).
 */
import { Counter, Gauge, Histogram } from 'prom-client';

import { LatencyWindow } from '../inference/latency-window.js';
import { registry } from '../metrics.js';
import type { BreakerState } from './breaker.js';

export type SkipReason =
  'disabled' | 'rollout' | 'timeout' | 'breaker_open' | 'error' | 'overloaded' | 'loading';

const calls = new Counter({
  name: 'memvault_rerank_calls_total',
  help: 'rerank calls by outcome',
  labelNames: ['outcome'],
  registers: [registry],
});
const skips = new Counter({
  name: 'memvault_rerank_skips_total',
  help: 'rerank calls answered in ANN order, by reason',
  labelNames: ['reason'],
  registers: [registry],
});
const errors = new Counter({
  name: 'memvault_rerank_errors_total',
  help: 'rerank model or worker faults',
  registers: [registry],
});
const latency = new Histogram({
  name: 'memvault_rerank_latency_seconds',
  help: 'rerank() latency as seen by the caller, including skips',
  buckets: [0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1],
  registers: [registry],
});
const batchSizes = new Histogram({
  name: 'memvault_rerank_batch_pairs',
  help: 'pairs per inference batch',
  buckets: [1, 2, 4, 8, 16, 24, 32, 48, 64, 128],
  registers: [registry],
});
const batchSeconds = new Histogram({
  name: 'memvault_rerank_batch_seconds',
  help: 'worker time per batch (tokenize + session.run + messaging)',
  buckets: [0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5],
  registers: [registry],
});
const breakerGauge = new Gauge({
  name: 'memvault_rerank_breaker_state',
  help: '0 closed, 1 half-open, 2 open',
  registers: [registry],
});
const loadSeconds = new Gauge({
  name: 'memvault_rerank_model_load_seconds',
  help: 'time to load the reranker model (last load)',
  registers: [registry],
});
const ready = new Gauge({
  name: 'memvault_rerank_ready',
  help: '1 when the reranker model is loaded',
  registers: [registry],
});

const local = {
  calls: 0,
  reranked: 0,
  skips: 0,
  skipsByReason: {} as Partial<Record<SkipReason, number>>,
  errors: 0,
  batches: 0,
  batchPairs: 0,
  maxBatch: 0,
};
const window = new LatencyWindow();
let breaker: BreakerState = 'closed';

export const rerankStats = {
  reranked(ms: number): void {
    local.calls++;
    local.reranked++;
    calls.inc({ outcome: 'reranked' });
    window.add(ms);
    latency.observe(ms / 1000);
  },
  skipped(reason: SkipReason, ms: number): void {
    local.calls++;
    local.skips++;
    local.skipsByReason[reason] = (local.skipsByReason[reason] ?? 0) + 1;
    calls.inc({ outcome: 'skipped' });
    skips.inc({ reason });
    window.add(ms);
    latency.observe(ms / 1000);
  },
  error(): void {
    local.errors++;
    errors.inc();
  },
  batch(pairs: number, ms: number): void {
    local.batches++;
    local.batchPairs += pairs;
    local.maxBatch = Math.max(local.maxBatch, pairs);
    batchSizes.observe(pairs);
    batchSeconds.observe(ms / 1000);
  },
  breaker(state: BreakerState): void {
    breaker = state;
    breakerGauge.set(state === 'closed' ? 0 : state === 'half-open' ? 1 : 2);
  },
  loaded(ms: number | undefined): void {
    ready.set(ms === undefined ? 0 : 1);
    if (ms !== undefined) loadSeconds.set(ms / 1000);
  },
};

export interface RerankMetrics {
  calls: number;
  reranked: number;
  skips: number;
  skipsByReason: Partial<Record<SkipReason, number>>;
  errors: number;
  batches: number;
  meanBatchPairs: number;
  maxBatchPairs: number;
  latencyMs: { p50: number; p95: number; p99: number; samples: number };
  breaker: BreakerState;
}

export function getRerankMetrics(): RerankMetrics {
  return {
    calls: local.calls,
    reranked: local.reranked,
    skips: local.skips,
    skipsByReason: { ...local.skipsByReason },
    errors: local.errors,
    batches: local.batches,
    meanBatchPairs: local.batches === 0 ? 0 : local.batchPairs / local.batches,
    maxBatchPairs: local.maxBatch,
    latencyMs: window.percentiles(),
    breaker,
  };
}

/** Zeroes the in-process counters (tests, benchmarks); Prometheus counters stay monotonic. */
export function resetRerankMetrics(): void {
  Object.assign(local, {
    calls: 0,
    reranked: 0,
    skips: 0,
    skipsByReason: {},
    errors: 0,
    batches: 0,
    batchPairs: 0,
    maxBatch: 0,
  });
  window.reset();
}
