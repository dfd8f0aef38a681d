/**
 * Writes chunks as the release before protected vectors did (issue 13): sealed under the tenant's
 * data key, but with clear search vectors and a clear copy of the embedding in
 * memory_chunks.embedding — the rows `memvault reindex vectors` has to protect.
 */
import { randomUUID } from 'node:crypto';

import { hmacUser } from '../../src/crypto/index.js';
import { CLEAR_VECTORS, type Queryable, storeSealedChunks } from '../../src/db/procedures.js';
import type { MemoryContext } from '../../src/memory/context.js';
import { sealChunk } from '../../src/memory/seal-chunk.js';

export async function indexClearChunks(
  ctx: MemoryContext,
  db: Queryable,
  userId: string,
  chunks: ReadonlyArray<{ docId: string; text: string; embedding: number[] }>,
): Promise<string[]> {
  const userHash = hmacUser(userId);
  const dek = await ctx.keys.activeKey(userHash);
  const ids = chunks.map(() => randomUUID());
  const sealed = chunks.map((c, i) => {
    const embedding = Float32Array.from(c.embedding);
    const chunk = { id: ids[i]!, docId: c.docId, source: '', text: c.text, metadataJson: '{}', embedding };
    return { ...sealChunk(userHash, chunk, dek), embedding };
  });
  await storeSealedChunks(db, userHash, sealed, dek.id, 2, undefined, CLEAR_VECTORS);
  return ids;
}
