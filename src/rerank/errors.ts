/**
 * The error of a strict rerank (`strict: true`, as POST /v1/rerank asks) that the model could not
 * answer. Fail-open callers get ANN order in these cases; a strict caller gets this error instead,
 * so it can never mistake ANN order for a rerank.
 */
import { MemvaultError } from '../errors.js';

/**
 * - `loading`: the budget ran out while the model was still loading (start-up, first use);
 * - `breaker_open`: consecutive failures opened the circuit breaker; callers skip until a probe;
 * - `deadline`: the model did not answer within the call's budget.
 */
export type RerankUnavailableReason = 'loading' | 'breaker_open' | 'deadline';

const MESSAGES: Record<RerankUnavailableReason, string> = {
  loading: 'the rerank model is still loading; retry shortly',
  breaker_open: "the reranker's circuit breaker is open after repeated failures; retry later",
  deadline: 'the reranker could not answer within its budget (rerank_circuit_ms)',
};

export class RerankUnavailableError extends MemvaultError {
  readonly reason: RerankUnavailableReason;
  /** A hint for Retry-After: when trying again may succeed (0: no better guess than "soon"). */
  readonly retryAfterMs: number;
  constructor(reason: RerankUnavailableReason, retryAfterMs = 0) {
    super(reason === 'loading' ? 'model_loading' : 'rerank_unavailable', MESSAGES[reason]);
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}
