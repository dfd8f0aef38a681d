/**
 * The API's JSON for the memory use cases' records (snake_case, ISO timestamps): one mapping, used
 * by the HTTP routes and by the MCP tools in the daemon, so both answer the same shapes.
 */
import type { ChunkRecord } from '../memory/chunks.js';
import type { UpdatedChunk } from '../memory/update.js';

export function toApiChunk(chunk: ChunkRecord) {
  return {
    id: chunk.id,
    doc_id: chunk.docId,
    source: chunk.source,
    text: chunk.text,
    metadata: chunk.metadata,
    version: chunk.version,
    created_at: chunk.createdAt.toISOString(),
    updated_at: chunk.updatedAt.toISOString(),
  };
}

export function toApiUpdated(updated: UpdatedChunk) {
  return {
    id: updated.id,
    doc_id: updated.docId,
    source: updated.source,
    version: updated.version,
    created_at: updated.createdAt.toISOString(),
    updated_at: updated.updatedAt.toISOString(),
  };
}
