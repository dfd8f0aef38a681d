/**
 * The MCP tools in the daemon (POST /mcp): they call the use cases directly, so a tool call costs
 * what the HTTP route costs and answers the same codes (the HTTP layer's own error mapping).
 * `memvault mcp` on stdio uses ./client-backend.ts instead.
 */
import { toErrorResponse } from '../http/errors.js';
import { toApiChunk, toApiUpdated } from '../http/wire.js';
import { log } from '../log.js';
import { listChunks } from '../memory/chunks.js';
import type { MemoryContext } from '../memory/context.js';
import { forgetDoc } from '../memory/forget.js';
import { queryMemory } from '../memory/query.js';
import { updateChunk } from '../memory/update.js';
import { indexChunk } from '../memory/write.js';
import type { MemoryBackend } from './tools.js';

export function backendOfUseCases(memory: MemoryContext, signal?: AbortSignal): MemoryBackend {
  return {
    async remember(userId, m) {
      const id = await indexChunk(memory, userId, {
        docId: m.doc_id,
        source: m.source,
        text: m.text,
        metadata: m.metadata,
      });
      return { id };
    },
    async recall(userId, q) {
      const result = await queryMemory(
        memory,
        { userId, query: q.query, k: q.k, docId: q.doc_id, source: q.source, filter: q.filter },
        signal ? { signal } : {},
      );
      return result.results.map((hit) => ({
        id: hit.id,
        doc_id: hit.docId,
        source: hit.source,
        text: hit.text,
        metadata: hit.metadata,
        score: hit.score,
      }));
    },
    async forget(userId, docId) {
      return { deleted: await forgetDoc(memory, userId, docId) };
    },
    async list(userId, q) {
      const page = await listChunks(memory, {
        userId,
        docId: q.doc_id,
        source: q.source,
        limit: q.limit,
        cursor: q.cursor,
        filter: q.filter,
      });
      return { chunks: page.chunks.map(toApiChunk), next_cursor: page.nextCursor };
    },
    async update(userId, id, patch, ifMatch) {
      const updated = await updateChunk(memory, userId, id, patch, { ifMatch });
      return toApiUpdated(updated.value);
    },
    describeError(thrown) {
      const response = toErrorResponse(thrown);
      if (response.unexpected) {
        const error = thrown as { name?: string; code?: string };
        // Name and code only, as the HTTP server logs: foreign messages may quote parameters.
        log.error({ err: { name: error?.name, code: error?.code } }, 'mcp tool call failed');
      }
      return response.body.error;
    },
  };
}
