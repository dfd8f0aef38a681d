/**
 * Errors of the inference pool. Each has a stable code so callers (the reranker's fail-open logic,
 * the daemon's HTTP mapping: overloaded -> 429) can branch without parsing messages.
 */
import { MemvaultError } from '../errors.js';

/** The bounded queue is full: back off and retry (HTTP 429). */
export class QueueFullError extends MemvaultError {
  constructor(pool: string, queued: number, limit: number) {
    super('inference_overloaded', `${pool}: queue full (${queued} items queued, limit ${limit})`);
  }
}

/** The request was cancelled or its deadline passed before it ran; it was dropped unrun. */
export class RequestAbortedError extends MemvaultError {
  constructor(pool: string, why: 'aborted' | 'deadline') {
    super(
      'inference_aborted',
      `${pool}: request ${why === 'deadline' ? 'deadline passed' : 'aborted'} before it ran`,
    );
  }
}

/** The worker running this request died; the pool replaces it, the request is not retried. */
export class WorkerCrashedError extends MemvaultError {
  constructor(pool: string, detail: string) {
    super('inference_worker_crashed', `${pool}: worker exited while running a batch (${detail})`);
  }
}

export class PoolClosedError extends MemvaultError {
  constructor(pool: string) {
    super('inference_closed', `${pool}: pool is closed`);
  }
}

/** The model could not be loaded in a worker (bad folder, bad signature, unreadable file). */
export class ModelLoadError extends MemvaultError {
  constructor(pool: string, detail: string) {
    super('model_load_failed', `${pool}: model failed to load: ${detail}`);
  }
}

/** A batch failed inside the worker (ONNX runtime error). The worker itself is still healthy. */
export class InferenceFailedError extends MemvaultError {
  constructor(pool: string, detail: string) {
    super('inference_failed', `${pool}: inference failed: ${detail}`);
  }
}
