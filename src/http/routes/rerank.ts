/**
 * POST /v1/rerank: the cross-encoder pool as a service for other callers. Strict mode: overload
 * is a 429; a missed budget, an open breaker, a model still loading or a worker fault a 503
 * (src/http/errors.ts), rather than a silent ANN order the caller could not detect.
 *
 * Two request shapes (src/api/schema.ts): memvault's own (`texts` → `{index, score}`) and the one
 * Cohere's API defined and Infinity, Jina and the LangChain / LlamaIndex rerankers speak
 * (`documents` as strings or `{text}`, `top_n`, `return_documents`, `model` ignored →
 * `{index, relevance_score, document?}`), so those clients can point at memvault unchanged.
 */
import { operations } from '../../api/schema.js';
import {
  currentRerankSettings,
  type RerankInput,
  rerankMaxCandidates,
  rerankValidated,
  validateRerankInput,
} from '../../rerank/index.js';
import { HttpError } from '../errors.js';
import type { Route } from '../router.js';
import { operationRoute } from './operation.js';

export function rerankRoutes(): Route[] {
  return [
    operationRoute(operations.rerank, async (ctx) => {
      const body = await ctx.body();
      // Cohere's shape when `documents` is present; the schema has checked each item's form.
      const cohere = body.documents !== undefined && body.documents !== null;
      const field = cohere ? 'documents' : 'texts';
      const candidates = cohere ? (body.documents as unknown[]).map(documentText) : body.texts;
      // The reranker's own check, under this API's field name; bad input is a 400 even while
      // reranking is switched off.
      const input: RerankInput = validateRerankInput(body.query, candidates, {
        maxCandidates: rerankMaxCandidates(),
        field,
        nonEmpty: true,
      });
      const topN = Math.min((body.top_n as number | null | undefined) ?? Infinity, input.candidates.length);
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
      const best = outcome.results.slice(0, topN);
      if (!cohere)
        return { status: 200, json: { results: best.map(({ index, score }) => ({ index, score })) } };
      const withDocuments = body.return_documents === true;
      return {
        status: 200,
        json: {
          id: ctx.requestId,
          results: best.map(({ index, score, text }) => ({
            index,
            relevance_score: score,
            ...(withDocuments ? { document: { text } } : {}),
          })),
          meta: { api_version: { version: '1' } },
        },
      };
    }),
  ];
}

/** A Cohere document: a string, or an object whose `text` is the candidate. */
function documentText(document: unknown): unknown {
  return typeof document === 'object' && document !== null ? (document as { text?: unknown }).text : document;
}
