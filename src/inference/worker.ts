/**
 * Worker-thread entry: imports the task module named in workerData, builds its task (one ONNX
 * session), then runs one batch per message. The pool sends a worker at most one batch at a time,
 * so there is no queue here.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { coerceError } from '../errors.js';
import type { CreateTask, InferenceTask, TaskOptions } from './task.js';

export interface WorkerData {
  taskUrl: string;
  options: TaskOptions;
}

export type ToWorker = { type: 'run'; id: number; items: unknown[] };
export type FromWorker =
  | { type: 'ready'; info: InferenceTask<unknown, unknown>['info'] }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; outputs: unknown[] }
  | { type: 'error'; id: number; message: string };

const port = parentPort;
if (!port) throw new Error('inference worker must run in a worker thread');
const data = workerData as WorkerData;
const post = (message: FromWorker): void => port.postMessage(message);

let task: InferenceTask<unknown, unknown>;
try {
  const module = (await import(data.taskUrl)) as { createTask: CreateTask };
  task = await module.createTask(data.options);
  post({ type: 'ready', info: task.info });
} catch (thrown) {
  post({ type: 'init-error', message: coerceError(thrown).message });
  // Let the message flush, then exit non-zero so the pool sees a failed start.
  setImmediate(() => process.exit(1));
}

port.on('message', (message: ToWorker) => {
  if (message.type !== 'run') return;
  task.run(message.items).then(
    (outputs) => post({ type: 'result', id: message.id, outputs }),
    (thrown: unknown) => post({ type: 'error', id: message.id, message: coerceError(thrown).message }),
  );
});
