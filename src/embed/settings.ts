/**
 * MEMVAULT_EMBED_*: the embedder reads its own variables, as rerank/config.ts reads RERANK_*, so
 * that embed/ depends on nothing above it; src/config.ts gathers them into the daemon's settings.
 */
import { type Env, envEnum, envInt, envString } from '../env.js';

export interface EmbedSettings {
  model: string;
  device: 'auto' | 'cpu' | 'cuda';
  poolSize: number;
  threads: number | undefined;
}

/** Undefined when MEMVAULT_EMBED_MODEL is unset (clients send embeddings). */
export function readEmbedSettings(env: Env = process.env): EmbedSettings | undefined {
  const model = envString(env, 'MEMVAULT_EMBED_MODEL');
  if (!model) return undefined;
  return {
    model,
    device: envEnum(env, 'MEMVAULT_EMBED_DEVICE', ['auto', 'cpu', 'cuda'] as const, 'auto'),
    poolSize: envInt(env, 'MEMVAULT_EMBED_POOL_SIZE', 1, { min: 1, max: 64 }),
    threads: envString(env, 'MEMVAULT_EMBED_THREADS')
      ? envInt(env, 'MEMVAULT_EMBED_THREADS', 1, { min: 1, max: 256 })
      : undefined,
  };
}
