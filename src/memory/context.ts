/**
 * What the use cases need from the outside world, passed in rather than imported, so that the
 * daemon, the CLI and the tests can each supply their own pool, tenant key store and embedder.
 */
import type { DataKey, DataKeyLookup } from '../crypto/index.js';
import type { Pool } from '../db/pool.js';
import type { ReplicaRouter } from '../db/replicas.js';
import type { Embedder } from '../embed/index.js';
import type { QueryEmbeddingCache } from './query-embeddings.js';

/** Per-tenant data keys: the active one for writing, all of the tenant's for reading. */
export interface TenantKeys {
  activeKey(userHash: string): Promise<DataKey>;
  /** The active DEK if the tenant has one; never creates one (the read path must not write). */
  currentKey(userHash: string): Promise<DataKey | undefined>;
  /** `needed`: DEK ids about to be opened; a missing one makes the store re-read the tenant's keys. */
  lookup(userHash: string, needed?: Iterable<number>): Promise<DataKeyLookup>;
  /** Drops cached keys of the tenant (they were destroyed or replaced). */
  forget(userHash: string): void;
}

export interface MemoryContext {
  readonly pool: Pool;
  /** The embedding dimension of the schema (memory.health().embeddingDim). */
  readonly dim: number;
  /** Embeds texts when a request carries no embedding; absent: embeddings are required. */
  readonly embedder?: Pick<Embedder, 'embed' | 'dimension'> | undefined;
  /**
   * The tenant key store: the daemon's TenantKeyStore over its pool and live key ring. Required:
   * memory builds nothing from process-wide state, so two contexts never share keys by accident.
   */
  readonly keys: TenantKeys;
  /** Recent query embeddings per tenant (MEMVAULT_EMBED_QUERY_CACHE); absent: every query text is embedded. */
  readonly queryEmbeddings?: QueryEmbeddingCache | undefined;
  /** Read replicas for search and get (MEMVAULT_READ_URL); absent: everything on `pool`. */
  readonly reads?: ReplicaRouter | undefined;
  /**
   * false: writes store no lexical index (their chunks are then "missing" until `memvault reindex
   * lexical`). Only the ingest benchmark uses it, to measure the write path as it was before the
   * index in the same run; the daemon always indexes.
   */
  readonly indexLexical?: boolean | undefined;
  /**
   * false: writes store clear search vectors and dense queries search with the clear embedding
   * through the procedure of the release before protected vectors (issue 13). Only the benchmarks
   * use it, to measure protection against the clear path in the same run; the daemon always
   * protects.
   */
  readonly protectVectors?: boolean | undefined;
}

/** Runs a tenant's read where it may run: a replica when one is safe to read, else the primary. */
export function onReadPool<T>(
  ctx: MemoryContext,
  userHash: string,
  fn: (pool: Pool) => Promise<T>,
): Promise<T> {
  return ctx.reads ? ctx.reads.read(userHash, fn) : fn(ctx.pool);
}

/** After a tenant's write committed: its next reads must see it (read-your-writes on replicas). */
export async function wroteTenant(ctx: MemoryContext, userHash: string): Promise<void> {
  await ctx.reads?.noteWrite(userHash);
}

/** The key store the caller passed in (the use cases' one way to reach tenant keys). */
export function tenantKeys(ctx: MemoryContext): TenantKeys {
  return ctx.keys;
}
