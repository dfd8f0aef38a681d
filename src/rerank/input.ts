/**
 * Input checks and the fail-open answer. Bad input is the caller's bug and is reported
 * (ValidationError), never hidden behind fail-open; ANN order is for latency and model faults.
 */
import { ValidationError } from '../errors.js';

export interface RerankResult {
  /** Position of the candidate in the input (ANN order). */
  index: number;
  text: string;
  /** sigmoid(logit) in 0..1 when reranked; 1 - index/n in ANN order. */
  score: number;
  /** 1-based rank in the returned order. */
  rank: number;
}

export function validateRerankInput(
  query: unknown,
  candidates: unknown,
  maxCandidates: number,
): asserts candidates is string[] {
  if (typeof query !== 'string') throw new ValidationError('query', 'must be a string');
  if (query.trim() === '') throw new ValidationError('query', 'must not be empty');
  if (!Array.isArray(candidates)) throw new ValidationError('candidates', 'must be an array of strings');
  if (candidates.length > maxCandidates) {
    throw new ValidationError(
      'candidates',
      `at most ${maxCandidates} candidates (RERANK_MAX_CANDIDATES)`,
      'too_many_candidates',
    );
  }
  candidates.forEach((c, i) => {
    if (typeof c !== 'string') throw new ValidationError(`candidates[${i}]`, 'must be a string');
  });
}

export function annOrder(candidates: string[]): RerankResult[] {
  const n = candidates.length;
  return candidates.map((text, index) => ({ index, text, score: 1 - index / n, rank: index + 1 }));
}

export function sigmoid(logit: number): number {
  return 1 / (1 + Math.exp(-logit));
}

/** Sorted by logit (sigmoid saturates, logits do not), ties kept in ANN order, ranks 1..n. */
export function rankByLogits(candidates: string[], logits: number[]): RerankResult[] {
  return candidates
    .map((text, index) => ({ index, text, logit: logits[index] ?? Number.NEGATIVE_INFINITY }))
    .sort((a, b) => b.logit - a.logit || a.index - b.index)
    .map(({ index, text, logit }, i) => ({ index, text, score: sigmoid(logit), rank: i + 1 }));
}
