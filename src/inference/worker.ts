/**
 * Worker-thread entry: imports the task module named in workerData, builds its task (one ONNX
 * session), then runs one batch per message. The pool sends a worker at most one batch at a time,
 * so there is no queue here.
 *
 * Leaving is always the worker's own act, at a point where no ONNX call is in flight: the pool
 * asks with 'shutdown' and never terminate()s a worker that might be inside session.run().
 * onnxruntime-node's run() is synchronous native code; a terminate() that lands during it makes
 * the binding throw a C++ Napi::Error into the terminating thread, which aborts the whole process
 * ("terminate called after throwing an instance of 'Napi::Error'", onnxruntime-node 1.30).
 */
import { parentPort, workerData } from 'node:worker_threads';

import { coerceError } from '../errors.js';
import type { CreateTask, InferenceTask, TaskOptions } from './task.js';

export interface WorkerData {
  taskUrl: string;
  options: TaskOptions;
}

export type ToWorker =
  /** `exitCode` is fault injection for tests: the worker dies on receipt, with the batch unrun. */
  | { type: 'run'; id: number; items: unknown[]; exitCode?: number }
  /** Finish the batch in hand, free the session, exit 0. */
  | { type: 'shutdown' };
export type FromWorker =
  | { type: 'ready'; info: InferenceTask<unknown, unknown>['info'] }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; outputs: unknown[] }
  | { type: 'error'; id: number; message: string };

const port = parentPort;
if (!port) throw new Error('inference worker must run in a worker thread');
const data = workerData as WorkerData;
const post = (message: FromWorker): void => port.postMessage(message);

let task: InferenceTask<unknown, unknown> | undefined;
try {
  const module = (await import(data.taskUrl)) as { createTask: CreateTask };
  task = await module.createTask(data.options);
  post({ type: 'ready', info: task.info });
} catch (thrown) {
  post({ type: 'init-error', message: coerceError(thrown).message });
  // Let the message flush, then exit non-zero so the pool sees a failed start.
  setImmediate(() => process.exit(1));
}

let inFlight: Promise<void> = Promise.resolve();

port.on('message', (message: ToWorker) => {
  if (message.type === 'shutdown') {
    void inFlight
      .then(() => task?.dispose())
      .catch(() => undefined)
      .finally(() => process.exit(0));
    return;
  }
  if (message.type !== 'run' || !task) return;
  if (message.exitCode !== undefined) process.exit(message.exitCode);
  inFlight = task.run(message.items).then(
    (outputs) => post({ type: 'result', id: message.id, outputs }),
    (thrown: unknown) => post({ type: 'error', id: message.id, message: coerceError(thrown).message }),
  );
});
