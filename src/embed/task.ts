/**
 * Worker-side sentence encoder for USE-lite-style ONNX models: raw tokenizer ids (no special
 * tokens), truncated to maxTokens, an empty text encoded as [0] (the graph infers the batch size
 * from the last non-empty row, so an all-padding row would shrink the output), output
 * `embeddings` [batch, dim] already L2-normalised.
 */
import { createSession, ort } from '../inference/session.js';
import type { InferenceTask, TaskOptions } from '../inference/task.js';
import { loadTokenizer } from '../models/tokenizer.js';

export interface EmbedTaskConfig {
  modelPath: string;
  tokenizerPath: string;
  tokenizerConfigPath?: string;
  maxTokens: number;
}

export async function createTask(
  options: TaskOptions<EmbedTaskConfig>,
): Promise<InferenceTask<string, Float32Array>> {
  const started = performance.now();
  const { config } = options;
  const tokenizer = await loadTokenizer(config.tokenizerPath, config.tokenizerConfigPath);
  const { session, device, deviceReason } = await createSession(config.modelPath, options);
  const inputs = session.inputMetadata.map((m) => m.name);
  const output = session.outputMetadata.find((m) => m.name === 'embeddings') ?? session.outputMetadata[0];
  if (!inputs.includes('input_ids') || !inputs.includes('attention_mask') || !output) {
    throw new Error(
      `not a sentence encoder: inputs ${inputs.join(', ')}; expected input_ids, attention_mask and an embeddings output`,
    );
  }

  const run = async (texts: string[]): Promise<Float32Array[]> => {
    const rows = texts.map((text): number[] => {
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids.slice(0, config.maxTokens);
      return ids.length > 0 ? ids : [0];
    });
    const sequence = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(rows.length * sequence);
    const mask = new BigInt64Array(rows.length * sequence);
    rows.forEach((row, i) =>
      row.forEach((id, j) => {
        ids[i * sequence + j] = BigInt(id);
        mask[i * sequence + j] = 1n;
      }),
    );
    const dims = [rows.length, sequence];
    const result = (
      await session.run({
        input_ids: new ort.Tensor('int64', ids, dims),
        attention_mask: new ort.Tensor('int64', mask, dims),
      })
    )[output.name];
    if (!result) throw new Error(`session returned no ${output.name}`);
    const data = result.data as Float32Array;
    const dim = data.length / rows.length;
    return rows.map((_, i) => data.slice(i * dim, (i + 1) * dim));
  };
  const probe = await run(['warm up']);
  return {
    info: { device, deviceReason, loadMs: performance.now() - started, dimension: probe[0]?.length ?? 0 },
    run,
    dispose: () => session.release(),
  };
}
