/**
 * The memory routes. They translate the API's snake_case JSON to the use cases' arguments and
 * back. The request has passed its operation's schema (src/api/schema.ts); the rules a schema
 * cannot state (bytes, Unicode, the embedding's dimension) and all the rest happen in src/memory.
 */
import { operations } from '../../api/schema.js';
import { ValidationError } from '../../errors.js';
import { type ChunkRecord, deleteChunk, exportChunks, getChunk, listChunks } from '../../memory/chunks.js';
import type { MemoryContext } from '../../memory/context.js';
import { forgetDoc, forgetUser } from '../../memory/forget.js';
import { type QueryHit, queryMemory } from '../../memory/query.js';
import { updateChunk } from '../../memory/update.js';
import { indexChunkIdempotent, indexChunksIdempotent, type NewChunk } from '../../memory/write.js';
import { idempotencyKey, ifMatchVersion } from '../conditional.js';
import { etagOf } from '../errors.js';
import type { RequestContext, Route } from '../router.js';
import { toApiChunk, toApiUpdated } from '../wire.js';
import { operationRoute } from './operation.js';

export function memoryRoutes(memory: MemoryContext): Route[] {
  return [
    operationRoute(operations.createChunk, async (ctx) => {
      const key = idempotencyKey(ctx.req);
      const body = await ctx.body();
      const written = await indexChunkIdempotent(memory, body.user_id, toNewChunk(body) as NewChunk, {
        idempotency: key ? { key, operation: 'POST /v1/chunks', body } : undefined,
      });
      return { status: 201, json: { id: written.value }, headers: replayHeaders(written.replayed) };
    }),
    operationRoute(operations.createChunks, async (ctx) => {
      const key = idempotencyKey(ctx.req);
      const body = await ctx.body();
      const chunks = Array.isArray(body.chunks) ? body.chunks.map(toNewChunk) : body.chunks;
      const written = await indexChunksIdempotent(memory, body.user_id, chunks, {
        idempotency: key ? { key, operation: 'POST /v1/chunks/batch', body } : undefined,
      });
      return { status: 201, json: { ids: written.value }, headers: replayHeaders(written.replayed) };
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
          filter: body.filter,
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
    operationRoute(operations.listChunks, async (ctx) => {
      const page = await listChunks(memory, {
        userId: ctx.params.user_id,
        docId: ctx.query.get('doc_id'),
        source: ctx.query.get('source'),
        limit: intParam(ctx, 'limit'),
        cursor: ctx.query.get('cursor'),
        filter: jsonParam(ctx, 'filter'),
      });
      return { status: 200, json: { chunks: page.chunks.map(toApiChunk), next_cursor: page.nextCursor } };
    }),
    operationRoute(operations.getChunk, async (ctx) => {
      const chunk = await getChunk(memory, ctx.params.user_id, ctx.params.id);
      return { status: 200, json: toApiChunk(chunk), headers: { etag: etagOf(chunk.version) } };
    }),
    operationRoute(operations.updateChunk, async (ctx) => {
      const ifMatch = ifMatchVersion(ctx.req);
      const key = idempotencyKey(ctx.req);
      const body = await ctx.body();
      const updated = await updateChunk(
        memory,
        ctx.params.user_id,
        ctx.params.id,
        { text: body.text, metadata: body.metadata, embedding: body.embedding },
        {
          ifMatch,
          // If-Match is part of the request: a retry that names another version is another request.
          idempotency: key
            ? { key, operation: `PATCH chunk ${ctx.params.id} if-match ${ifMatch ?? '*'}`, body }
            : undefined,
        },
      );
      return {
        status: 200,
        json: toApiUpdated(updated.value),
        headers: { etag: etagOf(updated.value.version), ...replayHeaders(updated.replayed) },
      };
    }),
    operationRoute(operations.deleteChunk, async (ctx) => {
      await deleteChunk(memory, ctx.params.user_id, ctx.params.id, { ifMatch: ifMatchVersion(ctx.req) });
      return { status: 200, json: { deleted: 1 } };
    }),
    operationRoute(operations.exportChunks, async (ctx) => {
      const pages = exportChunks(
        memory,
        {
          userId: ctx.params.user_id,
          docId: ctx.query.get('doc_id'),
          source: ctx.query.get('source'),
          filter: jsonParam(ctx, 'filter'),
        },
        { signal: ctx.signal },
      );
      return { status: 200, contentType: 'application/x-ndjson; charset=utf-8', stream: ndjson(pages) };
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

/** The export's pages as NDJSON: one JSON object and a newline per chunk, one string per page. */
async function* ndjson(pages: AsyncIterable<ChunkRecord[]>): AsyncGenerator<string> {
  for await (const page of pages)
    yield page.map((chunk) => JSON.stringify(toApiChunk(chunk)) + '\n').join('');
}

/** A query parameter that must be a whole number; validation of its range is the use case's. */
function intParam(ctx: RequestContext, name: string): unknown {
  const raw = ctx.query.get(name);
  if (raw === null) return undefined;
  if (!/^[0-9]{1,9}$/.test(raw)) throw new ValidationError(name, 'must be a positive integer');
  return Number(raw);
}

/** A query parameter carrying JSON (`filter`); malformed JSON is a 400 naming it. */
function jsonParam(ctx: RequestContext, name: string): unknown {
  const raw = ctx.query.get(name);
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new ValidationError(name, 'must be JSON (URL-encoded)');
  }
}

function replayHeaders(replayed: boolean): Record<string, string> {
  return replayed ? { 'idempotent-replayed': 'true' } : {};
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
    created_at: hit.createdAt.toISOString(),
    updated_at: hit.updatedAt.toISOString(),
  };
}
