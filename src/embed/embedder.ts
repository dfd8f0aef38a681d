/**
 * Local sentence embeddings through the same worker pool as the reranker. `createEmbedder(dir)`
 * for an explicit folder; `getEmbedder()` for the process-wide one configured by
 * MEMVAULT_EMBED_MODEL (undefined when unset: the daemon then requires client embeddings).
 */
import os from 'node:os';

import type { Env } from '../env.js';
import { ValidationError } from '../errors.js';
import { chooseDevice, type DeviceRequest } from '../inference/device.js';
import { siblingModule } from '../inference/module-url.js';
import { InferencePool } from '../inference/pool.js';
import type { Device } from '../inference/task.js';
import { resolveModel } from '../models/resolve.js';
import { readEmbedSettings } from './settings.js';
import type { EmbedTaskConfig } from './task.js';

/** The MEMVAULT_EMBED_* settings (readEmbedSettings in ./settings.ts reads them from the environment). */
export interface EmbedderOptions {
  device?: DeviceRequest;
  poolSize?: number;
  /** Intra-op threads per worker; default: the cores shared out between the workers. */
  threads?: number | undefined;
}

export interface Embedder {
  readonly dimension: number;
  readonly device: Device;
  embed(texts: string[], options?: { signal?: AbortSignal }): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export async function createEmbedder(modelDir: string, options: EmbedderOptions = {}): Promise<Embedder> {
  const files = await resolveModel(modelDir, { variable: 'MEMVAULT_EMBED_MODEL' });
  const device = chooseDevice(options.device ?? 'auto');
  const poolSize = options.poolSize ?? 1;
  const taskConfig: EmbedTaskConfig = {
    modelPath: files.modelPath,
    tokenizerPath: files.tokenizerPath,
    tokenizerConfigPath: files.tokenizerConfigPath,
    // USE-lite drops positions >= 128 inside the graph; truncating first keeps the input small.
    maxTokens: 128,
  };
  const pool = new InferencePool<string, Float32Array>({
    name: 'embed',
    taskUrl: siblingModule(import.meta.url, 'task'),
    taskConfig,
    size: poolSize,
    threads: options.threads ?? Math.max(1, Math.floor(os.availableParallelism() / poolSize)),
    device: device.device,
    batchSize: 32,
    maxWaitMs: 2,
    queueMax: 4096,
  });
  const info = await pool.start().catch(async (error: unknown) => {
    await pool.close();
    throw error;
  });
  const dimension = Number(info.dimension);
  return {
    dimension,
    device: info.device,
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

/**
 * The embedder of MEMVAULT_EMBED_MODEL, loaded on first call; undefined when not configured. The
 * variables are read by the daemon's own parser (readEmbedSettings), so both apply the same rules.
 */
export function getEmbedder(env: Env = process.env): Promise<Embedder | undefined> {
  shared ??= (async () => {
    const settings = readEmbedSettings(env);
    return settings ? createEmbedder(settings.model, settings) : undefined;
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
