/**
 * The database call of the dense (and hybrid) first stage over protected search vectors (issue 13,
 * docs/CRYPTO.md "Protected vectors"). A tenant's rows are normally all protected under its active
 * data key, and the query goes as rotate(q) under that key's vector key. While its rows are being
 * migrated (`memvault reindex vectors` protecting clear rows, `reseal --tenant` moving them to a
 * new key) some are under another (scheme, key): the database then answers with the pairs it holds
 * but was not asked about, and the query is sent again with a query vector for each. Re-scoring
 * from the sealed embeddings (./rescore.ts) makes the merge of the per-key candidates exact.
 *
 * The extra pairs of a tenant are remembered for a short while, so a tenant in migration costs one
 * round trip per query, not two; a remembered pair the tenant no longer holds costs the database
 * nothing (it skips a query for a pair it does not hold).
 */
import { clearSearchVector, querySearchVector, type SearchVector } from '../crypto/index.js';
import {
  type FilterTree,
  type KeyedQuery,
  type MissingVectorKey,
  searchCandidatesChunks,
  searchCandidatesKeyed,
  type Timestamps,
} from '../db/filters.js';
import type { CandidateOptions, CandidateRow, Queryable } from '../db/procedures.js';
import type { TenantKeys } from './context.js';

/** How long a tenant's extra (scheme, key) pairs are remembered. */
const REMEMBER_MS = 60_000;
/** At most this many tenants remembered (a migration touches many; each entry is small). */
const REMEMBER_MAX = 10_000;

const remembered = new Map<string, { pairs: MissingVectorKey[]; until: number }>();

function rememberedPairs(userHash: string): MissingVectorKey[] {
  const entry = remembered.get(userHash);
  if (!entry) return [];
  if (entry.until < Date.now()) {
    remembered.delete(userHash);
    return [];
  }
  return entry.pairs;
}

function remember(userHash: string, pairs: MissingVectorKey[]): void {
  remembered.delete(userHash);
  if (remembered.size >= REMEMBER_MAX) remembered.delete(remembered.keys().next().value!);
  remembered.set(userHash, { pairs, until: Date.now() + REMEMBER_MS });
}

/** For tests: forget every remembered pair. */
export function forgetRememberedVectorKeys(): void {
  remembered.clear();
}

/**
 * The query's search vector for one (scheme, key) pair. A data key the daemon cannot find (never
 * expected: `reseal --tenant` re-transforms a tenant's vectors before destroying its old key) gets
 * the clear embedding, so the rows are still fetched, in no useful order, and re-scored exactly.
 */
async function queryFor(
  keys: TenantKeys,
  userHash: string,
  embedding: Float32Array,
  pair: MissingVectorKey,
): Promise<KeyedQuery> {
  if (pair.keyId === 0) return clearSearchVector(embedding);
  const lookup = await keys.lookup(userHash, [pair.keyId]);
  const dek = lookup(pair.keyId);
  const made: SearchVector = dek ? querySearchVector(embedding, dek) : clearSearchVector(embedding);
  return { vector: made.vector, scheme: pair.scheme, keyId: pair.keyId };
}

function samePair(a: { scheme: number; keyId: number }, b: { scheme: number; keyId: number }): boolean {
  return a.scheme === b.scheme && a.keyId === b.keyId;
}

/**
 * Dense candidates (each (scheme, key)'s nearest `denseLimit`, unordered) and, with tokens, the
 * lexical ones, for one tenant's query embedding.
 */
export async function searchKeyed(
  db: Queryable,
  keys: TenantKeys,
  userHash: string,
  embedding: Float32Array,
  tokens: bigint[],
  termKeyId: number | null,
  options: CandidateOptions,
  filter: FilterTree | null,
  /** false: the clear path of the release before (MemoryContext.protectVectors; benchmarks only). */
  protect = true,
): Promise<Array<CandidateRow & Timestamps>> {
  if (!protect) return searchCandidatesChunks(db, userHash, embedding, tokens, termKeyId, options, filter);
  const active = (await keys.currentKey(userHash)) ?? null;
  const queries: KeyedQuery[] = [querySearchVector(embedding, active)];
  for (const pair of rememberedPairs(userHash)) {
    if (!queries.some((q) => samePair(q, pair)))
      queries.push(await queryFor(keys, userHash, embedding, pair));
  }
  // A pair can appear between two calls (a reseal starting); three rounds cover any real sequence.
  for (let round = 0; round < 3; round++) {
    const { rows, missing } = await searchCandidatesKeyed(
      db,
      userHash,
      queries,
      tokens,
      termKeyId,
      options,
      filter,
    );
    if (missing.length === 0) {
      if (queries.length > 1)
        remember(
          userHash,
          queries.slice(1).map((q) => ({ scheme: q.scheme, keyId: q.keyId })),
        );
      else remembered.delete(userHash);
      return rows;
    }
    for (const pair of missing) {
      if (!queries.some((q) => samePair(q, pair)))
        queries.push(await queryFor(keys, userHash, embedding, pair));
    }
  }
  throw new Error("dense search: the tenant's vector keys kept changing during the query");
}
