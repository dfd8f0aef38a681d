/**
 * Defaults that make the one-command start work on a fresh checkout, and only there (`serve`
 * does exactly what the environment says):
 *
 * - Embeddings: the USE-lite sentence encoder bundled in models/ when it is present
 *   and MEMVAULT_EMBED_MODEL is unset. A fresh embedded schema is then migrated with its dimension
 *   (512) so that clients may omit `embedding`; without it the schema keeps the default 384 and
 *   clients send their own embeddings.
 * - Reranking: the default cross-encoder is a Hugging Face id. Unless RERANK_MODEL is set or that
 *   model is already in the local cache, reranking starts switched off, so that nothing is
 *   downloaded without being asked (set RERANK_MODEL or RERANK_ENABLED=true to change that).
 */
import { exitCodeFor, startDaemonFromEnv, type StartedFromEnv } from '../../daemon.js';
import { type Env, envBool } from '../../env.js';
import { bundledModelDir } from '../../models/repo-paths.js';
import { cachedModelDir, defaultCacheDir } from '../../models/resolve.js';
import { DEFAULT_RERANK_MODEL } from '../../rerank/index.js';
import { reportStartFailure } from './serve-lifecycle.js';

export interface EmbeddedDefaults {
  embedModel: string | undefined;
  overrides: Record<string, string>;
  notes: string[];
}

export function embeddedDefaults(env: Env): EmbeddedDefaults {
  const notes: string[] = [];
  const overrides: Record<string, string> = {};
  let embedModel: string | undefined;
  if (!env.MEMVAULT_EMBED_MODEL) {
    embedModel = bundledModelDir('universal-sentence-encoder-lite');
    notes.push(
      embedModel
        ? `embeddings: USE-lite from ${embedModel} (server-side; requests may omit "embedding")`
        : 'embeddings: none configured (MEMVAULT_EMBED_MODEL unset): requests must carry "embedding"',
    );
  }
  if (!env.RERANK_MODEL && !env.RERANK_ENABLED && !defaultRerankModelCached(env)) {
    overrides.RERANK_ENABLED = 'false';
    notes.push(
      `reranking: off (set RERANK_MODEL to a local cross-encoder folder, or RERANK_ENABLED=true to download ${DEFAULT_RERANK_MODEL})`,
    );
  }
  return { embedModel, overrides, notes };
}

/**
 * Whether the reranker would find its default model in the cache without downloading, in the
 * variant RERANK_QUANTIZED asks for. Throws ConfigError for a malformed RERANK_QUANTIZED.
 */
function defaultRerankModelCached(env: Env): boolean {
  const cached = cachedModelDir(DEFAULT_RERANK_MODEL, {
    cacheDir: defaultCacheDir(env as NodeJS.ProcessEnv),
    quantized: envBool(env, 'RERANK_QUANTIZED', false),
  });
  return cached !== undefined;
}

/**
 * Starts the daemon from process.env with these defaults (`extra` overrides win), as `start` and
 * `demo` do. On failure the reason is reported and the exit code returned instead.
 */
export async function startWithEmbeddedDefaults(
  extra: Record<string, string> = {},
): Promise<{ started: StartedFromEnv; notes: string[] } | number> {
  try {
    // Inside: a malformed RERANK_QUANTIZED is reported like any other configuration error.
    const defaults = embeddedDefaults(process.env);
    const started = await startDaemonFromEnv(process.env, {
      defaultEmbedModel: defaults.embedModel,
      overrides: { ...defaults.overrides, ...extra },
    });
    return { started, notes: defaults.notes };
  } catch (thrown) {
    reportStartFailure(thrown);
    return exitCodeFor(thrown);
  }
}
