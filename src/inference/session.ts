/**
 * Creates one ONNX session inside a worker. CUDA is tried first when asked for and replaced by the
 * CPU provider on failure, so a missing GPU library degrades throughput instead of availability.
 */
import * as ort from 'onnxruntime-node';

import { coerceError } from '../errors.js';
import type { Device } from './task.js';

export interface CreatedSession {
  session: ort.InferenceSession;
  device: Device;
  deviceReason?: string;
}

export async function createSession(
  modelPath: string,
  opts: { threads: number; device: Device },
): Promise<CreatedSession> {
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads,
    // One graph, sequential execution: inter-op threads would only oversubscribe the cores.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  if (opts.device === 'cuda') {
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        ...base,
        executionProviders: ['cuda', 'cpu'],
      });
      return { session, device: 'cuda' };
    } catch (thrown) {
      const reason = `CUDA execution provider unavailable (${coerceError(thrown).message.split('\n')[0]}); using CPU`;
      const session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cpu'] });
      return { session, device: 'cpu', deviceReason: reason };
    }
  }
  const session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cpu'] });
  return { session, device: 'cpu' };
}

export { ort };
