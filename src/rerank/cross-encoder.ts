/**
 * A loaded cross-encoder: model folder resolution, a worker pool running ./task, and the load
 * state that readiness probes report. Scores are raw logits; ranking and the sigmoid live in
 * input.ts, budgets and fail-open in reranker.ts.
 */
import { readFile } from 'node:fs/promises';

import { coerceError } from '../errors.js';
import { chooseDevice } from '../inference/device.js';
import { ModelLoadError, PoolClosedError } from '../inference/errors.js';
import { siblingModule } from '../inference/module-url.js';
import { InferencePool, type PoolStats, type RunOptions } from '../inference/pool.js';
import type { Device } from '../inference/task.js';
import { log } from '../log.js';
import { bertConfigFromJson } from '../models/bert-config.js';
import { type ModelFiles, ModelFilesError } from '../models/model-files.js';
import { resolveModel } from '../models/resolve.js';
import type { RerankConfig } from './config.js';
import type { Pair } from './pair-encoder.js';
import { rerankStats } from './stats.js';
import type { CrossEncoderTaskConfig } from './task.js';

export type LoadState = 'unloaded' | 'loading' | 'ready' | 'failed';

export interface CrossEncoderInfo {
  state: LoadState;
  model: string;
  dir?: string;
  device?: Device;
  deviceReason?: string;
  loadMs?: number;
  poolSize: number;
  threads: number;
  error?: string;
}

export class CrossEncoder {
  private pool: InferencePool<Pair, number> | undefined;
  private loading: Promise<CrossEncoderInfo> | undefined;
  private info: CrossEncoderInfo;
  private closed = false;

  constructor(readonly config: RerankConfig) {
    this.info = {
      state: 'unloaded',
      model: config.model,
      poolSize: config.poolSize,
      threads: config.threads,
    };
  }

  get state(): CrossEncoderInfo {
    return { ...this.info };
  }

  /** Loads once; concurrent callers share the same promise. A failed load is not retried. */
  load(): Promise<CrossEncoderInfo> {
    this.loading ??= this.doLoad();
    return this.loading;
  }

  async score(pairs: Pair[], options: RunOptions = {}): Promise<number[]> {
    await this.load();
    // load() resolves only with a pool in place; this narrows the type, and should it ever be
    // reached it is a 503 model_unavailable rather than a 500.
    if (!this.pool) throw new ModelLoadError('rerank', 'the cross-encoder is not loaded');
    return this.pool.run(pairs, options);
  }

  poolStats(): PoolStats | undefined {
    return this.pool?.stats();
  }

  /** For fault-injection tests only. */
  poolForTesting(): InferencePool<Pair, number> | undefined {
    return this.pool;
  }

  /**
   * Stops the workers. Safe during a load (the daemon starts one in the background at start-up):
   * a load still resolving its files never creates its pool, and a pool still starting is closed.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.close();
    rerankStats.loaded(undefined);
  }

  private async doLoad(): Promise<CrossEncoderInfo> {
    const started = performance.now();
    const { config } = this;
    this.info = { ...this.info, state: 'loading' };
    try {
      const files = await resolveModel(config.model, {
        quantized: config.quantized,
        cacheDir: config.cacheDir,
        variable: 'RERANK_MODEL',
      });
      await checkModelConfig(files, config.maxTokens);
      if (this.closed) throw new PoolClosedError('rerank');
      const device = chooseDevice(config.device);
      const taskConfig: CrossEncoderTaskConfig = {
        modelPath: files.modelPath,
        tokenizerPath: files.tokenizerPath,
        tokenizerConfigPath: files.tokenizerConfigPath,
        maxTokens: config.maxTokens,
      };
      this.pool = new InferencePool<Pair, number>({
        name: 'rerank',
        taskUrl: siblingModule(import.meta.url, 'task'),
        taskConfig,
        size: device.device === 'cuda' ? 1 : config.poolSize,
        threads: config.threads,
        device: device.device,
        batchSize: config.batchSize,
        maxWaitMs: config.batchWaitMs,
        queueMax: config.queueMax,
        onBatch: (pairs, ms) => rerankStats.batch(pairs, ms),
      });
      const task = await this.pool.start();
      const loadMs = performance.now() - started;
      const deviceReason = task.deviceReason ?? device.reason;
      this.info = { ...this.info, state: 'ready', dir: files.dir, device: task.device, deviceReason, loadMs };
      rerankStats.loaded(loadMs);
      log.info(
        { model: config.model, device: task.device, deviceReason, loadMs: Math.round(loadMs) },
        'reranker loaded',
      );
      return this.state;
    } catch (thrown) {
      const error = coerceError(thrown);
      this.info = { ...this.info, state: 'failed', error: error.message };
      await this.pool?.close();
      this.pool = undefined;
      if (this.closed) log.info({ model: config.model }, 'reranker load cancelled by shutdown');
      else log.error({ model: config.model, err: error.message }, 'reranker failed to load');
      throw error;
    }
  }
}

/** A cross-encoder needs config.json: one label, and a window that fits RERANK_MAX_TOKENS. */
async function checkModelConfig(files: ModelFiles, maxTokens: number): Promise<void> {
  if (!files.configPath) throw new ModelFilesError(`model folder ${files.dir} lacks config.json`);
  const config = bertConfigFromJson(
    JSON.parse(await readFile(files.configPath, 'utf8')) as Record<string, unknown>,
  );
  if (config.numLabels !== 1)
    throw new ModelFilesError(`config.json has ${config.numLabels} labels; a cross-encoder has 1`);
  if (maxTokens > config.maxPositionEmbeddings) {
    throw new ModelFilesError(
      `RERANK_MAX_TOKENS ${maxTokens} exceeds the model's max_position_embeddings ${config.maxPositionEmbeddings}`,
    );
  }
}
