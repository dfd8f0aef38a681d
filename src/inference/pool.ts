/**
 * A pool of inference workers behind one bounded, batching queue.
 *
 * - Each worker thread owns one ONNX session; `size x threads` must fit the cores (checked by the
 *   callers' config), so sessions never fight over CPUs.
 * - Requests are lists of items (e.g. query/passage pairs). Whole requests are packed into a batch
 *   of up to `batchSize` items; only a request larger than a batch is split. Packing whole
 *   requests keeps a request's latency to one batch when several callers arrive together.
 * - When a worker is idle the first request waits at most `maxWaitMs` for company; when all are
 *   busy, batches form naturally while waiting.
 * - The queue is bounded in items: beyond `queueMax`, `run()` throws QueueFullError at once
 *   (backpressure; the daemon maps it to 429). Aborted or expired requests are dropped before
 *   they run, never computed for nobody.
 * - A worker that exits is replaced; the requests of its batch fail fast (WorkerCrashedError).
 * - Workers are stopped by asking (see worker.ts for why terminate() is only a last resort).
 */
import { Worker } from 'node:worker_threads';

import { coerceError } from '../errors.js';
import { log } from '../log.js';
import {
  InferenceFailedError,
  ModelLoadError,
  PoolClosedError,
  QueueFullError,
  RequestAbortedError,
  WorkerCrashedError,
} from './errors.js';
import { siblingModule } from './module-url.js';
import type { Device, TaskInfo } from './task.js';
import type { FromWorker, ToWorker, WorkerData } from './worker.js';

export interface PoolOptions {
  name: string;
  /** URL of the task module (see task.ts); resolve it with siblingModule(). */
  taskUrl: URL;
  taskConfig: unknown;
  size: number;
  threads: number;
  device: Device;
  batchSize: number;
  maxWaitMs: number;
  queueMax: number;
  /** Called once per completed batch, for metrics. */
  onBatch?: (items: number, ms: number) => void;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** performance.now() time after which the request is dropped if it has not started. */
  deadline?: number;
}

export interface PoolStats {
  size: number;
  /** Worker threads started and not yet exited (loading or live). */
  workers: number;
  live: number;
  busy: number;
  peakBusy: number;
  queuedItems: number;
  restarts: number;
  batches: number;
}

interface Request<I, O> {
  items: I[];
  results: O[];
  dispatched: number;
  remaining: number;
  settled: boolean;
  deadline: number;
  resolve(results: O[]): void;
  reject(error: Error): void;
  cleanup(): void;
}

interface Part<I, O> {
  request: Request<I, O>;
  offset: number;
  count: number;
}

interface Slot<I, O> {
  worker: Worker;
  ready: boolean;
  initError?: string;
  batch?: { id: number; parts: Part<I, O>[]; started: number };
}

/** Startup failures in a row after which the pool stops respawning and reports itself failed. */
const MAX_CONSECUTIVE_START_FAILURES = 3;

/**
 * How long a worker asked to stop may take to finish its batch (or its model load) before it is
 * terminated anyway. A batch takes milliseconds; only a hung session gets here, and terminating
 * a thread inside ONNX Runtime may abort the process, which is then the lesser evil.
 */
const SHUTDOWN_GRACE_MS = 10_000;

export class InferencePool<I, O> {
  private readonly slots = new Set<Slot<I, O>>();
  private readonly queue: Request<I, O>[] = [];
  private queuedItems = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: Error | undefined;
  private startFailures = 0;
  private nextBatchId = 1;
  private peakBusy = 0;
  private restarts = 0;
  private batches = 0;
  private info: TaskInfo | undefined;
  private crashNextBatch: number | undefined;
  private readyWaiters: { resolve(info: TaskInfo): void; reject(error: Error): void }[] = [];

  constructor(private readonly options: PoolOptions) {}

  /** Spawns the workers; resolves with the task info once the first worker is ready. */
  start(): Promise<TaskInfo> {
    if (this.closed) return Promise.reject(new PoolClosedError(this.options.name));
    // A pool that gave up stays failed: respawning would only fail the same way again.
    if (this.failure) return Promise.reject(this.failure);
    if (this.slots.size === 0) for (let i = 0; i < this.options.size; i++) this.spawn();
    if (this.info) return Promise.resolve(this.info);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  run(items: I[], options: RunOptions = {}): Promise<O[]> {
    const { name, queueMax } = this.options;
    if (this.closed) return Promise.reject(new PoolClosedError(name));
    if (this.failure) return Promise.reject(this.failure);
    if (options.signal?.aborted) return Promise.reject(new RequestAbortedError(name, 'aborted'));
    if (items.length === 0) return Promise.resolve([]);
    if (this.queuedItems + items.length > queueMax) {
      return Promise.reject(new QueueFullError(name, this.queuedItems, queueMax));
    }
    return new Promise<O[]>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => this.drop(request, new RequestAbortedError(name, 'aborted'));
      const request: Request<I, O> = {
        items,
        results: new Array<O>(items.length),
        dispatched: 0,
        remaining: items.length,
        settled: false,
        deadline: options.deadline ?? Number.POSITIVE_INFINITY,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(request);
      this.queuedItems += items.length;
      this.schedule();
    });
  }

  stats(): PoolStats {
    let live = 0;
    for (const slot of this.slots) if (slot.ready) live++;
    return {
      size: this.options.size,
      workers: this.slots.size,
      live,
      busy: this.busyWorkers(),
      peakBusy: this.peakBusy,
      queuedItems: this.queuedItems,
      restarts: this.restarts,
      batches: this.batches,
    };
  }

  /**
   * Fault injection for tests: the worker that receives the next batch exits with `exitCode` on
   * receipt, as a crashed worker would, with the batch's requests in hand. (Killing it from
   * outside with terminate() would risk aborting the process; see worker.ts.)
   */
  crashNextBatchForTesting(exitCode = 70): void {
    this.crashNextBatch = exitCode;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const error = new PoolClosedError(this.options.name);
    for (const request of this.queue.splice(0)) this.settle(request, error);
    this.queuedItems = 0;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
    const slots = [...this.slots];
    this.slots.clear();
    for (const slot of slots) for (const part of slot.batch?.parts ?? []) this.settle(part.request, error);
    await Promise.all(slots.map((slot) => stopWorker(slot.worker, this.options.name)));
  }

  private spawn(): void {
    const { taskUrl, taskConfig, threads, device } = this.options;
    const workerData: WorkerData = {
      taskUrl: taskUrl.href,
      options: { threads, device, config: taskConfig },
    };
    const worker = new Worker(siblingModule(import.meta.url, 'worker'), {
      workerData,
      name: this.options.name,
    });
    const slot: Slot<I, O> = { worker, ready: false };
    // An idle pool must not keep the process alive; a busy one must (see dispatch/complete).
    worker.unref();
    this.slots.add(slot);
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', (error) =>
      log.warn({ pool: this.options.name, err: error.message }, 'inference worker error'),
    );
    worker.on('exit', (code) => this.onExit(slot, code));
  }

  private onMessage(slot: Slot<I, O>, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true;
        this.startFailures = 0;
        if (!this.info) {
          this.info = message.info;
          for (const waiter of this.readyWaiters.splice(0)) waiter.resolve(message.info);
        }
        this.schedule();
        return;
      case 'init-error':
        // The worker exits right after this message; onExit turns it into a start failure.
        slot.initError = message.message;
        return;
      case 'result':
      case 'error':
        this.complete(slot, message);
    }
  }

  private complete(slot: Slot<I, O>, message: Extract<FromWorker, { type: 'result' | 'error' }>): void {
    const batch = slot.batch;
    if (!batch || batch.id !== message.id) return;
    slot.batch = undefined;
    slot.worker.unref();
    this.batches++;
    const items = batch.parts.reduce((sum, part) => sum + part.count, 0);
    this.options.onBatch?.(items, performance.now() - batch.started);
    for (const part of batch.parts) {
      const request = part.request;
      if (request.settled) continue;
      if (message.type === 'error') {
        this.settle(request, new InferenceFailedError(this.options.name, message.message));
        continue;
      }
      for (let i = 0; i < part.count; i++) request.results[part.offset + i] = message.outputs[i] as O;
      message.outputs.splice(0, part.count);
      request.remaining -= part.count;
      if (request.remaining === 0) {
        request.settled = true;
        request.cleanup();
        request.resolve(request.results);
      }
    }
    this.schedule();
  }

  private onExit(slot: Slot<I, O>, code: number): void {
    if (!this.slots.delete(slot)) return; // closed: already accounted for
    const detail = `exit code ${code}`;
    for (const part of slot.batch?.parts ?? []) {
      this.settle(part.request, new WorkerCrashedError(this.options.name, detail));
    }
    if (!slot.ready) {
      this.failStart(
        new ModelLoadError(this.options.name, slot.initError ?? `worker exited during start (${detail})`),
      );
      if (this.failure) return;
    }
    log.warn({ pool: this.options.name, code }, 'inference worker exited; replacing it');
    this.restarts++;
    this.spawn();
  }

  private failStart(error: Error): void {
    this.startFailures++;
    if (this.startFailures < MAX_CONSECUTIVE_START_FAILURES && this.info) return;
    // A model that cannot load will not load on the next try either: stop, report, and let the
    // owner decide (the reranker fails open; the embedder surfaces the error).
    this.failure = error;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
    for (const request of this.queue.splice(0)) this.settle(request, error);
    this.queuedItems = 0;
    const slots = [...this.slots];
    this.slots.clear();
    for (const slot of slots) void stopWorker(slot.worker, this.options.name);
  }

  private schedule(): void {
    if (this.closed || this.queue.length === 0) return;
    if (this.queuedItems >= this.options.batchSize || this.options.maxWaitMs <= 0) {
      this.dispatch();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.dispatch();
    }, this.options.maxWaitMs);
  }

  private dispatch(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (const slot of this.slots) {
      if (!slot.ready || slot.batch) continue;
      const parts = this.takeBatch();
      if (parts.length === 0) break;
      const id = this.nextBatchId++;
      slot.batch = { id, parts, started: performance.now() };
      slot.worker.ref();
      const items: unknown[] = [];
      for (const part of parts)
        items.push(...part.request.items.slice(part.offset, part.offset + part.count));
      const message: ToWorker = { type: 'run', id, items, exitCode: this.crashNextBatch };
      this.crashNextBatch = undefined;
      slot.worker.postMessage(message);
    }
    this.peakBusy = Math.max(this.peakBusy, this.busyWorkers());
  }

  /** Counted on demand (size is a handful of slots) rather than kept in step with every path. */
  private busyWorkers(): number {
    let busy = 0;
    for (const slot of this.slots) if (slot.batch) busy++;
    return busy;
  }

  /** Whole requests first-fit in FIFO order; a request larger than a batch is split. */
  private takeBatch(): Part<I, O>[] {
    const { batchSize, name } = this.options;
    const parts: Part<I, O>[] = [];
    let taken = 0;
    const now = performance.now();
    while (this.queue.length > 0 && taken < batchSize) {
      const request = this.queue[0]!;
      if (request.deadline <= now) {
        this.drop(request, new RequestAbortedError(name, 'deadline'));
        continue;
      }
      const left = request.items.length - request.dispatched;
      if (taken > 0 && left > batchSize - taken) break;
      const count = Math.min(left, batchSize - taken);
      parts.push({ request, offset: request.dispatched, count });
      request.dispatched += count;
      this.queuedItems -= count;
      taken += count;
      if (request.dispatched === request.items.length) this.queue.shift();
    }
    return parts;
  }

  /** Removes a not-yet-dispatched request (abort, deadline) and rejects it. */
  private drop(request: Request<I, O>, error: Error): void {
    const index = this.queue.indexOf(request);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.queuedItems -= request.items.length - request.dispatched;
    }
    this.settle(request, error);
  }

  private settle(request: Request<I, O>, error: Error): void {
    if (request.settled) return;
    request.settled = true;
    request.cleanup();
    request.reject(coerceError(error));
  }
}

/** Asks a worker to leave and waits for it; terminates it only after SHUTDOWN_GRACE_MS. */
function stopWorker(worker: Worker, pool: string): Promise<void> {
  // threadId is -1 once the thread has exited; its 'exit' event has then already fired.
  if (worker.threadId < 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log.warn(
        { pool, graceMs: SHUTDOWN_GRACE_MS },
        'inference worker did not stop when asked; terminating it',
      );
      void worker.terminate().then(() => resolve());
    }, SHUTDOWN_GRACE_MS);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    const message: ToWorker = { type: 'shutdown' };
    worker.postMessage(message);
  });
}
