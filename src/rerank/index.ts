/** The reranker's public API (re-exported from the package root). */
export {
  applyRerankSettings,
  closeReranker,
  currentRerankSettings,
  getCrossEncoder,
  getRerankerState,
  maybeRerank,
  preloadCrossEncoder,
  rerank,
  rerankDetailed,
  rerankMaxCandidates,
  rerankValidated,
  type MaybeRerankOptions,
  type RerankOptions,
  type RerankOutcome,
  type RerankSettings,
  type RerankerState,
} from './reranker.js';
export {
  annOrder,
  type RerankInput,
  type RerankInputRules,
  type RerankResult,
  validateRerankInput,
} from './input.js';
export { RerankUnavailableError, type RerankUnavailableReason } from './errors.js';
export { shouldRerankTenant, tenantBucket } from './rollout.js';
export { getRerankMetrics, resetRerankMetrics, type RerankMetrics, type SkipReason } from './stats.js';
export { readRerankConfig, type RerankConfig, DEFAULT_RERANK_MODEL } from './config.js';
export { CrossEncoder, type CrossEncoderInfo, type LoadState } from './cross-encoder.js';
export {
  QueueFullError,
  WorkerCrashedError,
  RequestAbortedError,
  ModelLoadError,
  InferenceFailedError,
  PoolClosedError,
} from '../inference/errors.js';
