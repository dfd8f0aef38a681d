/** Retrieval-quality harness (BEIR folders, BM25, nDCG/MRR). */
export {
  evalRerank,
  formatEvalReport,
  type EvalOptions,
  type EvalReport,
  type EvalRow,
} from './rerank-eval.js';
export { Bm25Index, tokenizeForBm25 } from './bm25.js';
export { loadBeir, type BeirDataset } from './beir.js';
export { mean, mrrAt, ndcgAt, recallAt } from './metrics.js';
export { loadRunFile, parseRun, type CandidateRun, type RunIds } from './run-file.js';
export {
  chunksOf,
  evalRetrieval,
  formatRetrievalReport,
  honoursMode,
  rankedDocIds,
  RETRIEVAL_K,
  RETRIEVAL_MODES,
  type RetrievalEvalOptions,
  type RetrievalMode,
  type RetrievalReport,
  type RetrievalRow,
} from './retrieval-eval.js';
export { retrievalChart } from './retrieval-chart.js';
