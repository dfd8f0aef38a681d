/**
 * Checks that an ONNX session looks like a BERT cross-encoder before it serves: int64
 * input_ids/attention_mask (token_type_ids optional, int64 when present, as some exports omit
 * it), nothing else required, and one float32 output with one logit per pair.
 */
import type { InferenceSession } from 'onnxruntime-node';

export interface CrossEncoderSignature {
  inputs: string[];
  output: string;
}

export function checkCrossEncoderSignature(session: InferenceSession): CrossEncoderSignature {
  const problems: string[] = [];
  const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
  for (const name of ['input_ids', 'attention_mask'])
    if (!inputs.has(name)) problems.push(`missing input ${name}`);
  for (const [name, meta] of inputs) {
    if (!['input_ids', 'attention_mask', 'token_type_ids'].includes(name))
      problems.push(`unexpected input ${name}`);
    else if (!meta.isTensor || meta.type !== 'int64') problems.push(`input ${name} must be an int64 tensor`);
  }
  const outputs = session.outputMetadata;
  const logits = outputs.find((m) => m.name === 'logits') ?? (outputs.length === 1 ? outputs[0] : undefined);
  if (!logits)
    problems.push(
      `expected one output (or one named logits), found ${outputs.map((m) => m.name).join(', ')}`,
    );
  else if (!logits.isTensor || logits.type !== 'float32')
    problems.push(`output ${logits.name} must be a float32 tensor`);
  else {
    const last = logits.shape[logits.shape.length - 1];
    if (logits.shape.length !== 2 || (typeof last === 'number' && last !== 1)) {
      problems.push(
        `output ${logits.name} must be [batch, 1] (one logit per pair), got [${logits.shape.join(', ')}]`,
      );
    }
  }
  if (problems.length > 0 || !logits) throw new Error(`not a BERT cross-encoder: ${problems.join('; ')}`);
  return { inputs: [...inputs.keys()], output: logits.name };
}
