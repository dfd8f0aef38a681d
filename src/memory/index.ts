/** Use cases of the memory store (write, query, forget) and the read-path helpers. */
export type { MemoryContext } from './context.js';
export {
  DEFAULT_SOURCE,
  indexChunk,
  indexChunkIdempotent,
  indexChunks,
  indexChunksIdempotent,
  type NewChunk,
  type WriteOptions,
} from './write.js';
export {
  type ChunkPage,
  type ChunkRecord,
  DEFAULT_LIST_LIMIT,
  deleteChunk,
  exportChunks,
  getChunk,
  listChunks,
  type ListInput,
  MAX_LIST_LIMIT,
  validateChunkId,
} from './chunks.js';
export { type ChunkPatch, updateChunk, type UpdatedChunk, type UpdateOptions } from './update.js';
export {
  canonicalJson,
  type Idempotent,
  type IdempotencyRequest,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  validateIdempotencyKey,
} from './idempotency.js';
export {
  DEFAULT_CANDIDATES,
  DEFAULT_K,
  MAX_CANDIDATES,
  MAX_K,
  queryMemory,
  validateQuery,
  type QueryHit,
  type QueryInput,
  type QueryResult,
  type ScoreKind,
} from './query.js';
export { forgetDoc, forgetUser } from './forget.js';
export { fuseConvex, type FusedCandidate, type ScoredCandidate } from './fuse.js';
export {
  applyRetrievalSettings,
  currentRetrievalSettings,
  DEFAULT_LEXICAL_WEIGHT,
  RETRIEVAL_MODES,
  type RetrievalMode,
  type RetrievalSettings,
} from './retrieval-settings.js';
export { getMemoryChunks, openChunkRow, type MemoryChunk } from './read.js';
export { openEmbedding, openMetadata, openText, sealChunk, type PlainChunk } from './seal-chunk.js';
