/**
 * The contract between the generic pool and the model-specific code that runs inside a worker.
 * A task module exports `createTask(options)`; the worker imports it by URL, so the pool knows
 * nothing about tokenizers or tensors, and a reranker and an embedder share all the machinery.
 */
export type Device = 'cpu' | 'cuda';

export interface TaskOptions<C = unknown> {
  /** Intra-op threads for this worker's ONNX session. */
  threads: number;
  device: Device;
  config: C;
}

export interface TaskInfo {
  /** The device the session actually runs on (CUDA falls back to CPU when the EP is missing). */
  device: Device;
  deviceReason?: string;
  loadMs: number;
  [key: string]: unknown;
}

export interface InferenceTask<I, O> {
  info: TaskInfo;
  run(items: I[]): Promise<O[]>;
  /** Frees the native session before the worker exits. */
  dispose(): Promise<void>;
}

export type CreateTask<I = unknown, O = unknown, C = unknown> = (
  options: TaskOptions<C>,
) => Promise<InferenceTask<I, O>>;
