/**
 * Models for tests: the one synthetic cross-encoder (src/models/fixture.ts writes it once,
 * atomically, for tests and benchmarks alike) and the real USE-lite embedder bundled in models/.
 */
import { bundledModelDir } from '../../src/models/repo-paths.js';

export { ensureFixtureModel, FIXTURE_MODEL_DIR as FIXTURE_DIR } from '../../src/models/fixture.js';

/**
 * The real USE-lite sentence encoder bundled in models/. It ships with the repository, so a test
 * that needs it fails (rather than skips) when it is missing.
 */
export function useLiteDir(): string {
  const dir = bundledModelDir('universal-sentence-encoder-lite');
  if (!dir) throw new Error('models/universal-sentence-encoder-lite is missing from the checkout');
  return dir;
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
