/**
 * memvault's MCP tools: remember, recall, list_memories, update_memory and forget, for one end user. The tenant is fixed when
 * the server is made (`--user-id` on stdio, a header on HTTP) and never read from a tool's
 * arguments: the input schemas refuse unknown fields (`user_id` included), so a prompt that talks
 * a model into naming another user gets an error, not that user's memories.
 *
 * The input schemas are the API's own (src/api/schema.ts), less the tenant and the embedding, and
 * arguments are checked with the same validator, so a tool error names the field and carries the
 * code the HTTP API would answer. Tool errors are MCP tool results with `isError` and
 * `{error: {code, message, field?}}` (as text and as structured content), not protocol errors, so
 * the model sees them.
 */
import { randomUUID } from 'node:crypto';

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

import { packageVersion, publishable } from '../api/openapi.js';
import { operations, type Schema } from '../api/schema.js';
import { assertMatches } from '../api/validate.js';

/** What the tools need from memvault; in the daemon the use cases, on stdio the HTTP client. */
export interface MemoryBackend {
  remember(
    userId: string,
    memory: { doc_id: string; text: string; source?: string; metadata?: Record<string, unknown> },
  ): Promise<{ id: string }>;
  recall(
    userId: string,
    query: { query: string; k?: number; doc_id?: string; source?: string; filter?: Record<string, unknown> },
  ): Promise<
    Array<{ id: string; doc_id: string; source: string; text: string; metadata: unknown; score: number }>
  >;
  forget(userId: string, docId: string): Promise<{ deleted: number }>;
  /** A page of the user's memories, newest first (the API's listChunks). */
  list(
    userId: string,
    query: {
      doc_id?: string;
      source?: string;
      limit?: number;
      cursor?: string;
      filter?: Record<string, unknown>;
    },
  ): Promise<{ chunks: StoredMemory[]; next_cursor: string | null }>;
  /** Corrects one memory (the API's updateChunk); `ifMatch`: only if still at that version. */
  update(
    userId: string,
    id: string,
    patch: { text?: string; metadata?: Record<string, unknown> },
    ifMatch?: number,
  ): Promise<{
    id: string;
    doc_id: string;
    source: string;
    version: number;
    created_at: string;
    updated_at: string;
  }>;
  /** The API's error for anything the backend throws: code, message (never a value), field. */
  describeError(thrown: unknown): { code: string; message: string; field?: string };
}

/** A memory as the read routes show it. */
export interface StoredMemory {
  id: string;
  doc_id: string;
  source: string;
  text: string;
  metadata: Record<string, unknown>;
  version: number;
  created_at: string;
  updated_at: string;
}

/** How the tools describe `filter` to a model (the full grammar is in the API's schema). */
const FILTER_ARGUMENT =
  'Only memories whose metadata matches, e.g. {"topic": "travel"}, {"topic": {"in": ["travel", "food"]}}, ' +
  '{"not": {"status": "done"}}, {"created_at": {"gte": "2026-01-01T00:00:00Z"}}. Equality and sets on ' +
  'top-level metadata fields only.';

/** Memories per list_memories page unless the model asks for more: a page is read into its context. */
const DEFAULT_LIST_LIMIT = 20;
const MAX_TOOL_LIST_LIMIT = 100;

interface Tool {
  name: string;
  title: string;
  description: string;
  inputSchema: Schema;
  annotations: Record<string, boolean>;
  call(backend: MemoryBackend, userId: string, args: Record<string, unknown>): Promise<unknown>;
}

/** Picks properties of an operation's body schema, for a tool's input schema. */
function pick(
  body: Schema,
  names: string[],
  required: string[],
  descriptions: Record<string, string>,
): Schema {
  const properties = body.properties as Record<string, Schema>;
  return {
    type: 'object',
    properties: Object.fromEntries(
      names.map((name) => [
        name,
        { ...properties[name]!, description: descriptions[name] ?? properties[name]!.description },
      ]),
    ),
    required,
    // `user_id` (or anything else) in the arguments is refused: the tenant is the server's.
    additionalProperties: false,
    'x-messages': { additionalProperties: 'is not an argument of this tool (the user is set by the server)' },
  };
}

export const TOOLS: readonly Tool[] = [
  {
    name: 'remember',
    title: 'Remember',
    description:
      'Store a memory about the current user for later conversations: one self-contained fact, preference or ' +
      'event in plain language (e.g. "Prefers green tea; avoids coffee."). Stored encrypted. Returns its id and ' +
      'doc_id; pass the same doc_id for memories that belong together, so they can be forgotten together.',
    inputSchema: pick(operations.createChunk.body, ['text', 'doc_id', 'source', 'metadata'], ['text'], {
      doc_id: 'Groups memories (forget removes a whole doc_id). Default: a new id for this memory alone.',
      source: 'Where the memory came from, e.g. "chat" (default "default").',
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    async call(backend, userId, args) {
      const docId = (args.doc_id as string | undefined) ?? randomUUID();
      const { id } = await backend.remember(userId, { ...(args as { text: string }), doc_id: docId });
      return { id, doc_id: docId };
    },
  },
  {
    name: 'recall',
    title: 'Recall',
    description:
      "Search the current user's memories for the ones most relevant to a question or topic, best first. Use it " +
      'before answering anything that may depend on what the user said in earlier conversations.',
    inputSchema: pick(
      operations.queryMemories.body,
      ['query', 'k', 'doc_id', 'source', 'filter'],
      ['query'],
      {
        query: 'What to look for, in plain language.',
        k: 'How many memories (1-100, default 8).',
        filter: FILTER_ARGUMENT,
      },
    ),
    annotations: { readOnlyHint: true, openWorldHint: false },
    async call(backend, userId, args) {
      const results = await backend.recall(userId, args as { query: string });
      return {
        memories: results.map(({ id, doc_id, source, text, metadata, score }) => ({
          id,
          doc_id,
          source,
          text,
          metadata,
          score,
        })),
      };
    },
  },
  {
    name: 'list_memories',
    title: 'List memories',
    description:
      'Page through everything remembered about the current user, newest first, optionally only one doc_id or ' +
      'source. Use it when the user asks what you remember about them, or to find the id of a memory to ' +
      `correct. Returns up to limit memories (default ${DEFAULT_LIST_LIMIT}) with id, version and timestamps, and ` +
      'next_cursor: pass it back as cursor (with the same doc_id and source) for the next page; null on the last.',
    inputSchema: pick(
      {
        properties: {
          ...operations.listChunks.query,
          filter: (operations.queryMemories.body.properties as Record<string, Schema>).filter!,
          limit: {
            type: 'integer',
            minimum: 1,
            maximum: MAX_TOOL_LIST_LIMIT,
            description: `Memories per page (1-${MAX_TOOL_LIST_LIMIT}, default ${DEFAULT_LIST_LIMIT}).`,
            'x-messages': { default: `must be an integer from 1 to ${MAX_TOOL_LIST_LIMIT}` },
          },
        },
      },
      ['doc_id', 'source', 'limit', 'cursor', 'filter'],
      [],
      { cursor: 'The next_cursor of the previous call; omit for the first page.', filter: FILTER_ARGUMENT },
    ),
    annotations: { readOnlyHint: true, openWorldHint: false },
    async call(backend, userId, args) {
      const page = await backend.list(userId, { limit: DEFAULT_LIST_LIMIT, ...args });
      return { memories: page.chunks, next_cursor: page.next_cursor };
    },
  },
  {
    name: 'update_memory',
    title: 'Update memory',
    description:
      'Correct one memory of the current user in place, by its id (from recall or list_memories): new text, new ' +
      'metadata, or both (metadata replaces the whole object). Prefer it to remember when a stored fact changed ' +
      '(e.g. the user moved city). Pass the version you read to be sure nobody changed the memory since: then a ' +
      'newer memory is the error version_conflict instead of being overwritten. Returns the new version.',
    inputSchema: pick(
      {
        properties: {
          id: operations.updateChunk.params.id,
          ...(operations.updateChunk.body.properties as Record<string, Schema>),
          version: {
            type: 'integer',
            minimum: 1,
            description: 'The version you read (recall does not return one; list_memories does). Optional.',
            'x-messages': { default: 'must be a positive integer' },
          },
        },
      },
      ['id', 'text', 'metadata', 'version'],
      ['id'],
      {
        id: 'The id of the memory to correct.',
        text: 'The corrected memory, complete (it replaces the old text).',
        metadata: "Replaces the memory's metadata object.",
      },
    ),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async call(backend, userId, args) {
      const { id, version, ...patch } = args as {
        id: string;
        version?: number;
        text?: string;
        metadata?: Record<string, unknown>;
      };
      return backend.update(userId, id, patch, version);
    },
  },
  {
    name: 'forget',
    title: 'Forget',
    description:
      "Permanently delete the current user's memories of one doc_id (as returned by remember or recall). Use it " +
      'when the user asks to forget something or a memory is wrong. Returns how many memories were deleted.',
    inputSchema: pick({ properties: operations.forgetDoc.params }, ['doc_id'], ['doc_id'], {
      doc_id: 'The doc_id of the memories to delete.',
    }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async call(backend, userId, args) {
      return backend.forget(userId, args.doc_id as string);
    },
  },
];

/** An MCP server whose tools act for `userId` only. */
export function createMcpServer(backend: MemoryBackend, userId: string): Server {
  const server = new Server(
    { name: 'memvault', version: packageVersion() },
    {
      capabilities: { tools: {} },
      instructions:
        "memvault is this user's long-term memory. Call recall before answering questions that may depend on " +
        'earlier conversations; call remember when the user shares a lasting fact or preference; call ' +
        'update_memory when a remembered fact changed; list_memories when asked what you know about the user; ' +
        'forget when asked to.',
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: TOOLS.map(({ name, title, description, inputSchema, annotations }) => ({
      name,
      title,
      description,
      inputSchema: publishable(inputSchema) as { type: 'object' },
      annotations,
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const tool = TOOLS.find((t) => t.name === request.params.name);
    if (!tool)
      return toolError({
        code: 'unknown_tool',
        message: `no tool named ${JSON.stringify(request.params.name)}`,
      });
    try {
      const args = assertMatches(tool.inputSchema, request.params.arguments ?? {});
      const result = await tool.call(backend, userId, args);
      return {
        content: [{ type: 'text', text: JSON.stringify(result) }],
        structuredContent: result as Record<string, unknown>,
      };
    } catch (thrown) {
      return toolError(backend.describeError(thrown));
    }
  });
  return server;
}

function toolError(error: { code: string; message: string; field?: string }): CallToolResult {
  const body = { error };
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body };
}
