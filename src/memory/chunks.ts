/**
 * One chunk at a time and the tenant's chunks in order: read one, list a page (newest first,
 * opaque cursor), export all (page by page, so memory stays flat however many there are), delete
 * one. Another tenant's chunk id is simply not found: the procedures run under the tenant's RLS
 * context, and the cursor is bound to the tenant.
 */
import { hmacUser } from '../crypto/index.js';
import { listChunksFiltered } from '../db/filters.js';
import {
  deleteChunk as deleteChunkRow,
  getChunk as getChunkRow,
  listChunks as listChunkRows,
  type VersionedChunkRow,
} from '../db/procedures.js';
import { NotFoundError, ValidationError, VersionConflictError } from '../errors.js';
import { type MemoryContext, onReadPool, tenantKeys, wroteTenant } from './context.js';
import { type CursorScope, decodeCursor, encodeCursor } from './cursor.js';
import { type CompiledFilter, compileFilter, type Filter, parseFilter } from './filter.js';
import { tenantFilterKey } from './filter-tokens.js';
import { canonicalJson } from './idempotency.js';
import { dataKeyIds, openMetadata, openText, placeOf } from './seal-chunk.js';
import { validateId } from './validate.js';

/** A stored chunk as the API shows it (its embedding stays in the database). */
export interface ChunkRecord {
  id: string;
  docId: string;
  source: string;
  text: string;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** 1 when written, +1 per update: the ETag, and what If-Match compares. */
  version: number;
}

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 500;
/** Rows per procedure call while exporting: large enough to amortize the round trip, small in memory. */
export const EXPORT_PAGE = 500;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A chunk id: a UUID as the server issued it (lowercase); anything else is a 400 naming `field`. */
export function validateChunkId(value: unknown, field = 'id'): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new ValidationError(field, 'must be a chunk id (a lowercase UUID as returned on write)');
  }
  return value;
}

export async function getChunk(ctx: MemoryContext, userId: unknown, id: unknown): Promise<ChunkRecord> {
  const userHash = hmacUser(validateId(userId, 'user_id'));
  const chunkId = validateChunkId(id);
  const row = await onReadPool(ctx, userHash, (pool) => getChunkRow(pool, userHash, chunkId));
  if (!row) throw new NotFoundError('chunk');
  return (await openRows(ctx, userHash, [row]))[0]!;
}

export interface ListInput {
  userId: unknown;
  docId?: unknown;
  source?: unknown;
  limit?: unknown;
  cursor?: unknown;
  /** A filter over metadata and timestamps (src/memory/filter.ts). */
  filter?: unknown;
}

export interface ChunkPage {
  chunks: ChunkRecord[];
  /** Pass back as `cursor` for the next page; null when this page is the last. */
  nextCursor: string | null;
}

export async function listChunks(ctx: MemoryContext, input: ListInput): Promise<ChunkPage> {
  const scope = listScope(input);
  const limit = optionalLimit(input.limit);
  const before = isAbsent(input.cursor)
    ? undefined
    : decodeCursor(scope, typeof input.cursor === 'string' ? input.cursor : '');
  const source = await rowSource(ctx, scope);
  // One row more than asked says whether another page follows, without a second query.
  const rows = await source({ limit: limit + 1, before });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    chunks: await openRows(ctx, scope.userHash, page),
    nextCursor: rows.length > limit && last ? encodeCursor(scope, last.position) : null,
  };
}

type PageRows = Awaited<ReturnType<typeof listChunkRows>>;

/**
 * How pages of this listing are read: memory.list_chunks, or with a filter (keyed for the tenant
 * once, after its backlog of unkeyed chunks is keyed) memory.list_chunks_filtered.
 */
async function rowSource(
  ctx: MemoryContext,
  scope: ListScope,
): Promise<(page: { limit: number; before: PageRows[number]['position'] | undefined }) => Promise<PageRows>> {
  const base = { docId: scope.docId, source: scope.source };
  if (!scope.parsed) {
    return ({ limit, before }) =>
      onReadPool(ctx, scope.userHash, (pool) =>
        listChunkRows(pool, scope.userHash, { ...base, limit, before }),
      );
  }
  const key = await tenantFilterKey(ctx, scope.userHash);
  if (!key) return async () => []; // no data key: the tenant has no chunks
  const compiled: CompiledFilter = compileFilter(scope.parsed, key);
  return ({ limit, before }) =>
    onReadPool(ctx, scope.userHash, (pool) =>
      listChunksFiltered(pool, scope.userHash, { ...base, limit, before }, compiled),
    );
}

/**
 * Every chunk of the user, newest first, opened page by page: the caller consumes (writes out) a
 * page before the next is read, so memory holds one page whatever the tenant's size. Pages are
 * separate statements: a chunk written during the export is not included (it is newer than the
 * first page), one deleted during it may be.
 */
export async function* exportChunks(
  ctx: MemoryContext,
  input: Pick<ListInput, 'userId' | 'docId' | 'source' | 'filter'>,
  options: { signal?: AbortSignal; pageSize?: number } = {},
): AsyncGenerator<ChunkRecord[]> {
  const scope = listScope(input);
  const pageSize = options.pageSize ?? EXPORT_PAGE;
  const source = await rowSource(ctx, scope);
  let before: PageRows[number]['position'] | undefined;
  for (;;) {
    if (options.signal?.aborted) return;
    const rows = await source({ limit: pageSize, before });
    if (rows.length === 0) return;
    yield await openRows(ctx, scope.userHash, rows);
    if (rows.length < pageSize) return;
    before = rows.at(-1)!.position;
  }
}

/** Deletes one chunk; with `ifMatch`, only at that version (VersionConflictError otherwise). */
export async function deleteChunk(
  ctx: MemoryContext,
  userId: unknown,
  id: unknown,
  options: { ifMatch?: number | undefined } = {},
): Promise<void> {
  const userHash = hmacUser(validateId(userId, 'user_id'));
  const result = await deleteChunkRow(ctx.pool, userHash, validateChunkId(id), options.ifMatch);
  if (result.status === 'deleted') await wroteTenant(ctx, userHash);
  if (result.status === 'not_found') throw new NotFoundError('chunk');
  if (result.status === 'version_mismatch') throw new VersionConflictError(result.version!);
}

async function openRows(
  ctx: MemoryContext,
  userHash: string,
  rows: VersionedChunkRow[],
): Promise<ChunkRecord[]> {
  if (rows.length === 0) return [];
  const keys = await tenantKeys(ctx).lookup(
    userHash,
    dataKeyIds(rows.flatMap((row) => [row.text_cipher, row.meta_cipher])),
  );
  return rows.map((row) => ({
    id: row.id,
    docId: row.doc_id,
    source: row.source,
    text: openText(userHash, placeOf(row), row.text_cipher, keys),
    metadata: openMetadata(userHash, placeOf(row), row.meta_cipher, keys),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  }));
}

interface ListScope extends CursorScope {
  parsed?: Filter | undefined;
}

function listScope(input: Pick<ListInput, 'userId' | 'docId' | 'source' | 'filter'>): ListScope {
  const parsed = parseFilter(input.filter);
  return {
    userHash: hmacUser(validateId(input.userId, 'user_id')),
    docId: isAbsent(input.docId) ? undefined : validateId(input.docId, 'doc_id'),
    source: isAbsent(input.source) ? undefined : validateId(input.source, 'source'),
    parsed,
    filter: parsed ? canonicalJson(input.filter) : undefined,
  };
}

function optionalLimit(value: unknown): number {
  if (isAbsent(value)) return DEFAULT_LIST_LIMIT;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIST_LIMIT) {
    throw new ValidationError('limit', `must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  }
  return value;
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}
