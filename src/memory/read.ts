/**
 * Read-path helpers: open what the procedures return. Every blob is opened with the AAD rebuilt
 * from the row it was read from, so a blob that was moved there fails with InvalidTag; there is
 * no fallback and no partial result.
 */
import { type DataKeyLookup, hmacUser } from '../crypto/index.js';
import { getChunks, type StoredChunkRow } from '../db/procedures.js';
import { ValidationError } from '../errors.js';
import { type MemoryContext, onReadPool, tenantKeys } from './context.js';
import { dataKeyIds, openEmbedding, openMetadata, openText, placeOf } from './seal-chunk.js';
import { validateId } from './validate.js';

export interface MemoryChunk {
  id: string;
  docId: string;
  source: string;
  text: string;
  metadata: Record<string, unknown>;
  embedding: Float32Array;
  createdAt: Date;
  updatedAt: Date;
}

export function openChunkRow(userHash: string, row: StoredChunkRow, keys: DataKeyLookup): MemoryChunk {
  return {
    id: row.id,
    docId: row.doc_id,
    source: row.source,
    text: openText(userHash, placeOf(row), row.text_cipher, keys),
    metadata: openMetadata(userHash, placeOf(row), row.meta_cipher, keys),
    embedding: openEmbedding(userHash, placeOf(row), row.emb_cipher, keys),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The user's chunks with these ids (others' ids simply match nothing), opened. */
export async function getMemoryChunks(
  ctx: MemoryContext,
  userId: unknown,
  ids: unknown,
): Promise<MemoryChunk[]> {
  const validUserId = validateId(userId, 'user_id');
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || !UUID.test(id))) {
    throw new ValidationError('ids', 'must be an array of chunk ids (UUIDs)');
  }
  const userHash = hmacUser(validUserId);
  const rows = await onReadPool(ctx, userHash, (pool) => getChunks(pool, userHash, ids as string[]));
  const keys = await tenantKeys(ctx).lookup(
    userHash,
    dataKeyIds(rows.flatMap((row) => [row.text_cipher, row.meta_cipher, row.emb_cipher])),
  );
  return rows.map((row) => openChunkRow(userHash, row, keys));
}
