/**
 * Finds the files of a Hugging Face-style model folder and checks they are all there before any
 * worker starts, so a wrong RERANK_MODEL fails with a list of what is missing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { MemvaultError } from '../errors.js';

export interface ModelFiles {
  dir: string;
  modelPath: string;
  tokenizerPath: string;
  /** Optional: without it a tokenizer falls back to tokenizer.json's own settings. */
  tokenizerConfigPath?: string;
  /** Optional for sentence encoders; required for cross-encoders (checked by the reranker). */
  configPath?: string;
  quantized: boolean;
}

export class ModelFilesError extends MemvaultError {
  constructor(message: string) {
    super('model_files_invalid', message);
  }
}

/** ONNX file names in the order they are looked for (onnx/ first, as transformers.js exports). */
export function onnxCandidates(quantized: boolean): string[] {
  const file = quantized ? 'model_quantized.onnx' : 'model.onnx';
  return [path.join('onnx', file), file];
}

export function locateModelFiles(dir: string, options: { quantized?: boolean } = {}): ModelFiles {
  const quantized = options.quantized ?? false;
  const at = (file: string): string | undefined =>
    existsSync(path.join(dir, file)) ? path.join(dir, file) : undefined;
  if (!existsSync(dir)) throw new ModelFilesError(`model folder ${dir} does not exist`);
  const modelPath = onnxCandidates(quantized)
    .map(at)
    .find((p) => p !== undefined);
  const tokenizerPath = at('tokenizer.json');
  const missing = [
    modelPath ? undefined : onnxCandidates(quantized).join(' or '),
    tokenizerPath ? undefined : 'tokenizer.json',
  ].filter((m): m is string => m !== undefined);
  if (missing.length > 0 || !modelPath || !tokenizerPath) {
    throw new ModelFilesError(`model folder ${dir} lacks ${missing.join(', ')}`);
  }
  return {
    dir,
    modelPath,
    tokenizerPath,
    tokenizerConfigPath: at('tokenizer_config.json'),
    configPath: at('config.json'),
    quantized,
  };
}
