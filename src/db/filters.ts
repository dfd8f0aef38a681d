/**
 * The filter procedures (db/functions/filter.sql, filtered.sql): list and search with a compiled
 * filter over sealed metadata, and keying a tenant's chunks that have no filter tokens under its
 * active data key yet.
 */
import {
  bigintArray,
  call,
  type CandidateOptions,
  type CandidateRow,
  type LexicalSearchRow,
  type ListOptions,
  type ListPosition,
  type Queryable,
  type SearchOptions,
  vectorLiteral,
  type VersionedChunkRow,
} from './procedures.js';

/** memory.filter_predicate's input: a filter with tokens, built by src/memory/filter.ts. */
export type FilterTree = unknown;

/** What the API reports with every chunk. */
export interface Timestamps {
  created_at: Date;
  updated_at: Date;
}

export async function listChunksFiltered(
  db: Queryable,
  userHash: string,
  options: ListOptions,
  filter: FilterTree,
): Promise<Array<VersionedChunkRow & { position: ListPosition }>> {
  const rows = await call<VersionedChunkRow & { version: string; created_us: string }>(
    db,
    'select * from memory.list_chunks_filtered($1::text, $2::integer, $3::text, $4::text, $5::bigint, $6::uuid, $7::jsonb)',
    [
      userHash,
      options.limit,
      options.docId ?? null,
      options.source ?? null,
      options.before?.createdUs.toString() ?? null,
      options.before?.id ?? null,
      JSON.stringify(filter),
    ],
  );
  return rows.map(({ created_us, ...row }) => ({
    ...row,
    version: Number(row.version),
    position: { createdUs: BigInt(created_us), id: row.id },
  }));
}

/**
 * memory.search_lexical with each hit's timestamps and, when given, a filter (best first;
 * StaleDataKeyError when `termKeyId` is no longer the tenant's active key).
 */
export function searchLexicalChunks(
  db: Queryable,
  userHash: string,
  tokens: bigint[],
  termKeyId: number,
  options: SearchOptions,
  filter: FilterTree | null,
): Promise<Array<LexicalSearchRow & Timestamps>> {
  return call<LexicalSearchRow & Timestamps>(
    db,
    'select * from memory.search_lexical_chunks($1::text, $2::bigint[], $3::integer, $4::text, $5::text, $6::integer, $7::jsonb)',
    [
      userHash,
      bigintArray(tokens),
      options.limit,
      options.docId ?? null,
      options.source ?? null,
      termKeyId,
      filter === null ? null : JSON.stringify(filter),
    ],
  );
}

/**
 * memory.search_candidates (the dense or hybrid first stage, dense rows with their sealed
 * embeddings for re-scoring) with each row's timestamps and, when given, a filter on both sides.
 */
export function searchCandidatesChunks(
  db: Queryable,
  userHash: string,
  queryVector: ArrayLike<number>,
  tokens: bigint[],
  termKeyId: number | null,
  options: CandidateOptions,
  filter: FilterTree | null,
): Promise<Array<CandidateRow & Timestamps>> {
  return call<CandidateRow & Timestamps>(
    db,
    'select * from memory.search_candidates_chunks($1::text, $2::public.vector, $3::integer, $4::bigint[], $5::integer, $6::text, $7::text, $8::integer, $9::jsonb)',
    [
      userHash,
      vectorLiteral(queryVector),
      options.denseLimit,
      bigintArray(tokens),
      options.lexicalLimit,
      options.docId ?? null,
      options.source ?? null,
      termKeyId,
      filter === null ? null : JSON.stringify(filter),
    ],
  );
}

/** A chunk without filter tokens under the active key; doc_id and source open its metadata (AAD). */
export interface FilterBacklogRow {
  id: string;
  doc_id: string;
  source: string;
  meta_cipher: Buffer;
}

/** One query vector of a keyed search: the vectors of (scheme, keyId) are compared with it. */
export interface KeyedQuery {
  vector: ArrayLike<number>;
  scheme: number;
  keyId: number;
}

/** A (scheme, key) the tenant holds search vectors under but the call sent no query for. */
export interface MissingVectorKey {
  scheme: number;
  keyId: number;
}

/**
 * memory.search_candidates_chunks with one query vector per (vector scheme, key) (protected
 * vectors, issue 13). Either the candidates (each dense query's nearest rows, unordered, and the
 * lexical side), or, when the tenant holds vectors under pairs not queried, those pairs and no rows:
 * the caller adds their queries and calls again.
 */
export async function searchCandidatesKeyed(
  db: Queryable,
  userHash: string,
  queries: ReadonlyArray<KeyedQuery>,
  tokens: bigint[],
  termKeyId: number | null,
  options: CandidateOptions,
  filter: FilterTree | null,
): Promise<{ rows: Array<CandidateRow & Timestamps>; missing: MissingVectorKey[] }> {
  const rows = await call<CandidateRow & Timestamps>(
    db,
    'select * from memory.search_candidates_chunks($1::text, $2::public.vector[], $3::smallint[], $4::integer[], $5::integer,' +
      ' $6::bigint[], $7::integer, $8::text, $9::text, $10::integer, $11::jsonb)',
    [
      userHash,
      queries.map((q) => vectorLiteral(q.vector)),
      queries.map((q) => q.scheme),
      queries.map((q) => q.keyId),
      options.denseLimit,
      bigintArray(tokens),
      options.lexicalLimit,
      options.docId ?? null,
      options.source ?? null,
      termKeyId,
      filter === null ? null : JSON.stringify(filter),
    ],
  );
  const missing = rows
    .filter((row) => (row.side as string) === 'vector_key')
    .map((row) => ({ scheme: row.score, keyId: row.key_id }));
  return { rows: missing.length > 0 ? [] : rows, missing };
}

/**
 * The tenant's active data key id and up to `limit` of its chunks not keyed under it (`backlog`);
 * undefined when the tenant has no data key (so no chunks).
 */
export async function filterBacklog(
  db: Queryable,
  userHash: string,
  limit: number,
): Promise<{ keyId: number; backlog: FilterBacklogRow[] } | undefined> {
  const rows = await call<{
    key_id: number;
    id: string | null;
    doc_id: string | null;
    source: string | null;
    meta_cipher: Buffer | null;
  }>(db, 'select * from memory.filter_backlog($1::text, $2::integer)', [userHash, limit]);
  if (rows.length === 0) return undefined;
  return {
    keyId: rows[0]!.key_id,
    backlog: rows.flatMap((row) =>
      row.id && row.meta_cipher
        ? [{ id: row.id, doc_id: row.doc_id!, source: row.source!, meta_cipher: row.meta_cipher }]
        : [],
    ),
  };
}

/** Stores chunks' filter tokens: `tokens[j]` belongs to `ids[chunks[j] - 1]`. */
export async function storeFilterTokens(
  db: Queryable,
  userHash: string,
  ids: string[],
  chunks: number[],
  tokens: bigint[],
  keyId: number,
): Promise<number> {
  const rows = await call<{ n: number }>(
    db,
    'select memory.store_filter_tokens($1::text, $2::uuid[], $3::integer[], $4::bigint[], $5::integer) as n',
    [userHash, ids, chunks, tokens.map(String), keyId],
  );
  return rows[0]!.n;
}
