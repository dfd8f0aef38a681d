/**
 * POST /v1/rerank: the cross-encoder pool as a service for other callers. Strict mode: overload
 * is a 429; a missed budget, an open breaker, a model still loading or a worker fault a 503
 * (src/http/errors.ts), rather than a silent ANN order the caller could not detect.
 */
import { ValidationError } from '../../errors.js';
import {
  currentRerankSettings,
  rerankMaxCandidates,
  rerankValidated,
  validateRerankInput,
} from '../../rerank/index.js';
import { HttpError } from '../errors.js';
import type { Route } from '../router.js';

export function rerankRoutes(): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/v1/rerank',
      auth: true,
      async handle(ctx) {
        const body = await ctx.body();
        // The reranker's own check, under this API's field name; bad input is a 400 even while
        // reranking is switched off.
        const input = validateRerankInput(body.query, body.texts, {
          maxCandidates: rerankMaxCandidates(),
          field: 'texts',
          nonEmpty: true,
        });
        const topN = validateTopN(body.top_n, input.candidates.length);
        if (!currentRerankSettings().enabled) {
          throw new HttpError(503, 'rerank_disabled', 'reranking is switched off (rerank_enabled)', {
            headers: { 'retry-after': '30' },
          });
        }
        const outcome = await rerankValidated(input, { strict: true, signal: ctx.signal });
        // Strict mode throws rather than fall back; this guards the promise against a new
        // fallback path in the reranker that forgets `strict`.
        if (!outcome.reranked) {
          throw new HttpError(503, 'rerank_unavailable', 'the reranker did not score this request', {
            headers: { 'retry-after': '1' },
          });
        }
        const results = outcome.results.slice(0, topN).map(({ index, score }) => ({ index, score }));
        return { status: 200, json: { results } };
      },
    },
  ];
}

/** `top_n`: a positive integer, capped at the number of texts; absent means all of them. */
function validateTopN(value: unknown, texts: number): number {
  if (value === undefined || value === null) return texts;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError('top_n', 'must be a positive integer');
  }
  return Math.min(value, texts);
}
