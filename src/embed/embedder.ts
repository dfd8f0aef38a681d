/**
 * Local sentence embeddings through the same worker pool as the reranker. `createEmbedder(dir)`
 * for an explicit folder; `getEmbedder()` for the process-wide one configured by
 * MEMVAULT_EMBED_MODEL (undefined when unset: the daemon then requires client embeddings).
 */
import os from 'node:os';

import { type Env, envEnum, envInt, envString } from '../env.js';
import { ValidationError } from '../errors.js';
import { chooseDevice, type DeviceRequest } from '../inference/device.js';
import { siblingModule } from '../inference/module-url.js';
import { InferencePool } from '../inference/pool.js';
import type { Device } from '../inference/task.js';
import { resolveModel } from '../models/resolve.js';
import type { EmbedTaskConfig } from './task.js';

export interface EmbedderOptions {
  device?: DeviceRequest;
  poolSize?: number;
  threads?: number;
  batchSize?: number;
  batchWaitMs?: number;
  queueMax?: number;
  maxTokens?: number;
}

export interface Embedder {
  readonly dimension: number;
  readonly device: Device;
  readonly loadMs: number;
  embed(texts: string[], options?: { signal?: AbortSignal }): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export async function createEmbedder(modelDir: string, options: EmbedderOptions = {}): Promise<Embedder> {
  const started = performance.now();
  const files = await resolveModel(modelDir, { variable: 'MEMVAULT_EMBED_MODEL' });
  const device = chooseDevice(options.device ?? 'auto');
  const poolSize = options.poolSize ?? 1;
  const taskConfig: EmbedTaskConfig = {
    modelPath: files.modelPath,
    tokenizerPath: files.tokenizerPath,
    tokenizerConfigPath: files.tokenizerConfigPath,
    // USE-lite drops positions >= 128 inside the graph; truncating first keeps the input small.
    maxTokens: options.maxTokens ?? 128,
  };
  const pool = new InferencePool<string, Float32Array>({
    name: 'embed',
    taskUrl: siblingModule(import.meta.url, 'task'),
    taskConfig,
    size: poolSize,
    threads: options.threads ?? Math.max(1, Math.floor(os.availableParallelism() / poolSize)),
    device: device.device,
    batchSize: options.batchSize ?? 32,
    maxWaitMs: options.batchWaitMs ?? 2,
    queueMax: options.queueMax ?? 4096,
  });
  const info = await pool.start().catch(async (error: unknown) => {
    await pool.close();
    throw error;
  });
  const dimension = Number(info.dimension);
  return {
    dimension,
    device: info.device,
    loadMs: performance.now() - started,
    embed(texts, runOptions = {}) {
      if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
        throw new ValidationError('texts', 'must be an array of strings');
      }
      return pool.run(texts, runOptions);
    },
    close: () => pool.close(),
  };
}

let shared: Promise<Embedder | undefined> | undefined;

/** The embedder of MEMVAULT_EMBED_MODEL, loaded on first call; undefined when not configured. */
export function getEmbedder(env: Env = process.env): Promise<Embedder | undefined> {
  shared ??= (async () => {
    const dir = envString(env, 'MEMVAULT_EMBED_MODEL');
    if (!dir) return undefined;
    return createEmbedder(dir, {
      device: envEnum(env, 'MEMVAULT_EMBED_DEVICE', ['auto', 'cpu', 'cuda'] as const, 'auto'),
      poolSize: envInt(env, 'MEMVAULT_EMBED_POOL_SIZE', 1, { min: 1, max: 64 }),
      threads: env.MEMVAULT_EMBED_THREADS ? envInt(env, 'MEMVAULT_EMBED_THREADS', 1, { min: 1 }) : undefined,
    });
  })();
  shared.catch(() => {
    shared = undefined; // let a later call retry (e.g. after the operator fixes the folder)
  });
  return shared;
}

export async function closeEmbedder(): Promise<void> {
  const current = shared;
  shared = undefined;
  await (await current?.catch(() => undefined))?.close();
}
