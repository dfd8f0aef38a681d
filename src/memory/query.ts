/**
 * The query path: validate -> hash the user -> first stage by mode -> open the candidates' text ->
 * rerank within the latency budget (fail open to first-stage order) -> top-k -> open the metadata
 * of those k only. Each stage is timed (timings_ms and Prometheus).
 *
 * First stage (docs/RETRIEVAL.md): "dense" is the ANN search over embeddings; "lexical" is BM25
 * over the tenant's encrypted lexical index (the query's terms keyed under the tenant's term key);
 * "hybrid" runs both in one database call (memory.search_candidates_chunks, dense candidates
 * over-fetched and re-scored exactly by ./rescore.ts) and fuses them (./fuse.ts).
 * Without an embedding and an embedder to make one, hybrid answers lexically rather than refusing.
 * Stages: `embed` (the query's embedding), `lexical` (analysing and keying the query's terms),
 * `search` (the database call: ANN, BM25 or both), `fuse` (hybrid).
 */
import { hmacUser, termKeyOf } from '../crypto/index.js';
import { StaleDataKeyError } from '../db/errors.js';
import { type FilterTree, searchLexicalChunks, type Timestamps } from '../db/filters.js';
import type { CandidateRow, LexicalSearchRow } from '../db/procedures.js';
import { ValidationError } from '../errors.js';
import { defaultAnalyzer, queryTokens } from '../lexical/index.js';
import { maybeRerank } from '../rerank/index.js';
import { type MemoryContext, onReadPool, tenantKeys } from './context.js';
import { compileFilter, type Filter, parseFilter } from './filter.js';
import { tenantFilterKey } from './filter-tokens.js';
import { fuseConvex } from './fuse.js';
import { countQuery, observeStage, type QueryStage } from './metrics.js';
import { overfetchLimit, rescore } from './rescore.js';
import { currentRetrievalSettings, RETRIEVAL_MODES, type RetrievalMode } from './retrieval-settings.js';
import { dataKeyIds, openMetadata, openText, placeOf } from './seal-chunk.js';
import { searchKeyed } from './search-keyed.js';
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
  /** "hybrid" | "dense" | "lexical"; absent: the live setting retrieval_mode (default hybrid). */
  mode?: unknown;
  /** Conditions on metadata and timestamps (src/memory/filter.ts), applied by every first stage. */
  filter?: unknown;
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
  /** 1-based position in the ANN candidate list; null when the ANN side did not return it. */
  annRank: number | null;
  /** 1-based position in the BM25 candidate list; null when the lexical side did not return it. */
  lexicalRank: number | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * What a hit's `score` measures. `cosine`: cosine similarity of the query and chunk embeddings
 * (1 - pgvector's cosine distance; -1..1, higher is nearer). `bm25`: the chunk's BM25 score for
 * the query's terms (>= 0, unbounded; comparable within one query only). `hybrid`: the fused
 * score, w * BM25' + (1 - w) * cosine' with each side min-max scaled over its candidates (0..1).
 * `rerank`: the cross-encoder's probability that the chunk answers the query (0..1).
 */
export type ScoreKind = 'cosine' | 'bm25' | 'hybrid' | 'rerank';

const FIRST_STAGE_SCORE: Record<RetrievalMode, ScoreKind> = {
  dense: 'cosine',
  lexical: 'bm25',
  hybrid: 'hybrid',
};

export interface QueryResult {
  results: QueryHit[];
  reranked: boolean;
  /** The first stage that answered (hybrid falls back to lexical without an embedding). */
  mode: RetrievalMode;
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
  mode: RetrievalMode | undefined;
  filter: Filter | undefined;
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
  if (!isAbsent(input.mode) && !RETRIEVAL_MODES.includes(input.mode as RetrievalMode))
    throw new ValidationError('mode', `must be one of ${RETRIEVAL_MODES.map((m) => `"${m}"`).join(', ')}`);
  return {
    userId,
    query,
    embedding,
    k,
    candidates,
    rerank: isAbsent(input.rerank) ? undefined : (input.rerank as boolean),
    docId: isAbsent(input.docId) ? undefined : validateId(input.docId, 'doc_id'),
    source: isAbsent(input.source) ? undefined : validateId(input.source, 'source'),
    mode: isAbsent(input.mode) ? undefined : (input.mode as RetrievalMode),
    filter: parseFilter(input.filter),
  };
}

/** A first-stage candidate: the row's ciphertexts, the score that placed it, and its ranks. */
interface Candidate {
  row: (LexicalSearchRow | CandidateRow) & Timestamps;
  score: number;
  annRank: number | null;
  lexicalRank: number | null;
}

type Timings = Partial<Record<QueryStage, number>>;

/** Runs `work` and records its duration as `stage` (stages of the two sides overlap in hybrid). */
async function timed<T>(timings: Timings, stage: QueryStage, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    const ms = performance.now() - started;
    timings[stage] = round(ms);
    observeStage(stage, ms);
  }
}

export async function queryMemory(
  ctx: MemoryContext,
  input: QueryInput,
  options: { signal?: AbortSignal } = {},
): Promise<QueryResult> {
  const timings: Timings = {};
  const started = performance.now();
  const q = validateQuery(input, ctx.dim);
  const mode = effectiveMode(q, ctx);
  const userHash = hmacUser(q.userId);
  const limits = { limit: q.candidates, docId: q.docId, source: q.source };

  // The query's embedding: given, else the embedder's (a recent one of the same text for this
  // tenant from ctx.queryEmbeddings when the daemon keeps them; `embed` then times the lookup).
  const embedQuery = async (): Promise<Float32Array> => {
    if (q.embedding) return q.embedding;
    const signal = options.signal ? { signal: options.signal } : {};
    const run = async (): Promise<Float32Array> => (await ctx.embedder!.embed([q.query], signal))[0]!;
    const cache = ctx.queryEmbeddings;
    return timed(timings, 'embed', () => (cache ? cache.embedding(userHash, q.query, run) : run()));
  };
  // The query's keyed tokens: its terms under the term key of the tenant's active data key (the
  // key the index is written with); none for a tenant without a key (it has written nothing).
  const keyStore = tenantKeys(ctx);
  const keyQueryTerms = (): Promise<{ tokens: bigint[]; termKeyId: number | null }> =>
    timed(timings, 'lexical', async () => {
      const dek = await keyStore.currentKey(userHash);
      return dek
        ? { tokens: queryTokens(defaultAnalyzer(), termKeyOf(dek), q.query), termKeyId: dek.id }
        : { tokens: [], termKeyId: null };
    });
  // A data key replaced since we cached it (reseal --tenant) is refused (StaleDataKeyError): the
  // tokens would match nothing. Re-read the tenant's keys once and run again, as writes do.
  const retryOnStaleKey = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (thrown) {
      if (!(thrown instanceof StaleDataKeyError)) throw thrown;
      keyStore.forget(userHash);
      return run();
    }
  };

  // A filter is keyed for the tenant (after its unkeyed chunks are keyed, so none is missed) and
  // applied by whichever first stage runs; a tenant without a data key has no chunks to match.
  let filter: FilterTree | null = null;
  if (q.filter) {
    const filterKey = await timed(timings, 'filter', () => tenantFilterKey(ctx, userHash));
    if (!filterKey) return { results: [], reranked: false, mode, timingsMs: timings };
    filter = compileFilter(q.filter, filterKey);
  }

  // Dense and hybrid: the dense side is over-fetched from the halfvec search layout and re-scored
  // from the sealed float32 embeddings before the cut (./rescore.ts); `rescore` is that stage
  // (opening the embeddings and sorting). The query is searched by its search vector under each
  // vector key the tenant's rows are protected with (./search-keyed.ts) and re-scored by its
  // embedding.
  const denseFirstStage = async (embedding: Float32Array, withTokens: boolean) => {
    const overfetch = currentRetrievalSettings().rescoreOverfetch;
    const rows = await retryOnStaleKey(async () => {
      const { tokens, termKeyId } = withTokens ? await keyQueryTerms() : { tokens: [], termKeyId: null };
      return timed(timings, 'search', () =>
        onReadPool(ctx, userHash, (pool) =>
          searchKeyed(
            pool,
            keyStore,
            userHash,
            embedding,
            tokens,
            termKeyId,
            {
              denseLimit: overfetchLimit(q.candidates, overfetch),
              lexicalLimit: q.candidates,
              docId: q.docId,
              source: q.source,
            },
            filter,
            ctx.protectVectors !== false,
          ),
        ),
      );
    });
    const started = performance.now();
    const dense = rows.filter((row) => row.side === 'dense');
    const lookup = await keyStore.lookup(userHash, dataKeyIds(dense.map((row) => row.text_cipher)));
    const rescored = rescore(userHash, embedding, dense, lookup, q.candidates);
    const ms = performance.now() - started;
    timings.rescore = round(ms);
    observeStage('rescore', ms);
    return { rescored, lexical: rows.filter((row) => row.side === 'lexical') };
  };

  let candidates: Candidate[];
  if (mode === 'dense') {
    const { rescored } = await denseFirstStage(await embedQuery(), false);
    candidates = rescored.map(({ row, score }, i) => ({ row, score, annRank: i + 1, lexicalRank: null }));
  } else if (mode === 'lexical') {
    const rows = await retryOnStaleKey(async () => {
      const { tokens, termKeyId } = await keyQueryTerms();
      if (tokens.length === 0) return [];
      return timed(timings, 'search', () =>
        onReadPool(ctx, userHash, (pool) =>
          searchLexicalChunks(pool, userHash, tokens, termKeyId!, limits, filter),
        ),
      );
    });
    candidates = rows.map((row, i) => ({ row, score: row.score, annRank: null, lexicalRank: i + 1 }));
  } else {
    // Hybrid: both sides in one round trip (one pooled connection per query, as dense).
    const { rescored, lexical } = await denseFirstStage(await embedQuery(), true);
    candidates = fuse(
      rescored.map(({ row, score }) => ({ ...row, score })),
      lexical,
      q.candidates,
      timings,
    );
  }

  let mark = performance.now();
  const lap = (stage: QueryStage): void => {
    const now = performance.now();
    timings[stage] = round(now - mark);
    observeStage(stage, now - mark);
    mark = now;
  };
  const rows = candidates.map((c) => c.row);
  const keys = await keyStore.lookup(userHash, dataKeyIds(rows.map((row) => row.text_cipher)));
  const texts = rows.map((row) => openText(userHash, placeOf(row), row.text_cipher, keys));
  lap('open_text');

  let reranked = false;
  let order = candidates.map((c, index) => ({ index, score: c.score }));
  if (texts.length > 0) {
    const outcome = await maybeRerank(q.query, texts, {
      userHash,
      ...(q.rerank === undefined ? {} : { rerank: q.rerank }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    reranked = outcome.reranked;
    // Not reranked: the first stage's order and scores stand.
    if (reranked) order = outcome.results;
    lap('rerank');
  }

  const results = order.slice(0, q.k).map(({ index, score }): QueryHit => {
    const { row, annRank, lexicalRank } = candidates[index]!;
    return {
      id: row.id,
      docId: row.doc_id,
      source: row.source,
      text: texts[index]!,
      metadata: openMetadata(userHash, placeOf(row), row.meta_cipher, keys),
      score,
      scoreKind: reranked ? 'rerank' : FIRST_STAGE_SCORE[mode],
      annRank,
      lexicalRank,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  });
  lap('open_metadata');
  timings.total = round(performance.now() - started);
  observeStage('total', performance.now() - started);
  countQuery(reranked);
  return { results, reranked, mode, timingsMs: timings };
}

/**
 * The mode that answers: the request's, else the live setting. Hybrid without a way to embed the
 * query answers lexically; dense without one is refused, as before there was a lexical index.
 */
function effectiveMode(q: ValidQuery, ctx: MemoryContext): RetrievalMode {
  const requested = q.mode ?? currentRetrievalSettings().mode;
  const canEmbed = q.embedding !== undefined || ctx.embedder !== undefined;
  if (requested === 'dense' && !canEmbed)
    throw new ValidationError('embedding', 'is required: this server has no embedder (MEMVAULT_EMBED_MODEL)');
  return requested === 'hybrid' && !canEmbed ? 'lexical' : requested;
}

/**
 * Hybrid: each side's candidates in rank order, fused (./fuse.ts), cut to the candidate count.
 * `dense` comes re-scored and in order; the lexical rows come unordered (score, then id, is the
 * order its query ranks).
 */
function fuse(
  dense: Array<CandidateRow & Timestamps>,
  lexicalRows: Array<CandidateRow & Timestamps>,
  limit: number,
  timings: Timings,
): Candidate[] {
  const started = performance.now();
  const lexical = [...lexicalRows].sort(
    (a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const byId = new Map<string, CandidateRow & Timestamps>();
  for (const row of [...lexical, ...dense]) if (!byId.has(row.id)) byId.set(row.id, row);
  const fused = fuseConvex(
    lexical.map((row) => ({ key: row.id, score: row.score })),
    dense.map((row) => ({ key: row.id, score: row.score })),
    currentRetrievalSettings().lexicalWeight,
  );
  const candidates = fused.slice(0, limit).map((f) => ({
    row: byId.get(f.key)!,
    score: f.score,
    annRank: f.denseRank ?? null,
    lexicalRank: f.lexicalRank ?? null,
  }));
  const ms = performance.now() - started;
  timings.fuse = round(ms);
  observeStage('fuse', ms);
  return candidates;
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
