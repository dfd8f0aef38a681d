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
