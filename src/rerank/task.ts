/**
 * Worker-side cross-encoder: tokenizes the batch's pairs and runs the session. Tokenization runs
 * here, not on the main thread: it costs ~2 us per token (~4 ms for 24 passages of 100 tokens),
 * which on the main thread would delay the daemon's HTTP handling and the very timers that
 * enforce the rerank budget; with several workers it also overlaps another batch's inference.
 */
import { createSession, ort } from '../inference/session.js';
import type { InferenceTask, TaskOptions } from '../inference/task.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { BertPairEncoder, type Pair } from './pair-encoder.js';
import { checkCrossEncoderSignature } from './signature.js';

export interface CrossEncoderTaskConfig {
  modelPath: string;
  tokenizerPath: string;
  tokenizerConfigPath?: string;
  maxTokens: number;
}

export async function createTask(
  options: TaskOptions<CrossEncoderTaskConfig>,
): Promise<InferenceTask<Pair, number>> {
  const started = performance.now();
  const { config } = options;
  const encoder = new BertPairEncoder(
    await loadTokenizer(config.tokenizerPath, config.tokenizerConfigPath),
    config.maxTokens,
  );
  const { session, device, deviceReason } = await createSession(config.modelPath, options);
  const signature = checkCrossEncoderSignature(session);
  const wantsTypes = signature.inputs.includes('token_type_ids');

  const run = async (pairs: Pair[]): Promise<number[]> => {
    const batch = encoder.encode(pairs);
    const dims = [batch.batch, batch.sequence];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', batch.inputIds, dims),
      attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
    };
    if (wantsTypes) feeds.token_type_ids = new ort.Tensor('int64', batch.tokenTypeIds, dims);
    const output = (await session.run(feeds))[signature.output];
    if (!output) throw new Error(`session returned no ${signature.output}`);
    return Array.from(output.data as Float32Array);
  };
  // One warm-up run so the first real request does not pay for allocator and kernel set-up.
  await run([{ query: 'warm up', passage: 'warm up' }]);
  return {
    info: {
      device,
      deviceReason,
      loadMs: performance.now() - started,
      threads: options.threads,
      inputs: signature.inputs,
    },
    run,
    dispose: () => session.release(),
  };
}
