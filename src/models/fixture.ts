/**
 * `memvault models fixture <dir>`: a deterministic synthetic cross-encoder with exactly the
 * TinyBERT-L-2 architecture and I/O signature, plus the real bert-base-uncased tokenizer files.
 * Real MS MARCO weights cannot be downloaded here; this model lets tests and benchmarks exercise
 * the real serving path at the real compute cost. Its scores are noise: it says nothing about
 * ranking quality.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { MemvaultError } from '../errors.js';
import { writeDirAtomically } from './atomic-dir.js';
import { TINYBERT_L2 } from './bert-config.js';
import { buildBertCrossEncoder } from './bert-graph.js';
import { seededNormal } from './prng.js';
import { bundledModelDir, repoRoot } from './repo-paths.js';

export const FIXTURE_SEED = 20240611;
export const TOKENIZER_FOLDER = 'bert-base-uncased-tokenizer';
/** Copied verbatim; config.json is TinyBERT-L-2's own, so the folder describes the graph exactly. */
const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  'config.json',
];

const README = `# memvault synthetic cross-encoder fixture

Written by \`memvault models fixture\`. Architecture and ONNX signature of
cross-encoder/ms-marco-TinyBERT-L-2-v2 (BERT, 2 layers, hidden 128, 2 heads, intermediate 512,
vocab 30522; inputs input_ids / attention_mask / token_type_ids int64 [batch, sequence]; output
logits float32 [batch, 1]) with RANDOM weights (seed ${FIXTURE_SEED}, N(0, 0.02); classifier head N(0, 0.5) so scores spread).

It proves the serving path at the real compute cost. Its scores are noise: it does not rank.
The tokenizer files are the real bert-base-uncased WordPiece tokenizer.
`;

export interface FixtureOptions {
  tokenizerDir?: string;
  seed?: number;
}

export function findFixtureTokenizerDir(explicit?: string): string {
  const dir = explicit ?? bundledModelDir(TOKENIZER_FOLDER);
  if (!dir) {
    throw new MemvaultError(
      'fixture_tokenizer_missing',
      `the bert-base-uncased tokenizer folder was not found (bundled as models/${TOKENIZER_FOLDER}); ` +
        'pass --tokenizer <dir> with tokenizer.json, tokenizer_config.json, special_tokens_map.json, ' +
        'vocab.txt and config.json',
    );
  }
  return dir;
}

/** Fills `dir` (which must exist) with the fixture model files. */
export async function writeFixtureFiles(dir: string, options: FixtureOptions = {}): Promise<void> {
  const tokenizerDir = findFixtureTokenizerDir(options.tokenizerDir);
  for (const file of TOKENIZER_FILES) {
    await copyFile(path.join(tokenizerDir, file), path.join(dir, file)).catch((error: unknown) => {
      throw new MemvaultError('fixture_tokenizer_missing', `${file} is missing from ${tokenizerDir}`, {
        cause: error,
      });
    });
  }
  const bytes = buildBertCrossEncoder({
    config: TINYBERT_L2,
    rng: seededNormal(options.seed ?? FIXTURE_SEED),
  });
  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  await writeFile(path.join(dir, 'onnx', 'model.onnx'), bytes);
  await writeFile(path.join(dir, 'README.md'), README);
}

/** Where the tests and the benchmarks keep their one copy of the fixture. */
export const FIXTURE_MODEL_DIR = path.join(repoRoot(), '.memvault-test', 'models', 'fixture-tinybert-l2');

/**
 * The fixture at FIXTURE_MODEL_DIR, written on first use. Atomically (a temporary folder renamed
 * into place), because parallel test files and a bench run may all ask for it at once.
 */
export async function ensureFixtureModel(): Promise<string> {
  if (!existsSync(path.join(FIXTURE_MODEL_DIR, 'onnx', 'model.onnx'))) {
    await writeDirAtomically(FIXTURE_MODEL_DIR, (tmp) => writeFixtureFiles(tmp));
  }
  return FIXTURE_MODEL_DIR;
}
