/**
 * The request and answer types of the HTTP API, as the client sends and receives them (snake_case,
 * as on the wire). They mirror src/api/schema.ts; test/client/client.test.ts checks the client
 * against the running server and test/http/contract.test.ts that it has a method per operation.
 */

export interface ChunkInput {
  doc_id: string;
  /** Default "default". */
  source?: string;
  text: string;
  /** Exactly the schema's dimension; omitted: the server embeds the text (if it has an embedder). */
  embedding?: number[];
  metadata?: Record<string, unknown>;
}

export interface CreateChunkRequest extends ChunkInput {
  user_id: string;
}

export interface CreateChunksRequest {
  user_id: string;
  /** 1 to 1000, all or nothing. */
  chunks: ChunkInput[];
}

export interface QueryRequest {
  user_id: string;
  query: string;
  embedding?: number[];
  /** 1-100, default 8. */
  k?: number;
  /** k-256, default max(24, k). */
  candidates?: number;
  /** `false` switches reranking off for this request. */
  rerank?: boolean;
  doc_id?: string;
  source?: string;
  /** First stage: `hybrid` (server default), `dense` or `lexical`. */
  mode?: 'hybrid' | 'dense' | 'lexical';
  /** Conditions on metadata fields and timestamps (docs/API.md, "Filters"). */
  filter?: Filter;
  /** Fields newer servers accept pass through unchanged. */
  [field: string]: unknown;
}

export interface QueryHit {
  id: string;
  doc_id: string;
  source: string;
  text: string;
  metadata: Record<string, unknown>;
  score: number;
  /** What `score` measures: `cosine`, `bm25`, `hybrid` or `rerank` (newer servers may add kinds). */
  score_kind: string;
  /** 1-based positions in the ANN and BM25 candidate lists; null when that side did not return it. */
  ann_rank: number | null;
  lexical_rank: number | null;
  created_at: string;
  updated_at: string;
}

/** A stored chunk as the read routes answer it (never its embedding). */
export interface ChunkRecord {
  id: string;
  doc_id: string;
  source: string;
  text: string;
  metadata: Record<string, unknown>;
  /** 1 when written, +1 per update; `If-Match` compares it. */
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ListChunksRequest {
  doc_id?: string;
  source?: string;
  /** 1-500, default 50. */
  limit?: number;
  /** The previous page's `next_cursor` (same filters). */
  cursor?: string;
  /** Conditions on metadata fields and timestamps (docs/API.md, "Filters"); sent as JSON. */
  filter?: Filter;
}

/**
 * A filter: `{ field: value }`, `{ field: { eq | ne: value } }`, `{ field: { in | nin: [...] } }`,
 * `{ and | or: [...] }`, `{ not: {...} }`, `{ created_at | updated_at: { gt | gte | lt | lte: ISO } }`.
 */
export type Filter = Record<string, unknown>;

export interface ChunkPage {
  chunks: ChunkRecord[];
  /** null on the last page. */
  next_cursor: string | null;
}

export interface UpdateChunkRequest {
  text?: string;
  /** Replaces the whole metadata object. */
  metadata?: Record<string, unknown>;
  /** Only with `text`: its embedding (else the server embeds it). */
  embedding?: number[];
}

export interface UpdatedChunk {
  id: string;
  doc_id: string;
  source: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface QueryResponse {
  results: QueryHit[];
  reranked: boolean;
  /** The first stage that answered. */
  mode: 'hybrid' | 'dense' | 'lexical';
  timings_ms: Record<string, number>;
}

export interface RerankRequest {
  query: string;
  texts: string[];
  top_n?: number;
}

export interface RerankResponse {
  results: Array<{ index: number; score: number }>;
}

/** Cohere's rerank shape, which the server also speaks. */
export interface CohereRerankRequest {
  query: string;
  documents: Array<string | { text: string }>;
  top_n?: number;
  return_documents?: boolean;
  model?: string;
}

export interface CohereRerankResponse {
  id: string;
  results: Array<{ index: number; relevance_score: number; document?: { text: string } }>;
  meta: Record<string, unknown>;
}

export interface DeletedResponse {
  deleted: number;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, unknown>;
}

/** The API's error body. */
export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}
