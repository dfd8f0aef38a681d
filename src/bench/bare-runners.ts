/**
 * The bare throughput side of the rerank suite: `workers` threads, each with its own ONNX session
 * of `threads` intra-op threads running the same pre-tokenized batch back to back — the pool's
 * shape (workers x threads) without its queue, tokenizer or message format. The gap between the
 * two is what the pool's machinery costs in pairs/s.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

import { siblingModule } from '../inference/module-url.js';
import type { PairBatch } from '../rerank/pair-encoder.js';
import type { BareRunWorkerData, FromBareRunWorker, ToBareRunWorker } from './bare-run-worker.js';

export class BareRunners {
  private constructor(private readonly workers: Worker[]) {}

  static async start(
    modelPath: string,
    workers: number,
    threads: number,
    batch: PairBatch,
  ): Promise<BareRunners> {
    const data: BareRunWorkerData = {
      modelPath,
      threads,
      dims: [batch.batch, batch.sequence],
      inputIds: batch.inputIds,
      attentionMask: batch.attentionMask,
      tokenTypeIds: batch.tokenTypeIds,
    };
    const started: Worker[] = [];
    try {
      for (let i = 0; i < workers; i++) {
        const worker = new Worker(siblingModule(import.meta.url, 'bare-run-worker'), {
          workerData: data,
          name: 'bench-bare-run',
        });
        started.push(worker);
        await reply(worker, 'ready');
      }
    } catch (thrown) {
      await new BareRunners(started).stop();
      throw thrown;
    }
    return new BareRunners(started);
  }

  /** Runs `batches` batches spread evenly over the workers, all at once; resolves with the wall ms. */
  async burst(batches: number): Promise<number> {
    const n = this.workers.length;
    const t0 = performance.now();
    await Promise.all(
      this.workers.map((worker, i) => {
        const runs = Math.floor(batches / n) + (i < batches % n ? 1 : 0);
        const done = reply(worker, 'done');
        worker.postMessage({ type: 'run', runs } satisfies ToBareRunWorker);
        return done;
      }),
    );
    return performance.now() - t0;
  }

  /** Asks each worker to free its session and leave (never terminate(): see bare-run-worker.ts). */
  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker) => {
        if (worker.threadId === -1) return; // already gone (a failed start)
        const exited = once(worker, 'exit');
        worker.postMessage({ type: 'shutdown' } satisfies ToBareRunWorker);
        await exited;
      }),
    );
  }
}

/** The worker's next message, which must be `expected`; an error message or an exit rejects. */
function reply(worker: Worker, expected: 'ready' | 'done'): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: FromBareRunWorker): void => {
      cleanup();
      if (message.type === expected) resolve();
      else
        reject(
          new Error(
            `bare-run worker: ${message.type === 'error' ? message.message : `unexpected ${message.type}`}`,
          ),
        );
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`bare-run worker exited (code ${code}) before '${expected}'`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
