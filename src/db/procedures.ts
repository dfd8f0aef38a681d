/**
 * One typed function per stored procedure: the only SQL the TypeScript side sends. Parameters are
 * always bound ($1::type), never spliced into the text.
 */
import pg from 'pg';

import { mapDatabaseError } from './errors.js';
import { enteredTenant, enterTenant, inOneTripTransaction, TENANT_PROCEDURES } from './tenant.js';

/** A pool or a checked-out client: procedures run the same inside or outside a transaction. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** pgvector's text form, e.g. [0.1,0.2]. */
export function vectorLiteral(values: ArrayLike<number>): string {
  return `[${Array.prototype.join.call(values, ',')}]`;
}

/**
 * Runs one procedure call, mapping failures to typed errors. Shared by the db layer's modules. A
 * call on a pool (not inside a caller's transaction) gets a transaction of its own, because that
 * is where the statement timeout is set (SET LOCAL: see pool.ts), sent with the call in one round
 * trip (inOneTripTransaction).
 */
export async function call<R extends pg.QueryResultRow>(
  db: Queryable,
  text: string,
  values: unknown[],
): Promise<R[]> {
  // A tenant procedure checks the tenant's proof: enter the tenant with it first, unless this
  // client's transaction (withTenant) already did.
  const tenant = tenantOf(text, values);
  try {
    const result =
      db instanceof pg.Pool
        ? await inOneTripTransaction<R>(db, text, values, tenant)
        : await onClient<R>(db, tenant, text, values);
    return result.rows;
  } catch (thrown) {
    throw mapDatabaseError(thrown);
  }
}

/**
 * A statement on a caller's client. The proof is a transaction-local setting: on a client outside
 * any transaction (autocommit) it would vanish before the call, so that call gets a transaction.
 */
async function onClient<R extends pg.QueryResultRow>(
  db: Queryable,
  tenant: string | undefined,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  if (tenant === undefined || enteredTenant(db) === tenant) return db.query<R>(text, values);
  const status = (db as { getTransactionStatus?: () => string | null }).getTransactionStatus?.();
  if (status !== 'I') {
    await enterTenant(db, tenant);
    return db.query<R>(text, values);
  }
  await db.query('begin');
  try {
    await enterTenant(db, tenant);
    const result = await db.query<R>(text, values);
    await db.query('commit');
    return result;
  } catch (thrown) {
    await db.query('rollback').catch(() => undefined);
    throw thrown;
  }
}

/** The tenant a statement calls a tenant procedure for: its first argument ($1), by name. */
function tenantOf(text: string, values: unknown[]): string | undefined {
  const name = /\bmemory\.([a-z_]+)\(\$1::text\b/.exec(text)?.[1];
  return name !== undefined && TENANT_PROCEDURES.has(name) && typeof values[0] === 'string'
    ? values[0]
    : undefined;
}

export interface SealedChunk {
  id: string;
  docId: string;
  source: string;
  textCipher: Buffer;
  metaCipher: Buffer;
  embCipher: Buffer;
  /** The search vector dense search indexes (crypto/search-vector.ts), stored as halfvec. */
  embedding: ArrayLike<number>;
}

/**
 * What stored search vectors are (memory.chunk_vectors.vector_scheme / vector_key_id): scheme 0
 * with key 0, the embeddings in clear; scheme 1 with a data key id, protected under that key's
 * vector key (crypto/search-vector.ts).
 */
export interface SearchVectorKind {
  scheme: 0 | 1;
  keyId: number;
}

export const CLEAR_VECTORS: Readonly<SearchVectorKind> = Object.freeze({ scheme: 0, keyId: 0 });

/** How a batch's blobs were sealed: 1 = directly under key-ring key keyId, 2 = under the tenant's DEK keyId. */
export type KeyScheme = 1 | 2;

/**
 * Stores one already-sealed chunk (memory.index_chunk). The daemon writes through
 * storeSealedChunks even for one chunk; this is the single-row procedure SQL callers use, kept
 * typed here like every procedure. The key scheme is required, here and in SQL (migration 000009):
 * a default of 1 let a caller that forgot it store DEK-sealed rows labelled as legacy.
 */
export async function storeSealedChunk(
  db: Queryable,
  userHash: string,
  chunk: SealedChunk,
  keyId: number,
  keyScheme: KeyScheme,
): Promise<number> {
  const rows = await call<{ n: number }>(
    db,
    'select memory.index_chunk($1::text, $2::uuid, $3::text, $4::text, $5::bytea, $6::bytea, $7::bytea, $8::public.vector, $9::integer, $10::smallint) as n',
    [
      userHash,
      chunk.id,
      chunk.docId,
      chunk.source,
      chunk.textCipher,
      chunk.metaCipher,
      chunk.embCipher,
      vectorLiteral(chunk.embedding),
      keyId,
      keyScheme,
    ],
  );
  return rows[0]!.n;
}

/**
 * A batch's lexical index (memory.index_chunks): per chunk its length in terms; per posting the
 * chunk (1-based index into the batch), the keyed token and its term frequency; the data key the
 * term key came from and the analyzer version.
 */
export interface LexicalRows {
  lengths: number[];
  chunks: number[];
  tokens: bigint[];
  tfs: number[];
  termKeyId: number;
  analyzerVersion: number;
}

/**
 * Stores a batch of already-sealed chunks (memory.index_chunks), and their lexical index when
 * given, in one round trip; all or nothing. Returns the number stored. Sealing is the caller's
 * (memory/write.ts indexChunks seals and calls this); keyId and keyScheme say what sealed the
 * blobs, both required.
 */
export async function storeSealedChunks(
  db: Queryable,
  userHash: string,
  chunks: SealedChunk[],
  keyId: number,
  keyScheme: KeyScheme,
  lexical?: LexicalRows,
  /** What the batch's search vectors are (default: clear). */
  vectors: Readonly<SearchVectorKind> = CLEAR_VECTORS,
): Promise<number> {
  const rows = await call<{ n: number }>(
    db,
    'select memory.index_chunks($1::text, $2::uuid[], $3::text[], $4::text[], $5::bytea[], $6::bytea[], $7::bytea[], $8::public.vector[], $9::integer, $10::smallint,' +
      ' $11::integer[], $12::integer[], $13::bigint[], $14::integer[], $15::integer, $16::smallint, $17::smallint, $18::integer) as n',
    [
      userHash,
      chunks.map((c) => c.id),
      chunks.map((c) => c.docId),
      chunks.map((c) => c.source),
      chunks.map((c) => c.textCipher),
      chunks.map((c) => c.metaCipher),
      chunks.map((c) => c.embCipher),
      chunks.map((c) => vectorLiteral(c.embedding)),
      keyId,
      keyScheme,
      lexical?.lengths ?? null,
      lexical?.chunks ?? null,
      lexical ? bigintArray(lexical.tokens) : null,
      lexical?.tfs ?? null,
      lexical?.termKeyId ?? null,
      lexical?.analyzerVersion ?? null,
      vectors.scheme,
      vectors.keyId,
    ],
  );
  return rows[0]!.n;
}

/** node-postgres sends bigint values as text; an array of their decimal strings is a bigint[]. */
export function bigintArray(values: bigint[]): string[] {
  return values.map((v) => v.toString());
}

export interface SearchOptions {
  limit: number;
  docId?: string | undefined;
  source?: string | undefined;
}

export interface SearchRow {
  id: string;
  doc_id: string;
  source: string;
  text_cipher: Buffer;
  meta_cipher: Buffer;
  key_id: number;
  distance: number;
}

/** The tenant's nearest chunks by cosine distance, nearest first. */
export function search(
  db: Queryable,
  userHash: string,
  embedding: ArrayLike<number>,
  options: SearchOptions,
): Promise<SearchRow[]> {
  return call<SearchRow>(
    db,
    'select * from memory.search($1::text, $2::public.vector, $3::integer, $4::text, $5::text)',
    [userHash, vectorLiteral(embedding), options.limit, options.docId ?? null, options.source ?? null],
  );
}

export interface LexicalSearchRow {
  id: string;
  doc_id: string;
  source: string;
  text_cipher: Buffer;
  meta_cipher: Buffer;
  key_id: number;
  /** BM25 score (higher is better). */
  score: number;
}

export interface HybridSearchRow extends Omit<LexicalSearchRow, 'score'> {
  side: 'dense' | 'lexical';
  /** Dense side: cosine similarity; lexical side: BM25. */
  score: number;
}

export interface CandidateRow extends HybridSearchRow {
  /** The sealed float32 embedding (dense side only; null on the lexical side). */
  emb_cipher: Buffer | null;
}

export interface CandidateOptions {
  /** Dense side: how many nearest chunks (the over-fetched count). */
  denseLimit: number;
  /** Lexical side: how many best BM25 chunks (used when tokens are given). */
  lexicalLimit: number;
  docId?: string | undefined;
  source?: string | undefined;
}

/**
 * The daemon's dense or hybrid first stage in one round trip (memory.search_candidates): the
 * tenant's `denseLimit` nearest chunks to the query's search vector, with their sealed embeddings
 * for re-scoring, and, when tokens are given (keyed under data key `termKeyId`), its `lexicalLimit`
 * best BM25 chunks. Rows come unordered; StaleDataKeyError when `termKeyId` is no longer the
 * tenant's active key.
 */
export function searchCandidates(
  db: Queryable,
  userHash: string,
  queryVector: ArrayLike<number>,
  tokens: bigint[],
  termKeyId: number | null,
  options: CandidateOptions,
): Promise<CandidateRow[]> {
  return call<CandidateRow>(
    db,
    'select * from memory.search_candidates($1::text, $2::public.vector, $3::integer, $4::bigint[], $5::integer, $6::text, $7::text, $8::integer)',
    [
      userHash,
      vectorLiteral(queryVector),
      options.denseLimit,
      bigintArray(tokens),
      options.lexicalLimit,
      options.docId ?? null,
      options.source ?? null,
      termKeyId,
    ],
  );
}

export interface StoredChunkRow {
  id: string;
  doc_id: string;
  source: string;
  text_cipher: Buffer;
  meta_cipher: Buffer;
  emb_cipher: Buffer;
  key_id: number;
  created_at: Date;
  updated_at: Date;
}

export function getChunks(db: Queryable, userHash: string, ids: string[]): Promise<StoredChunkRow[]> {
  return call<StoredChunkRow>(db, 'select * from memory.get_chunks($1::text, $2::uuid[])', [userHash, ids]);
}

/** A chunk row with its version (the API's ETag). */
export interface VersionedChunkRow {
  id: string;
  doc_id: string;
  source: string;
  text_cipher: Buffer;
  meta_cipher: Buffer;
  key_id: number;
  created_at: Date;
  updated_at: Date;
  /** bigint in SQL; read as a number (2^53 updates of one chunk will not happen). */
  version: number;
}

export async function getChunk(
  db: Queryable,
  userHash: string,
  id: string,
): Promise<(VersionedChunkRow & { emb_cipher: Buffer }) | undefined> {
  const rows = await call<VersionedChunkRow & { emb_cipher: Buffer; version: string }>(
    db,
    'select * from memory.get_chunk($1::text, $2::uuid)',
    [userHash, id],
  );
  return rows[0] ? { ...rows[0], version: Number(rows[0].version) } : undefined;
}

/** A row's place in the newest-first order: created_at in microseconds since the epoch, then id. */
export interface ListPosition {
  createdUs: bigint;
  id: string;
}

export interface ListOptions {
  limit: number;
  docId?: string | undefined;
  source?: string | undefined;
  /** Rows strictly older than this position (the last row of the previous page). */
  before?: ListPosition | undefined;
}

/** A page of the tenant's chunks, newest first (keyset on created_at, id). */
export async function listChunks(
  db: Queryable,
  userHash: string,
  options: ListOptions,
): Promise<Array<VersionedChunkRow & { position: ListPosition }>> {
  const rows = await call<VersionedChunkRow & { version: string; created_us: string }>(
    db,
    'select * from memory.list_chunks($1::text, $2::integer, $3::text, $4::text, $5::bigint, $6::uuid)',
    [
      userHash,
      options.limit,
      options.docId ?? null,
      options.source ?? null,
      options.before?.createdUs.toString() ?? null,
      options.before?.id ?? null,
    ],
  );
  return rows.map(({ created_us, ...row }) => ({
    ...row,
    version: Number(row.version),
    position: { createdUs: BigInt(created_us), id: row.id },
  }));
}

/** What a conditional write found: done, no such chunk, or the chunk at another version. */
export type ConditionalStatus = 'updated' | 'deleted' | 'not_found' | 'version_mismatch';

export interface UpdatedChunk {
  status: ConditionalStatus;
  docId: string | null;
  source: string | null;
  createdAt: Date | null;
  updatedAt: Date | null;
  /** The new version when updated, the current one on a mismatch, null when not found. */
  version: number | null;
}

/** Replaces a chunk's sealed fields if it is still at `expectedVersion` (one statement). */
export async function updateChunk(
  db: Queryable,
  userHash: string,
  id: string,
  expectedVersion: number,
  sealed: Pick<SealedChunk, 'textCipher' | 'metaCipher' | 'embCipher' | 'embedding'>,
  keyId: number,
  /**
   * New text's lexical postings (they replace the chunk's index row); null: the text changed but
   * is not indexed (the row is dropped); undefined: the text did not change.
   */
  lexical?: {
    length: number;
    tokens: bigint[];
    tfs: number[];
    termKeyId: number;
    analyzerVersion: number;
  } | null,
  /** What the new search vector is (default: clear). */
  vector: Readonly<SearchVectorKind> = CLEAR_VECTORS,
): Promise<UpdatedChunk> {
  const rows = await call<{
    status: ConditionalStatus;
    doc_id: string | null;
    source: string | null;
    created_at: Date | null;
    updated_at: Date | null;
    version: string | null;
  }>(
    db,
    'select * from memory.update_chunk($1::text, $2::uuid, $3::bigint, $4::bytea, $5::bytea, $6::bytea, $7::public.vector, $8::integer, 2::smallint,' +
      ' $9::boolean, $10::integer, $11::bigint[], $12::integer[], $13::integer, $14::smallint, $15::smallint, $16::integer)',
    [
      userHash,
      id,
      expectedVersion,
      sealed.textCipher,
      sealed.metaCipher,
      sealed.embCipher,
      vectorLiteral(sealed.embedding),
      keyId,
      lexical !== undefined,
      lexical?.length ?? null,
      lexical ? bigintArray(lexical.tokens) : null,
      lexical?.tfs ?? null,
      lexical?.termKeyId ?? null,
      lexical?.analyzerVersion ?? null,
      vector.scheme,
      vector.keyId,
    ],
  );
  const row = rows[0]!;
  return {
    status: row.status,
    docId: row.doc_id,
    source: row.source,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version === null ? null : Number(row.version),
  };
}

/** Deletes one chunk; with `expectedVersion`, only if it is still at that version. */
export async function deleteChunk(
  db: Queryable,
  userHash: string,
  id: string,
  expectedVersion?: number,
): Promise<{ status: ConditionalStatus; version: number | null }> {
  const rows = await call<{ status: ConditionalStatus; version: string | null }>(
    db,
    'select * from memory.delete_chunk($1::text, $2::uuid, $3::bigint)',
    [userHash, id, expectedVersion ?? null],
  );
  const row = rows[0]!;
  return { status: row.status, version: row.version === null ? null : Number(row.version) };
}

export interface IdempotencyClaim {
  /** True: this transaction holds the key and must record its response before committing. */
  fresh: boolean;
  requestDigest: Buffer;
  /** The first attempt's status and response (absent when fresh). */
  status: number | null;
  response: unknown;
}

/**
 * Claims an idempotency key inside the caller's transaction; waits while another transaction
 * holds the same key uncommitted (db/functions/idempotency.sql).
 */
export async function claimIdempotencyKey(
  db: Queryable,
  userHash: string,
  keyDigest: Buffer,
  requestDigest: Buffer,
): Promise<IdempotencyClaim> {
  const rows = await call<{
    fresh: boolean;
    request_digest: Buffer;
    status: number | null;
    response: unknown;
  }>(db, 'select * from memory.claim_idempotency_key($1::text, $2::bytea, $3::bytea)', [
    userHash,
    keyDigest,
    requestDigest,
  ]);
  const row = rows[0]!;
  return { fresh: row.fresh, requestDigest: row.request_digest, status: row.status, response: row.response };
}

export async function recordIdempotentResponse(
  db: Queryable,
  userHash: string,
  keyDigest: Buffer,
  status: number,
  response: unknown,
): Promise<void> {
  await call(db, 'select memory.record_idempotent_response($1::text, $2::bytea, $3::integer, $4::jsonb)', [
    userHash,
    keyDigest,
    status,
    JSON.stringify(response),
  ]);
}

export async function deleteDoc(db: Queryable, userHash: string, docId: string): Promise<number> {
  const rows = await call<{ n: number }>(db, 'select memory.delete_doc($1::text, $2::text) as n', [
    userHash,
    docId,
  ]);
  return rows[0]!.n;
}

export async function forgetTenant(db: Queryable, userHash: string): Promise<number> {
  const rows = await call<{ n: number }>(db, 'select memory.forget_tenant($1::text) as n', [userHash]);
  return rows[0]!.n;
}

export interface TenantStats {
  chunks: number;
  documents: number;
  cipherBytes: number;
  firstAt: Date | null;
  lastAt: Date | null;
}

export async function tenantStats(db: Queryable, userHash: string): Promise<TenantStats> {
  const rows = await call<{
    chunks: string;
    documents: string;
    cipher_bytes: string;
    first_at: Date | null;
    last_at: Date | null;
  }>(db, 'select * from memory.tenant_stats($1::text)', [userHash]);
  const row = rows[0]!;
  return {
    chunks: Number(row.chunks),
    documents: Number(row.documents),
    cipherBytes: Number(row.cipher_bytes),
    firstAt: row.first_at,
    lastAt: row.last_at,
  };
}

/** All live setting overrides as key → JSON value. */
export async function getSettings(db: Queryable): Promise<Record<string, unknown>> {
  const rows = await call<{ key: string; value: unknown }>(
    db,
    'select key, value from memory.get_settings()',
    [],
  );
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** Needs a role that may execute memory.set_setting (the owner or a superuser, not memory_app). */
export async function setSetting(db: Queryable, key: string, value: unknown): Promise<void> {
  await call(db, 'select memory.set_setting($1::text, $2::jsonb)', [key, JSON.stringify(value)]);
}

/**
 * Removes a live override so every daemon falls back to its environment default (the delete fires
 * the same NOTIFY as a change). Returns false when the setting was not set. Same role as setSetting.
 */
export async function resetSetting(db: Queryable, key: string): Promise<boolean> {
  const rows = await call<{ removed: boolean }>(db, 'select memory.reset_setting($1::text) as removed', [
    key,
  ]);
  return rows[0]!.removed;
}

export interface Health {
  lastMigration: string | null;
  migrationCount: number;
  embeddingDim: number;
  vectorVersion: string | null;
}

export async function health(db: Queryable): Promise<Health> {
  const rows = await call<{
    last_migration: string | null;
    migration_count: number;
    embedding_dim: number;
    vector_version: string | null;
  }>(db, 'select * from memory.health()', []);
  const row = rows[0]!;
  return {
    lastMigration: row.last_migration,
    migrationCount: row.migration_count,
    embeddingDim: row.embedding_dim,
    vectorVersion: row.vector_version,
  };
}

/**
 * The layout dense search reads (memory.search_layout()): 'vectors', the narrow halfvec table, or
 * 'chunks', memory_chunks' float32 column until `memvault reindex vectors` has filled the other.
 */
export async function searchLayout(db: Queryable): Promise<'vectors' | 'chunks'> {
  const rows = await call<{ layout: 'vectors' | 'chunks' }>(
    db,
    'select memory.search_layout() as layout',
    [],
  );
  return rows[0]!.layout;
}

/** EXPLAIN (FORMAT JSON) of the exact query memory.search runs for this tenant. */
export async function explainSearch(
  db: Queryable,
  userHash: string,
  embedding: ArrayLike<number>,
  limit: number,
  analyze = false,
): Promise<PlanNode> {
  const rows = await call<{ plan: Array<{ Plan: PlanNode }> }>(
    db,
    'select memory.explain_search($1::text, $2::public.vector, $3::integer, $4::boolean) as plan',
    [userHash, vectorLiteral(embedding), limit, analyze],
  );
  return shardPlan(rows[0]!.plan[0]!.Plan);
}

/** EXPLAIN (FORMAT JSON) of the exact query memory.search_lexical runs for this tenant. */
export async function explainSearchLexical(
  db: Queryable,
  userHash: string,
  tokens: bigint[],
  limit: number,
  analyze = false,
): Promise<PlanNode> {
  const rows = await call<{ plan: Array<{ Plan: PlanNode }> }>(
    db,
    'select memory.explain_search_lexical($1::text, $2::bigint[], $3::integer, $4::boolean) as plan',
    [userHash, bigintArray(tokens), limit, analyze],
  );
  return shardPlan(rows[0]!.plan[0]!.Plan);
}

export async function explainLookups(db: Queryable, userHash: string): Promise<Record<string, PlanNode>> {
  const rows = await call<{ lookup: string; plan: Array<{ Plan: PlanNode }> }>(
    db,
    'select lookup, plan from memory.explain_lookup($1::text)',
    [userHash],
  );
  return Object.fromEntries(rows.map((r) => [r.lookup, shardPlan(r.plan[0]!.Plan)]));
}

/**
 * On Citus a tenant's query is routed to one shard and EXPLAIN shows a Citus node holding that
 * shard's plan: returns the shard's plan, with shard names (`<name>_<shardid>`) read as the
 * table's and index's own, so the plan checks read the same with and without Citus. Any other
 * plan is returned as it is.
 */
export function shardPlan(plan: PlanNode): PlanNode {
  const job = (plan['Distributed Query'] as { Job?: { Tasks?: Array<Record<string, unknown>> } } | undefined)
    ?.Job;
  const remote = job?.Tasks?.length === 1 ? job.Tasks[0]!['Remote Plan'] : undefined;
  const inner = (Array.isArray(remote) ? remote.flat(2) : [])[0] as { Plan?: PlanNode } | undefined;
  return inner?.Plan ? withShardNamesRead(inner.Plan) : plan;
}

function withShardNamesRead(plan: PlanNode): PlanNode {
  const read = (name: unknown) => (typeof name === 'string' ? name.replace(/_\d+$/, '') : name);
  return {
    ...plan,
    ...(plan['Index Name'] ? { 'Index Name': read(plan['Index Name']) as string } : {}),
    ...(plan['Relation Name'] ? { 'Relation Name': read(plan['Relation Name']) } : {}),
    ...(plan.Plans ? { Plans: plan.Plans.map(withShardNamesRead) } : {}),
  };
}

export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Total Time'?: number;
  Plans?: PlanNode[];
  [key: string]: unknown;
}

/** Index names used anywhere in a plan tree. */
export function indexesInPlan(plan: PlanNode): string[] {
  const own = plan['Index Name'] ? [plan['Index Name']] : [];
  return [...own, ...(plan.Plans ?? []).flatMap(indexesInPlan)];
}

export interface RlsCheck {
  check: string;
  passed: boolean;
  detail: string;
}

/**
 * Proves on the live database that one tenant cannot read or write another's rows (probe rows in
 * a rolled-back subtransaction, through the real policy).
 */
export async function verifyRlsIsolation(db: Queryable): Promise<RlsCheck[]> {
  const rows = await call<{ check_name: string; passed: boolean; detail: string }>(
    db,
    'select * from memory.verify_rls_isolation()',
    [],
  );
  return rows.map((r) => ({ check: r.check_name, passed: r.passed, detail: r.detail }));
}
