/**
 * Input checks and the fail-open answer. Bad input is the caller's bug and is reported
 * (ValidationError), never hidden behind fail-open; ANN order is for latency and model faults.
 */
import { ValidationError } from '../errors.js';
import { validateText } from '../text.js';

export interface RerankResult {
  /** Position of the candidate in the input (ANN order). */
  index: number;
  text: string;
  /** sigmoid(logit) in 0..1 when reranked; 1 - index/n in ANN order. */
  score: number;
  /** 1-based rank in the returned order. */
  rank: number;
}

declare const validated: unique symbol;

/** A query and candidates that passed validateRerankInput: the only way to make one. */
export interface RerankInput {
  readonly query: string;
  readonly candidates: readonly string[];
  readonly [validated]: true;
}

export interface RerankInputRules {
  /** RERANK_MAX_CANDIDATES. */
  maxCandidates: number;
  /** Reject an empty list (the API does); the library reranks one to []. */
  nonEmpty?: boolean;
  /** The candidates' name in errors: `candidates` in the library, `texts` for POST /v1/rerank. */
  field?: string;
}

/**
 * The one check of a rerank request, for every entry point. Query and candidates follow the write
 * path's text rules (validateText): non-blank, at most 64 KiB of UTF-8, well-formed Unicode.
 * Stored chunks always pass, so the query path pays only the scan (about 0.15 ms for 256
 * candidates of 1 KiB on the 2-core VM).
 */
export function validateRerankInput(
  query: unknown,
  candidates: unknown,
  rules: RerankInputRules,
): RerankInput {
  const field = rules.field ?? 'candidates';
  validateText(query, 'query');
  if (!Array.isArray(candidates)) throw new ValidationError(field, 'must be an array of strings');
  if (rules.nonEmpty && candidates.length === 0) throw new ValidationError(field, 'must not be empty');
  if (candidates.length > rules.maxCandidates) {
    throw new ValidationError(
      field,
      `must hold at most ${rules.maxCandidates} texts (RERANK_MAX_CANDIDATES)`,
      'too_large',
    );
  }
  candidates.forEach((candidate: unknown, i) => validateText(candidate, `${field}[${i}]`));
  return { query, candidates } as unknown as RerankInput;
}

export function annOrder(candidates: readonly string[]): RerankResult[] {
  const n = candidates.length;
  return candidates.map((text, index) => ({ index, text, score: 1 - index / n, rank: index + 1 }));
}

export function sigmoid(logit: number): number {
  return 1 / (1 + Math.exp(-logit));
}

/** Sorted by logit (sigmoid saturates, logits do not), ties kept in ANN order, ranks 1..n. */
export function rankByLogits(candidates: readonly string[], logits: number[]): RerankResult[] {
  return candidates
    .map((text, index) => ({ index, text, logit: logits[index] ?? Number.NEGATIVE_INFINITY }))
    .sort((a, b) => b.logit - a.logit || a.index - b.index)
    .map(({ index, text, logit }, i) => ({ index, text, score: sigmoid(logit), rank: i + 1 }));
}
