/**
 * POST /v1/rerank: the cross-encoder pool as a service for other callers. Strict mode: overload
 * is a 429; a missed budget, an open breaker, a model still loading or a worker fault a 503
 * (src/http/errors.ts), rather than a silent ANN order the caller could not detect.
 */
import { ValidationError } from '../../errors.js';
import { validateText } from '../../memory/validate.js';
import { currentRerankSettings, rerankDetailed, rerankMaxCandidates } from '../../rerank/index.js';
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
        const { query, texts, topN } = validateRerankRequest(body, rerankMaxCandidates());
        if (!currentRerankSettings().enabled) {
          throw new HttpError(503, 'rerank_disabled', 'reranking is switched off (rerank_enabled)', {
            headers: { 'retry-after': '30' },
          });
        }
        const outcome = await rerankDetailed(query, texts, { strict: true, signal: ctx.signal });
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

function validateRerankRequest(
  body: Record<string, unknown>,
  maxTexts: number,
): { query: string; texts: string[]; topN: number } {
  const query = validateText(body.query, 'query');
  const texts = body.texts;
  if (!Array.isArray(texts)) throw new ValidationError('texts', 'must be an array of strings');
  if (texts.length === 0) throw new ValidationError('texts', 'must not be empty');
  if (texts.length > maxTexts)
    throw new ValidationError(
      'texts',
      `must hold at most ${maxTexts} texts (RERANK_MAX_CANDIDATES)`,
      'too_large',
    );
  texts.forEach((text: unknown, i) => validateText(text, `texts[${i}]`));
  let topN = texts.length;
  if (body.top_n !== undefined && body.top_n !== null) {
    if (typeof body.top_n !== 'number' || !Number.isInteger(body.top_n) || body.top_n < 1) {
      throw new ValidationError('top_n', 'must be a positive integer');
    }
    topN = Math.min(body.top_n, texts.length);
  }
  return { query, texts: texts as string[], topN };
}
