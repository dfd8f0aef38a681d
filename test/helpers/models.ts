/**
 * One synthetic cross-encoder for all test files: written once into <repo>/.memvault-test/models,
 * atomically (tmp dir + rename) because tap runs test files in parallel processes.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { writeDirAtomically } from '../../src/models/atomic-dir.js';
import { writeFixtureFiles } from '../../src/models/fixture.js';
import { repoRoot, sharedModelDir } from '../../src/models/repo-paths.js';

export const FIXTURE_DIR = path.join(repoRoot(), '.memvault-test', 'models', 'fixture-tinybert-l2');

export async function ensureFixtureModel(): Promise<string> {
  if (!existsSync(path.join(FIXTURE_DIR, 'onnx', 'model.onnx'))) {
    await writeDirAtomically(FIXTURE_DIR, (tmp) => writeFixtureFiles(tmp));
  }
  return FIXTURE_DIR;
}

/** The real USE-lite sentence encoder from the shared folder, or undefined when it is absent. */
export function useLiteDir(): string | undefined {
  return sharedModelDir('universal-sentence-encoder-lite');
}

/** Environment for a reranker under test: the fixture, CPU, everything else at defaults. */
export function rerankEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { RERANK_MODEL: dir, RERANK_DEVICE: 'cpu', RERANK_ENABLED: 'true', ...extra };
}

/** Sets env variables for the duration of a test file (restored by the returned function). */
export function withEnv(vars: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
