/**
 * Reranker configuration, read once from the environment (at first use). Every variable is
 * documented in docs/RERANK.md.
 */
import os from 'node:os';

import { type Env, envBool, envEnum, envInt, envString } from '../env.js';
import { ConfigError } from '../errors.js';
import type { DeviceRequest } from '../inference/device.js';

export const DEFAULT_RERANK_MODEL = 'cross-encoder/ms-marco-TinyBERT-L-2-v2';

export interface RerankConfig {
  model: string;
  /**
   * Whether RERANK_MODEL was set (rather than defaulted). Only then does the daemon load the
   * model at start-up: the default is a Hugging Face id, and start-up downloads nothing unasked.
   */
  modelConfigured: boolean;
  quantized: boolean;
  enabled: boolean;
  circuitMs: number;
  rolloutPercent: number;
  device: DeviceRequest;
  batchSize: number;
  batchWaitMs: number;
  maxTokens: number;
  poolSize: number;
  threads: number;
  queueMax: number;
  maxCandidates: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  cacheDir?: string;
}

export function readRerankConfig(env: Env = process.env): RerankConfig {
  const cores = os.availableParallelism();
  // Measured on 2 cores (docs/RERANK.md): one worker with all cores gives the lowest single-caller
  // latency; two single-threaded workers give a little more throughput under load.
  const poolSize = envInt(env, 'RERANK_POOL_SIZE', 1, { min: 1, max: 64 });
  const threads = envInt(env, 'RERANK_THREADS', Math.max(1, Math.floor(cores / poolSize)), {
    min: 1,
    max: 256,
  });
  const device = envEnum(env, 'RERANK_DEVICE', ['auto', 'cpu', 'cuda'] as const, 'auto');
  if (device !== 'cuda' && poolSize * threads > cores) {
    throw new ConfigError('RERANK_THREADS', `RERANK_POOL_SIZE x RERANK_THREADS must be <= ${cores} cores`);
  }
  const batchSize = envInt(env, 'RERANK_BATCH_SIZE', 32, { min: 1, max: 1024 });
  return {
    model: envString(env, 'RERANK_MODEL', DEFAULT_RERANK_MODEL),
    modelConfigured: envString(env, 'RERANK_MODEL') !== undefined,
    quantized: envBool(env, 'RERANK_QUANTIZED', false),
    enabled: envBool(env, 'RERANK_ENABLED', true),
    circuitMs: envInt(env, 'RERANK_CIRCUIT_MS', 250, { min: 1, max: 60_000 }),
    rolloutPercent: envInt(env, 'RERANK_ROLLOUT_PERCENT', 100, { min: 0, max: 100 }),
    device,
    batchSize,
    batchWaitMs: envInt(env, 'RERANK_BATCH_WAIT_MS', 2, { min: 0, max: 100 }),
    maxTokens: envInt(env, 'RERANK_MAX_TOKENS', 256, { min: 8, max: 8192 }),
    poolSize,
    threads,
    queueMax: envInt(env, 'RERANK_QUEUE_MAX', 1024, { min: 1 }),
    maxCandidates: envInt(env, 'RERANK_MAX_CANDIDATES', 512, { min: 1 }),
    breakerFailures: envInt(env, 'RERANK_BREAKER_FAILURES', 5, { min: 1 }),
    breakerCooldownMs: envInt(env, 'RERANK_BREAKER_COOLDOWN_MS', 5_000, { min: 1 }),
    cacheDir: envString(env, 'MEMVAULT_MODEL_CACHE'),
  };
}
