/**
 * THE API CONTRACT, in one place. Every HTTP route is an entry of `operations` below: its method,
 * path, JSON Schemas for path parameters and body, success responses and the error codes it may
 * answer with. The server validates requests with these very schemas (src/api/validate.ts, through
 * src/http/routes/operation.ts), GET /openapi.json and docs/openapi.json are generated from them
 * (src/api/openapi.ts), and the MCP tools take their input schemas from them (src/mcp/).
 *
 * To add a route: add an operation here, bind it with `operationRoute(operations.x, handler)` in
 * src/http/routes/, then `npm run build && node dist/cli/main.js openapi > docs/openapi.json`.
 * To add a field: add it to the body schema here (in the order a reader scans the request: the
 * first invalid field in that order is the one reported). test/http/contract.test.ts fails until
 * the document, the server and the committed file agree.
 *
 * Messages: a failing keyword's message comes from the schema's `x-messages` (by keyword, or
 * `default`), else a generic one; `maxLength` / `maxItems` failures are `too_large`, the rest
 * `invalid_input`. What JSON Schema cannot say (UTF-8 byte lengths, lone surrogates, NUL, the
 * embedding dimension, metadata depth) the use cases check after the schema (src/memory/validate.ts).
 */
import {
  MAX_BATCH_CHUNKS,
  MAX_ID_LENGTH,
  MAX_METADATA_BYTES,
  MAX_METADATA_DEPTH,
  MAX_TEXT_BYTES,
} from '../memory/validate.js';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it), with our `x-messages` annotation. */
export type Schema = { [keyword: string]: unknown };

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface SuccessReply {
  description: string;
  /** JSON body schema; absent with `contentType` for non-JSON answers, or with neither for none. */
  schema?: Schema;
  contentType?: string;
}

export interface Operation {
  operationId: string;
  method: Method;
  /** OpenAPI path template: `/v1/users/{user_id}`. */
  path: string;
  tag: 'memory' | 'rerank' | 'mcp' | 'operations';
  summary: string;
  description?: string;
  /** Bearer token required (every /v1 route). */
  auth: boolean;
  params?: Record<string, Schema>;
  /** Request headers by name, percent-decoded (UTF-8) before they are checked. */
  /** Query-string parameters, all optional (documented; the use case validates them). */
  query?: Record<string, Schema>;
  /** Optional request headers (If-Match, Idempotency-Key): documented here, checked by the route. */
  optionalHeaders?: Record<string, Schema>;
  headers?: Record<string, Schema>;
  body?: Schema;
  /** False for an operation memvault/client does not wrap (POST /mcp: use an MCP client). */
  inClient?: false;
  responses: Record<number, SuccessReply>;
  errors: readonly ErrorCode[];
}

// The error vocabulary: every code the server answers with, its status and when.
export const ERROR_CODES = {
  invalid_input: {
    status: 400,
    when: 'a field is missing, of the wrong type or out of range; `field` names it',
  },
  too_large: { status: 400, when: 'a field is too big (too long, too many items); `field` names it' },
  invalid_json: { status: 400, when: 'the body is not valid JSON' },
  invalid_body: { status: 400, when: 'the body is not a JSON object' },
  unauthorized: { status: 401, when: 'missing or wrong bearer token (`WWW-Authenticate: Bearer`)' },
  not_found: {
    status: 404,
    when: "no such route, or no such chunk for this user (another user's id included)",
  },
  method_not_allowed: { status: 405, when: 'known path, other method (`Allow` header)' },
  payload_too_large: { status: 413, when: 'the body exceeds MEMVAULT_MAX_BODY_BYTES' },
  version_conflict: {
    status: 412,
    when: "`If-Match` names another version than the chunk's current one (`ETag`: the current one); nothing was written",
  },
  unsupported_media_type: { status: 415, when: 'the body is not `application/json`' },
  idempotency_key_reused: {
    status: 422,
    when: 'the `Idempotency-Key` was used by this user for a different request in the last 24 hours',
  },
  dimension_mismatch: {
    status: 422,
    when: "the embedding's dimension is not the schema's (the schema changed under a running daemon)",
  },
  limit_out_of_range: { status: 422, when: 'the database refused a limit it re-checks' },
  too_many_requests: {
    status: 429,
    when: 'over MEMVAULT_MAX_IN_FLIGHT concurrent /v1 requests (`Retry-After: 1`)',
  },
  overloaded: { status: 429, when: 'the inference queue is full (`Retry-After: 1`)' },
  integrity_error: {
    status: 500,
    when: 'a stored blob failed authentication (tampered or moved): fail closed',
  },
  internal: { status: 500, when: 'a bug; logged with the request id' },
  database_unavailable: { status: 503, when: 'the database cannot be reached (`Retry-After: 1`)' },
  database_timeout: {
    status: 503,
    when: 'a statement ran past `MEMVAULT_DB_STATEMENT_TIMEOUT_MS` and rolled back; nothing was written (`Retry-After: 1`)',
  },
  shutting_down: { status: 503, when: 'the server is shutting down (`Retry-After: 1`)' },
  rerank_disabled: { status: 503, when: '`rerank_enabled` is false (`Retry-After: 30`)' },
  rerank_unavailable: {
    status: 503,
    when: 'the model missed the budget, or the circuit breaker is open (`Retry-After`: the cool-down left)',
  },
  model_loading: {
    status: 503,
    when: 'the budget ran out while the model was still loading (`Retry-After: 1`)',
  },
  worker_crashed: {
    status: 503,
    when: 'an inference worker exited while running this request (`Retry-After: 1`)',
  },
  inference_failed: { status: 503, when: 'the model raised an error on this request (`Retry-After: 1`)' },
  model_unavailable: {
    status: 503,
    when: 'the model cannot be loaded; an operator must fix it (no `Retry-After`)',
  },
} as const satisfies Record<string, { status: number; when: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

// ---- building blocks ---------------------------------------------------------------------------

/** Also accepts null, which the API treats as absent. */
function orNull(schema: Schema): Schema {
  return { ...schema, type: [schema.type, 'null'] };
}

const idSchema = (description: string): Schema => ({
  type: 'string',
  minLength: 1,
  maxLength: MAX_ID_LENGTH,
  description: `${description} Non-empty, at most ${MAX_ID_LENGTH} UTF-16 units, no NUL, well-formed Unicode.`,
});

const textSchema = (description: string): Schema => ({
  type: 'string',
  // `\S`: some non-whitespace, the same set as String.prototype.trim's.
  pattern: '\\S',
  // A UTF-16 unit is at least one UTF-8 byte: the schema bounds the length, the use case the bytes.
  maxLength: MAX_TEXT_BYTES,
  description: `${description} Not blank, at most ${MAX_TEXT_BYTES} bytes of UTF-8, well-formed Unicode.`,
  'x-messages': {
    pattern: 'must not be empty or only whitespace',
    maxLength: `must be at most ${MAX_TEXT_BYTES} bytes of UTF-8`,
  },
});

const embeddingSchema: Schema = {
  type: ['array', 'null'],
  items: { type: 'number', 'x-messages': { default: 'must be a finite number within float32 range' } },
  description:
    "Exactly the schema's dimension (GET /readyz: checks.database.embedding_dim) of finite float32 numbers. " +
    'Omitted or null: embedded by the server (MEMVAULT_EMBED_MODEL); a 400 naming `embedding` when it has none.',
  'x-messages': { type: 'must be an array of numbers' },
};

const metadataSchema: Schema = {
  type: ['object', 'null'],
  description: `A JSON object (default {}), at most ${MAX_METADATA_BYTES} bytes of JSON, nested at most ${MAX_METADATA_DEPTH} deep. Sealed.`,
  'x-messages': { type: 'must be a JSON object (not an array or null)' },
};

const userIdSchema = idSchema('The end user (tenant). Never stored: the database sees an HMAC of it.');
const docIdSchema = idSchema('The document the chunk belongs to (stored in plaintext: a filter).');
const sourceSchema = idSchema('Where the chunk came from (stored in plaintext: a filter).');

/** One chunk to store, without its user (POST /v1/chunks adds user_id; batches share one). */
const chunkProperties = {
  doc_id: docIdSchema,
  source: orNull({ ...sourceSchema, default: 'default' }),
  text: textSchema('The memory. Sealed.'),
  embedding: embeddingSchema,
  metadata: metadataSchema,
};

const uuid: Schema = { type: 'string', format: 'uuid' };

const timestamp: Schema = {
  type: 'string',
  format: 'date-time',
  description: 'ISO 8601, UTC, milliseconds.',
};

const chunkIdSchema: Schema = {
  type: 'string',
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  description: 'The chunk id a write answered (a lowercase UUID).',
  'x-messages': { default: 'must be a chunk id (a lowercase UUID as returned on write)' },
};

const versionSchema: Schema = {
  type: 'integer',
  minimum: 1,
  description: '1 when written, +1 per update; also the strong `ETag` (`"3"`) that `If-Match` compares.',
};

/** A stored chunk as the read routes show it (never its embedding). */
const chunkRecordSchema: Schema = {
  type: 'object',
  required: ['id', 'doc_id', 'source', 'text', 'metadata', 'version', 'created_at', 'updated_at'],
  properties: {
    id: uuid,
    doc_id: { type: 'string' },
    source: { type: 'string' },
    text: { type: 'string' },
    metadata: { type: 'object' },
    version: versionSchema,
    created_at: timestamp,
    updated_at: {
      ...timestamp,
      description: 'When the content last changed (a PATCH); re-sealing does not move it.',
    },
  },
};

const idempotencyKeyHeader: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[\\x21-\\x7e]+$',
  description:
    'Makes a retry safe: the same key and request within 24 hours answers the first response ' +
    '(`Idempotent-Replayed: true`) and writes nothing; the same key with another request is a 422. Per user, in the database.',
};

const ifMatchHeader: Schema = {
  type: 'string',
  description:
    'The chunk\'s `ETag` as read (`"3"`), or `*`: write only if the chunk is still at that version (else 412).',
};

const FILTER_DESCRIPTION =
  'Conditions on top-level metadata fields and timestamps: `{"tag": "work"}`, `{"tag": {"in": ["a", "b"]}}`, ' +
  '`eq` / `ne` / `in` / `nin`, `{"and": [...]}` / `{"or": [...]}` / `{"not": {...}}`, and ' +
  '`{"created_at": {"gte": "2026-01-01T00:00:00Z", "lt": ...}}` (also `updated_at`). Metadata stays sealed: ' +
  'fields are matched by per-tenant keyed tokens of (field, value), so only equality and sets of scalars ' +
  '(string, number, boolean, null) can be asked; a range, `contains` or a nested value is a 400 naming the clause ' +
  '(`filter.year.gt`). docs/API.md, "Filters".';

const filterSchema: Schema = {
  type: ['object', 'null'],
  description: FILTER_DESCRIPTION,
  'x-messages': { type: 'must be an object of conditions' },
};

const listFilters = {
  doc_id: idSchema('Only this document.'),
  source: idSchema('Only this source.'),
  filter: { type: 'string', description: `URL-encoded JSON. ${FILTER_DESCRIPTION}` },
};

const intInRange = (min: number, max: number, description: string): Schema => ({
  type: ['integer', 'null'],
  minimum: min,
  maximum: max,
  description,
  'x-messages': { default: `must be an integer from ${min} to ${max}` },
});

const rerankTextsSchema: Schema = {
  type: 'array',
  minItems: 1,
  items: textSchema('A candidate.'),
  description:
    'The candidates, 1 to RERANK_MAX_CANDIDATES (more: 400 too_large). Answered as `{results:[{index,score}]}`.',
  'x-messages': { type: 'must be an array of strings' },
};

const rerankDocumentsSchema: Schema = {
  type: 'array',
  minItems: 1,
  // One schema for both item forms: `pattern`/`maxLength` apply to strings, `properties` to objects.
  items: {
    type: ['string', 'object'],
    pattern: '\\S',
    maxLength: MAX_TEXT_BYTES,
    properties: { text: textSchema('The document.') },
    required: ['text'],
    description: 'A document: a string, or an object with a string `text` (other fields are ignored).',
    'x-messages': {
      type: 'must be a string or an object with a string "text"',
      pattern: 'must not be empty or only whitespace',
      maxLength: `must be at most ${MAX_TEXT_BYTES} bytes of UTF-8`,
    },
  },
  description:
    'Cohere / Infinity / Jina shape: the candidates, strings or `{text}` objects, 1 to RERANK_MAX_CANDIDATES. ' +
    'Answered as `{results:[{index,relevance_score,document?}]}`.',
  'x-messages': { type: 'must be an array' },
};

const errorBody = (codes: readonly string[]): Schema => ({
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: [...codes] },
        message: { type: 'string', description: 'For people; never quotes a value.' },
        field: { type: 'string', description: 'The offending field: `user_id`, `chunks[3].text`, `body`.' },
      },
    },
  },
});

// ---- routes ------------------------------------------------------------------------------------

const V1: readonly ErrorCode[] = ['unauthorized', 'too_many_requests', 'shutting_down', 'internal'];
const JSON_BODY: readonly ErrorCode[] = [
  'invalid_input',
  'too_large',
  'invalid_json',
  'invalid_body',
  'payload_too_large',
  'unsupported_media_type',
];
const DATABASE: readonly ErrorCode[] = ['database_unavailable', 'database_timeout'];
// The embedder runs when a write or query has no embedding.
const EMBEDDER: readonly ErrorCode[] = [
  'overloaded',
  'rerank_unavailable',
  'worker_crashed',
  'inference_failed',
  'model_unavailable',
];

export const operations = {
  createChunk: {
    operationId: 'createChunk',
    method: 'POST',
    path: '/v1/chunks',
    tag: 'memory',
    summary: 'Store one memory',
    auth: true,
    body: {
      type: 'object',
      required: ['user_id', 'doc_id', 'text'],
      properties: { user_id: userIdSchema, ...chunkProperties },
    },
    responses: {
      201: {
        description: 'Stored.',
        schema: { type: 'object', required: ['id'], properties: { id: uuid } },
      },
    },
    optionalHeaders: { 'Idempotency-Key': idempotencyKeyHeader },
    errors: [...V1, ...JSON_BODY, ...DATABASE, ...EMBEDDER, 'dimension_mismatch', 'idempotency_key_reused'],
  },
  createChunks: {
    operationId: 'createChunks',
    method: 'POST',
    path: '/v1/chunks/batch',
    tag: 'memory',
    summary: 'Store up to 1000 memories of one user, all or nothing',
    description: 'Any invalid chunk rejects the whole batch, and the error names it (`chunks[3].text`).',
    auth: true,
    body: {
      type: 'object',
      required: ['user_id', 'chunks'],
      properties: {
        user_id: userIdSchema,
        chunks: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_BATCH_CHUNKS,
          items: {
            type: 'object',
            required: ['doc_id', 'text'],
            properties: chunkProperties,
            'x-messages': { type: 'must be an object' },
          },
          'x-messages': {
            type: 'must be an array',
            maxItems: `must hold at most ${MAX_BATCH_CHUNKS} chunks`,
          },
        },
      },
    },
    responses: {
      201: {
        description: 'Stored; `ids` in input order.',
        schema: { type: 'object', required: ['ids'], properties: { ids: { type: 'array', items: uuid } } },
      },
    },
    optionalHeaders: { 'Idempotency-Key': idempotencyKeyHeader },
    errors: [...V1, ...JSON_BODY, ...DATABASE, ...EMBEDDER, 'dimension_mismatch', 'idempotency_key_reused'],
  },
  queryMemories: {
    operationId: 'queryMemories',
    method: 'POST',
    path: '/v1/query',
    tag: 'memory',
    summary: "Retrieve a user's memories most relevant to a query",
    description:
      'First stage by `mode` within the tenant (ANN, BM25 over the encrypted lexical index, or both ' +
      'fused), then the cross-encoder within `rerank_circuit_ms` (failing open to first-stage order, ' +
      'said by `reranked: false`), then the top `k`. docs/RETRIEVAL.md.',
    auth: true,
    body: {
      type: 'object',
      required: ['user_id', 'query'],
      properties: {
        user_id: userIdSchema,
        query: textSchema('What to look for.'),
        embedding: embeddingSchema,
        k: intInRange(1, 100, 'How many results (default 8).'),
        candidates: intInRange(1, 256, 'ANN candidates to rerank, at least k (default max(24, k)).'),
        rerank: {
          type: ['boolean', 'null'],
          description: '`false` switches reranking off for this request; it can never switch it on.',
          'x-messages': { default: 'must be true or false' },
        },
        doc_id: orNull(idSchema('Only this document.')),
        source: orNull(idSchema('Only this source.')),
        mode: {
          type: ['string', 'null'],
          enum: ['hybrid', 'dense', 'lexical', null],
          description:
            'First stage: `hybrid` (default: the live setting `retrieval_mode`), `dense` (ANN) or ' +
            '`lexical` (BM25). Without an embedding on a server without an embedder, hybrid answers lexically.',
          'x-messages': { default: 'must be one of "hybrid", "dense", "lexical"' },
        },
        filter: filterSchema,
      },
    },
    responses: {
      200: {
        description: 'The results, best first.',
        schema: {
          type: 'object',
          required: ['results', 'reranked', 'mode', 'timings_ms'],
          properties: {
            results: {
              type: 'array',
              items: {
                type: 'object',
                required: [
                  'id',
                  'doc_id',
                  'source',
                  'text',
                  'metadata',
                  'score',
                  'score_kind',
                  'ann_rank',
                  'lexical_rank',
                  'created_at',
                  'updated_at',
                ],
                properties: {
                  id: uuid,
                  doc_id: { type: 'string' },
                  source: { type: 'string' },
                  text: { type: 'string' },
                  metadata: { type: 'object' },
                  score: {
                    type: 'number',
                    description: 'The measure that ranked this hit; `score_kind` names it.',
                  },
                  score_kind: {
                    type: 'string',
                    enum: ['cosine', 'bm25', 'hybrid', 'rerank'],
                    description:
                      '`cosine`: cosine similarity of the embeddings (-1..1), mode dense; `bm25`: BM25 (>= 0), mode ' +
                      'lexical; `hybrid`: the fused score (0..1); `rerank`: the cross-encoder probability (0..1).',
                  },
                  ann_rank: {
                    type: ['integer', 'null'],
                    minimum: 1,
                    description: '1-based ANN position; null when the ANN side did not return the hit.',
                  },
                  lexical_rank: {
                    type: ['integer', 'null'],
                    minimum: 1,
                    description: '1-based BM25 position; null when the lexical side did not return the hit.',
                  },
                  created_at: timestamp,
                  updated_at: timestamp,
                },
              },
            },
            reranked: { type: 'boolean' },
            mode: {
              type: 'string',
              enum: ['hybrid', 'dense', 'lexical'],
              description: 'The first stage that answered (hybrid without a way to embed answers lexical).',
            },
            timings_ms: {
              type: 'object',
              description:
                '`embed` only when the server embedded the query; `lexical` analysing and keying the ' +
                "query's terms (lexical, hybrid); `search` the database call (ANN, BM25 or both); `rescore` " +
                're-scoring the dense candidates from their sealed float32 embeddings (dense, hybrid); `fuse` in hybrid.',
              additionalProperties: { type: 'number' },
            },
          },
        },
      },
    },
    errors: [
      ...V1,
      ...JSON_BODY,
      ...DATABASE,
      ...EMBEDDER,
      'dimension_mismatch',
      'limit_out_of_range',
      'integrity_error',
    ],
  },
  listChunks: {
    operationId: 'listChunks',
    method: 'GET',
    path: '/v1/users/{user_id}/chunks',
    tag: 'memory',
    summary: "A page of a user's memories, newest first",
    description:
      'Keyset pagination on (`created_at`, id): pass `next_cursor` back as `cursor` (with the same filters) for the ' +
      "next page. The cursor is opaque and bound to the user and filters: another user's, another filter's or an " +
      'altered one is a 400 naming `cursor`.',
    auth: true,
    params: { user_id: userIdSchema },
    query: {
      ...listFilters,
      limit: { type: 'integer', minimum: 1, maximum: 500, description: 'Chunks per page (default 50).' },
      cursor: { type: 'string', description: 'The `next_cursor` of the previous page.' },
    },
    responses: {
      200: {
        description: 'The page; `next_cursor` is null on the last one.',
        schema: {
          type: 'object',
          required: ['chunks', 'next_cursor'],
          properties: {
            chunks: { type: 'array', items: chunkRecordSchema },
            next_cursor: { type: ['string', 'null'] },
          },
        },
      },
    },
    errors: [...V1, 'invalid_input', 'too_large', ...DATABASE, 'integrity_error'],
  },
  getChunk: {
    operationId: 'getChunk',
    method: 'GET',
    path: '/v1/users/{user_id}/chunks/{id}',
    tag: 'memory',
    summary: 'Read one memory',
    description:
      "Answers the chunk with its `ETag`. Another user's chunk id is a 404, like one that does not exist.",
    auth: true,
    params: { user_id: userIdSchema, id: chunkIdSchema },
    responses: { 200: { description: 'The chunk (`ETag`: its version).', schema: chunkRecordSchema } },
    errors: [...V1, 'invalid_input', 'too_large', 'not_found', ...DATABASE, 'integrity_error'],
  },
  updateChunk: {
    operationId: 'updateChunk',
    method: 'PATCH',
    path: '/v1/users/{user_id}/chunks/{id}',
    tag: 'memory',
    summary: 'Correct one memory: its text and/or metadata',
    description:
      'New text is re-embedded (unless `embedding` comes with it); the chunk is re-sealed and re-indexed in one ' +
      'transaction and its version goes up by one. Without `If-Match`, a concurrent update is re-read and the ' +
      'patch applied on top of it; with `If-Match`, another version is a 412.',
    auth: true,
    params: { user_id: userIdSchema, id: chunkIdSchema },
    optionalHeaders: { 'If-Match': ifMatchHeader, 'Idempotency-Key': idempotencyKeyHeader },
    body: {
      type: 'object',
      properties: {
        text: orNull(textSchema('The corrected memory. Sealed.')),
        metadata: metadataSchema,
        embedding: {
          ...embeddingSchema,
          description: 'Only with `text`: its embedding (else the server embeds it).',
        },
      },
    },
    responses: {
      200: {
        description: 'Updated (`ETag`: the new version). No text or metadata: GET the chunk to read them.',
        schema: {
          type: 'object',
          required: ['id', 'doc_id', 'source', 'version', 'created_at', 'updated_at'],
          properties: {
            id: uuid,
            doc_id: { type: 'string' },
            source: { type: 'string' },
            version: versionSchema,
            created_at: timestamp,
            updated_at: timestamp,
          },
        },
      },
    },
    errors: [
      ...V1,
      ...JSON_BODY,
      'not_found',
      'version_conflict',
      'idempotency_key_reused',
      ...DATABASE,
      ...EMBEDDER,
      'dimension_mismatch',
      'integrity_error',
    ],
  },
  deleteChunk: {
    operationId: 'deleteChunk',
    method: 'DELETE',
    path: '/v1/users/{user_id}/chunks/{id}',
    tag: 'memory',
    summary: 'Forget one memory',
    auth: true,
    params: { user_id: userIdSchema, id: chunkIdSchema },
    optionalHeaders: { 'If-Match': ifMatchHeader },
    responses: {
      200: {
        description: 'Deleted (gone from search at once).',
        schema: { type: 'object', required: ['deleted'], properties: { deleted: { const: 1 } } },
      },
    },
    errors: [...V1, 'invalid_input', 'too_large', 'not_found', 'version_conflict', ...DATABASE],
  },
  exportChunks: {
    operationId: 'exportChunks',
    method: 'GET',
    path: '/v1/users/{user_id}/export',
    tag: 'memory',
    summary: 'Every memory of a user, opened, as NDJSON (access and portability requests)',
    description:
      'One chunk object per line (the shape `getChunk` answers), newest first, streamed 500 chunks at a time with ' +
      'constant server memory. An error after the first line breaks the connection (a complete export ends with a newline).',
    auth: true,
    params: { user_id: userIdSchema },
    query: listFilters,
    responses: { 200: { description: 'NDJSON, possibly empty.', contentType: 'application/x-ndjson' } },
    errors: [...V1, 'invalid_input', 'too_large', ...DATABASE, 'integrity_error'],
  },
  forgetDoc: {
    operationId: 'forgetDoc',
    method: 'DELETE',
    path: '/v1/users/{user_id}/docs/{doc_id}',
    tag: 'memory',
    summary: "Forget one document of a user's",
    description: 'Path parameters are percent-decoded after the path is split: send `/` in an id as `%2F`.',
    auth: true,
    params: { user_id: userIdSchema, doc_id: docIdSchema },
    responses: {
      200: {
        description: 'The number of chunks deleted (0 when nothing matched).',
        schema: {
          type: 'object',
          required: ['deleted'],
          properties: { deleted: { type: 'integer', minimum: 0 } },
        },
      },
    },
    errors: [...V1, 'invalid_input', 'too_large', ...DATABASE],
  },
  forgetUser: {
    operationId: 'forgetUser',
    method: 'DELETE',
    path: '/v1/users/{user_id}',
    tag: 'memory',
    summary: 'Forget a user entirely',
    auth: true,
    params: { user_id: userIdSchema },
    responses: {
      200: {
        description: 'The number of chunks deleted (0 when nothing matched).',
        schema: {
          type: 'object',
          required: ['deleted'],
          properties: { deleted: { type: 'integer', minimum: 0 } },
        },
      },
    },
    errors: [...V1, 'invalid_input', 'too_large', ...DATABASE],
  },
  rerank: {
    operationId: 'rerank',
    method: 'POST',
    path: '/v1/rerank',
    tag: 'rerank',
    summary: 'Score candidates against a query with the cross-encoder',
    description:
      "Two request shapes. memvault's own: `query`, `texts`, `top_n` → `{results:[{index,score}]}`. " +
      'Cohere / Infinity / Jina (what LangChain and LlamaIndex rerankers send): `query`, `documents`, ' +
      '`top_n`, `return_documents`, `model` (ignored) → `{results:[{index,relevance_score,document?}]}`. ' +
      'Best first, cut to `top_n`, within the live `rerank_circuit_ms` budget. Strict: never a silent ANN order.',
    auth: true,
    body: {
      type: 'object',
      required: ['query'],
      properties: {
        query: textSchema('The query.'),
        texts: rerankTextsSchema,
        documents: rerankDocumentsSchema,
        top_n: {
          type: ['integer', 'null'],
          minimum: 1,
          description: 'Keep the best n (default: all).',
          'x-messages': { default: 'must be a positive integer' },
        },
        return_documents: {
          type: ['boolean', 'null'],
          description: "With `documents`: include each result's `document: {text}` (default false).",
          'x-messages': { default: 'must be true or false' },
        },
        model: { description: 'Accepted and ignored (the server has one reranker: RERANK_MODEL).' },
      },
    },
    responses: {
      200: {
        description: 'Best first.',
        schema: {
          oneOf: [
            {
              title: 'memvault',
              type: 'object',
              required: ['results'],
              properties: {
                results: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['index', 'score'],
                    properties: {
                      index: { type: 'integer', minimum: 0 },
                      score: { type: 'number', description: 'sigmoid(logit), 0..1' },
                    },
                  },
                },
              },
            },
            {
              title: 'Cohere',
              type: 'object',
              required: ['id', 'results', 'meta'],
              properties: {
                id: { type: 'string', description: 'The request id (X-Request-Id).' },
                results: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['index', 'relevance_score'],
                    properties: {
                      index: { type: 'integer', minimum: 0 },
                      relevance_score: { type: 'number', description: 'sigmoid(logit), 0..1' },
                      document: {
                        type: 'object',
                        required: ['text'],
                        properties: { text: { type: 'string' } },
                      },
                    },
                  },
                },
                meta: { type: 'object' },
              },
            },
          ],
        },
      },
    },
    errors: [
      ...V1,
      ...JSON_BODY,
      'overloaded',
      'rerank_disabled',
      'rerank_unavailable',
      'model_loading',
      'worker_crashed',
      'inference_failed',
      'model_unavailable',
    ],
  },
  mcp: {
    operationId: 'mcp',
    method: 'POST',
    path: '/mcp',
    tag: 'mcp',
    summary: 'Model Context Protocol server (Streamable HTTP, stateless, JSON responses)',
    description:
      'MCP over Streamable HTTP for one end user, named by `X-Memvault-User-Id`, never by tool arguments. ' +
      'Tools: remember, recall, forget (docs/API.md, "MCP"). Each POST carries one JSON-RPC message; tool ' +
      'errors are tool results with `isError` and the codes of this API. GET and DELETE are 405: no sessions, ' +
      'no server-initiated stream.',
    auth: true,
    inClient: false,
    headers: {
      'X-Memvault-User-Id': {
        ...userIdSchema,
        description: `The end user whose memories the tools reach, percent-encoded UTF-8 (plain ASCII needs no encoding). ${String(userIdSchema.description)}`,
      },
    },
    body: {
      type: 'object',
      required: ['jsonrpc'],
      properties: {
        jsonrpc: { const: '2.0', 'x-messages': { default: 'must be "2.0" (a JSON-RPC 2.0 message)' } },
      },
      description: 'One JSON-RPC 2.0 message of the Model Context Protocol.',
    },
    responses: {
      200: { description: 'The JSON-RPC response.', schema: { type: 'object' } },
      202: { description: 'Accepted: the message was a notification or a response.' },
    },
    errors: [...V1, ...JSON_BODY],
  },
  health: {
    operationId: 'health',
    method: 'GET',
    path: '/healthz',
    tag: 'operations',
    summary: 'Liveness',
    auth: false,
    responses: {
      200: {
        description: 'The process runs.',
        schema: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
      },
    },
    // Requests that reach a draining server are answered 503 before routing.
    errors: ['shutting_down'],
  },
  ready: {
    operationId: 'ready',
    method: 'GET',
    path: '/readyz',
    tag: 'operations',
    summary: 'Readiness: the database answers and its migrations are current',
    auth: false,
    responses: {
      200: { description: 'Ready.', schema: readinessSchema() },
      503: { description: 'Not ready (or shutting down).', schema: readinessSchema() },
    },
    // Requests that reach a draining server are answered 503 before routing.
    errors: ['shutting_down'],
  },
  metrics: {
    operationId: 'metrics',
    method: 'GET',
    path: '/metrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    auth: false,
    responses: { 200: { description: 'Prometheus text format.', contentType: 'text/plain' } },
    // Requests that reach a draining server are answered 503 before routing.
    errors: ['shutting_down'],
  },
  memoryMetrics: {
    operationId: 'memoryMetrics',
    method: 'GET',
    path: '/metrics/memory',
    tag: 'operations',
    summary: "The reranker's metrics, state and live settings, the listener and the pool, as JSON",
    auth: false,
    responses: { 200: { description: 'A snapshot.', schema: { type: 'object' } } },
    // Requests that reach a draining server are answered 503 before routing.
    errors: ['shutting_down'],
  },
  openApi: {
    operationId: 'openApi',
    method: 'GET',
    path: '/openapi.json',
    tag: 'operations',
    summary: 'This document',
    auth: false,
    responses: { 200: { description: 'OpenAPI 3.1.', schema: { type: 'object' } } },
    // Requests that reach a draining server are answered 503 before routing.
    errors: ['shutting_down'],
  },
} satisfies Record<string, Operation>;

export type OperationId = keyof typeof operations;

/** Every operation, in declaration order. */
export const allOperations: readonly Operation[] = Object.values(operations);

export function errorBodySchema(codes: readonly string[]): Schema {
  return errorBody(codes);
}

function readinessSchema(): Schema {
  return {
    type: 'object',
    required: ['ready', 'checks'],
    properties: { ready: { type: 'boolean' }, checks: { type: 'object' } },
  };
}
