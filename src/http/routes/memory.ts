/**
 * The memory routes. They translate the API's snake_case JSON to the use cases' arguments and
 * back. The request has passed its operation's schema (src/api/schema.ts); the rules a schema
 * cannot state (bytes, Unicode, the embedding's dimension) and all the rest happen in src/memory.
 */
import { operations } from '../../api/schema.js';
import type { MemoryContext } from '../../memory/context.js';
import { forgetDoc, forgetUser } from '../../memory/forget.js';
import { type QueryHit, queryMemory } from '../../memory/query.js';
import { indexChunk, indexChunks, type NewChunk } from '../../memory/write.js';
import type { Route } from '../router.js';
import { operationRoute } from './operation.js';

export function memoryRoutes(memory: MemoryContext): Route[] {
  return [
    operationRoute(operations.createChunk, async (ctx) => {
      const body = await ctx.body();
      const id = await indexChunk(memory, body.user_id, toNewChunk(body) as NewChunk);
      return { status: 201, json: { id } };
    }),
    operationRoute(operations.createChunks, async (ctx) => {
      const body = await ctx.body();
      const chunks = Array.isArray(body.chunks) ? body.chunks.map(toNewChunk) : body.chunks;
      const ids = await indexChunks(memory, body.user_id, chunks);
      return { status: 201, json: { ids } };
    }),
    operationRoute(operations.queryMemories, async (ctx) => {
      const body = await ctx.body();
      const result = await queryMemory(
        memory,
        {
          userId: body.user_id,
          query: body.query,
          embedding: body.embedding,
          k: body.k,
          candidates: body.candidates,
          rerank: body.rerank,
          docId: body.doc_id,
          source: body.source,
          mode: body.mode,
        },
        { signal: ctx.signal },
      );
      return {
        status: 200,
        json: {
          results: result.results.map(toApiHit),
          reranked: result.reranked,
          mode: result.mode,
          timings_ms: result.timingsMs,
        },
      };
    }),
    operationRoute(operations.forgetDoc, async (ctx) => {
      return {
        status: 200,
        json: { deleted: await forgetDoc(memory, ctx.params.user_id, ctx.params.doc_id) },
      };
    }),
    operationRoute(operations.forgetUser, async (ctx) => {
      return { status: 200, json: { deleted: await forgetUser(memory, ctx.params.user_id) } };
    }),
  ];
}

/** A non-object stays as it is, so the validator reports it (`chunks[2]: must be an object`). */
function toNewChunk(value: unknown): NewChunk | unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const chunk = value as Record<string, unknown>;
  return {
    docId: chunk.doc_id,
    source: chunk.source,
    text: chunk.text,
    metadata: chunk.metadata,
    embedding: chunk.embedding,
  };
}

function toApiHit(hit: QueryHit) {
  return {
    id: hit.id,
    doc_id: hit.docId,
    source: hit.source,
    text: hit.text,
    metadata: hit.metadata,
    score: hit.score,
    score_kind: hit.scoreKind,
    ann_rank: hit.annRank,
    lexical_rank: hit.lexicalRank,
  };
}
