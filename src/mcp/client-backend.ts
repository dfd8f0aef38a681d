/**
 * The MCP tools for `memvault mcp` on stdio: an HTTP client of a running daemon (memvault/client),
 * so the assistant's process holds the API token but no database credentials or keys, and loads
 * none of the server (no logger either: stdout is the protocol's).
 */
import { MemvaultApiError, type MemvaultClient, MemvaultClientError } from '../client/index.js';
import { ValidationError } from '../errors.js';
import type { MemoryBackend } from './tools.js';

export function backendOfClient(client: MemvaultClient): MemoryBackend {
  return {
    remember: (userId, m) => client.createChunk({ user_id: userId, ...m }),
    async recall(userId, q) {
      return (await client.queryMemories({ user_id: userId, ...q })).results;
    },
    forget: (userId, docId) => client.forgetDoc(userId, docId),
    list: (userId, query) => client.listChunks(userId, query),
    update: (userId, id, patch, ifMatch) =>
      client.updateChunk(userId, id, patch, { idempotencyKey: true, ...(ifMatch ? { ifMatch } : {}) }),
    describeError(thrown) {
      if (thrown instanceof MemvaultApiError) {
        return {
          code: thrown.code,
          message: thrown.message,
          ...(thrown.field ? { field: thrown.field } : {}),
        };
      }
      if (thrown instanceof MemvaultClientError) return { code: thrown.code, message: thrown.message };
      // Our own check of the arguments, before any request.
      if (thrown instanceof ValidationError)
        return { code: thrown.code, message: thrown.message, field: thrown.field };
      return { code: 'internal', message: 'internal error' };
    },
  };
}
