/**
 * The query path: validate -> hash the user -> ANN top-N candidates (tenant via RLS) -> open the
 * candidates' text -> rerank within the latency budget (fail open to ANN order) -> top-k -> open
 * the metadata of those k only. Each stage is timed (timings_ms and Prometheus).
 */
import { hmacUser } from '../crypto/index.js';
import { search } from '../db/procedures.js';
import { ValidationError } from '../errors.js';
import { maybeRerank } from '../rerank/index.js';
import { type MemoryContext, onReadPool, tenantKeys } from './context.js';
import { countQuery, observeStage, type QueryStage } from './metrics.js';
import { dataKeyIds, openMetadata, openText } from './seal-chunk.js';
import { validateEmbedding, validateId, validateText } from './validate.js';

export const DEFAULT_K = 8;
export const DEFAULT_CANDIDATES = 24;
export const MAX_K = 100;
/** More candidates than this would not fit the rerank budget anyway. */
export const MAX_CANDIDATES = 256;

export interface QueryInput {
  userId: unknown;
  query: unknown;
  embedding?: unknown;
  k?: unknown;
  candidates?: unknown;
  rerank?: unknown;
  docId?: unknown;
  source?: unknown;
}

export interface QueryHit {
  id: string;
  docId: string;
  source: string;
  text: string;
  metadata: Record<string, unknown>;
  /** The measure that ranked this hit; `scoreKind` says which (docs/API.md, "Scores"). */
  score: number;
  scoreKind: ScoreKind;
  /** 1-based position in the ANN candidate list. */
  annRank: number;
}

/**
 * What a hit's `score` measures. `cosine`: cosine similarity of the query and chunk embeddings
 * (1 - pgvector's cosine distance; -1..1, higher is nearer). `rerank`: the cross-encoder's
 * probability that the chunk answers the query (0..1). Other ranking modes add their own kind.
 */
export type ScoreKind = 'cosine' | 'rerank';

export interface QueryResult {
  results: QueryHit[];
  reranked: boolean;
  timingsMs: Partial<Record<QueryStage, number>>;
}

interface ValidQuery {
  userId: string;
  query: string;
  embedding: Float32Array | undefined;
  k: number;
  candidates: number;
  rerank: boolean | undefined;
  docId: string | undefined;
  source: string | undefined;
}

export function validateQuery(input: QueryInput, dim: number): ValidQuery {
  const userId = validateId(input.userId, 'user_id');
  const query = validateText(input.query, 'query');
  const embedding = isAbsent(input.embedding)
    ? undefined
    : validateEmbedding(input.embedding, dim, 'embedding');
  const k = optionalInt(input.k, 'k', DEFAULT_K, 1, MAX_K);
  const candidates = optionalInt(
    input.candidates,
    'candidates',
    Math.max(DEFAULT_CANDIDATES, k),
    1,
    MAX_CANDIDATES,
  );
  if (candidates < k) throw new ValidationError('candidates', 'must be at least k');
  if (!isAbsent(input.rerank) && typeof input.rerank !== 'boolean')
    throw new ValidationError('rerank', 'must be true or false');
  return {
    userId,
    query,
    embedding,
    k,
    candidates,
    rerank: isAbsent(input.rerank) ? undefined : (input.rerank as boolean),
    docId: isAbsent(input.docId) ? undefined : validateId(input.docId, 'doc_id'),
    source: isAbsent(input.source) ? undefined : validateId(input.source, 'source'),
  };
}

export async function queryMemory(
  ctx: MemoryContext,
  input: QueryInput,
  options: { signal?: AbortSignal } = {},
): Promise<QueryResult> {
  const timings: Partial<Record<QueryStage, number>> = {};
  const started = performance.now();
  let mark = started;
  const lap = (stage: QueryStage): void => {
    const now = performance.now();
    timings[stage] = round(now - mark);
    observeStage(stage, now - mark);
    mark = now;
  };

  const q = validateQuery(input, ctx.dim);
  let embedding = q.embedding;
  if (!embedding) {
    if (!ctx.embedder)
      throw new ValidationError(
        'embedding',
        'is required: this server has no embedder (MEMVAULT_EMBED_MODEL)',
      );
    [embedding] = await ctx.embedder.embed([q.query], options.signal ? { signal: options.signal } : {});
    lap('embed');
  }
  const userHash = hmacUser(q.userId);
  const rows = await onReadPool(ctx, userHash, (pool) =>
    search(pool, userHash, embedding!, { limit: q.candidates, docId: q.docId, source: q.source }),
  );
  const keys = await tenantKeys(ctx).lookup(userHash, dataKeyIds(rows.map((row) => row.text_cipher)));
  lap('search');
  const texts = rows.map((row) => openText(userHash, row.id, row.text_cipher, keys));
  lap('open_text');

  let reranked = false;
  let order = rows.map((row, index) => ({ index, score: cosineSimilarity(row.distance) }));
  if (texts.length > 0) {
    const outcome = await maybeRerank(q.query, texts, {
      userHash,
      ...(q.rerank === undefined ? {} : { rerank: q.rerank }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    reranked = outcome.reranked;
    // Fallen back to ANN order: keep the cosine scores, which say more than 1 - i/n.
    if (reranked) order = outcome.results;
    lap('rerank');
  }

  const results = order.slice(0, q.k).map(({ index, score }): QueryHit => {
    const row = rows[index]!;
    return {
      id: row.id,
      docId: row.doc_id,
      source: row.source,
      text: texts[index]!,
      metadata: openMetadata(userHash, row.id, row.meta_cipher, keys),
      score,
      scoreKind: reranked ? 'rerank' : 'cosine',
      annRank: index + 1,
    };
  });
  lap('open_metadata');
  timings.total = round(performance.now() - started);
  observeStage('total', performance.now() - started);
  countQuery(reranked);
  return { results, reranked, timingsMs: timings };
}

/** pgvector's `<=>` is cosine distance, 1 - cos(a, b). */
function cosineSimilarity(distance: number): number {
  return 1 - distance;
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

function optionalInt(value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (isAbsent(value)) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
