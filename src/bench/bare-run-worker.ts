/**
 * Worker-thread entry for the rerank suite's bare throughput side: one ONNX session, one
 * pre-tokenized batch, and nothing else — no pool, no queue, no tokenizer. Each 'run' message
 * runs the batch back to back `runs` times and answers when done, so the suite can time several
 * such workers together against the pool with the same workers x threads.
 *
 * Like the pool's worker, it leaves by its own act between runs (see src/inference/worker.ts:
 * a terminate() during session.run() aborts the process).
 */
import { parentPort, workerData } from 'node:worker_threads';

import { createSession, ort } from '../inference/session.js';

export interface BareRunWorkerData {
  modelPath: string;
  threads: number;
  dims: [number, number];
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
}

export type ToBareRunWorker = { type: 'run'; runs: number } | { type: 'shutdown' };
export type FromBareRunWorker =
  { type: 'ready' } | { type: 'done'; runs: number } | { type: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('the bare-run worker must run in a worker thread');
const data = workerData as BareRunWorkerData;
const post = (message: FromBareRunWorker): void => port.postMessage(message);

// The very function the reranker's workers open their sessions with (as does the suite's
// in-thread bare session), so the bare side cannot drift from the serving options.
const { session } = await createSession(data.modelPath, { threads: data.threads, device: 'cpu' });
const feeds = {
  input_ids: new ort.Tensor('int64', data.inputIds, data.dims),
  attention_mask: new ort.Tensor('int64', data.attentionMask, data.dims),
  token_type_ids: new ort.Tensor('int64', data.tokenTypeIds, data.dims),
};
await session.run(feeds);
post({ type: 'ready' });

port.on('message', (message: ToBareRunWorker) => {
  void (async () => {
    if (message.type === 'shutdown') {
      await session.release();
      process.exit(0);
    }
    try {
      for (let i = 0; i < message.runs; i++) await session.run(feeds);
      post({ type: 'done', runs: message.runs });
    } catch (thrown) {
      post({ type: 'error', message: thrown instanceof Error ? thrown.message : String(thrown) });
    }
  })();
});
