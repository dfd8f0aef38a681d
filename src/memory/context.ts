/**
 * What the use cases need from the outside world, passed in rather than imported, so that the
 * daemon, the CLI and the tests can each supply their own pool and embedder.
 */
import type { Pool } from '../db/pool.js';
import type { Embedder } from '../embed/index.js';

export interface MemoryContext {
  readonly pool: Pool;
  /** The embedding dimension of the schema (memory.health().embeddingDim). */
  readonly dim: number;
  /** Embeds texts when a request carries no embedding; absent: embeddings are required. */
  readonly embedder?: Pick<Embedder, 'embed' | 'dimension'> | undefined;
}
