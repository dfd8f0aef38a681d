/**
 * Re-sealing: moves chunk blobs onto their tenant's active DEK with their doc_id and source bound
 * (envelope version 3), for rows written before per-tenant keys existed, before labels were bound
 * (version 2), or after a tenant's DEK was replaced. Each chunk's lexical index is re-tokenised
 * under the new DEK's term key, and its search vector protected again under the new DEK's vector
 * key, in the same transaction. Batches are claimed
 * with SKIP LOCKED along a keyset cursor, so a pass is linear, several workers can share it and a
 * crashed run simply resumes.
 */

import {
  bytesToEmbedding,
  CHUNK_FIELDS,
  generateDataKey,
  type KeyRing,
  openChunkField,
  sealChunkField,
  searchVector,
} from '../crypto/index.js';
import {
  claimReseal,
  dropRetiredTenantKeys,
  nextDekId,
  notifyTenantKeyRotated,
  type ResealCursor,
  type ResealRow,
  rotateTenantKey,
  storeResealed,
  tenantKeysOf,
} from '../db/keys.js';
import { storeLexical } from '../db/lexical.js';
import type { Pool } from '../db/pool.js';
import { health } from '../db/procedures.js';
import { storeSearchVectors } from '../db/vectors.js';
import { ANALYZER_VERSION } from '../lexical/index.js';
import { keysForBatch, type TenantKeys } from './batch-keys.js';
import { keyStatsPublisher } from './key-stats.js';
import { lexicalEntry } from './lexical-reindex.js';
import { inTransaction, type ProgressListener } from './maintenance.js';
import { keyJobItems, keyJobRemaining } from './metrics.js';
import { fieldBlob } from './open-blob.js';
import { storedVectorNoise } from './vector-noise.js';

export interface ResealOptions {
  /** Only this tenant (its user_hash). */
  tenant?: string | undefined;
  batchSize?: number;
  /** Expected number of chunks to process, for the progress bar (0: unknown). */
  total?: number;
  onProgress?: ProgressListener;
}

function resealRow(ring: KeyRing, row: ResealRow, keys: TenantKeys, vectors: { noise: number; dim: number }) {
  const lookup = (dekId: number) => keys.byId.get(dekId);
  const plain = CHUNK_FIELDS.map((field) =>
    openChunkField(fieldBlob(row, field), row.userHash, row, field, lookup, ring),
  );
  // Sealed as every new write is: the active DEK, doc_id and source bound (envelope version 3).
  const [textCipher, metaCipher, embCipher] = CHUNK_FIELDS.map((field, i) =>
    sealChunkField(keys.active, plain[i]!, row.userHash, row, field),
  ) as [Buffer, Buffer, Buffer];
  return {
    sealed: { userHash: row.userHash, id: row.id, textCipher, metaCipher, embCipher, dekId: keys.active.id },
    // The lexical index follows the chunk onto the active DEK: its term key changed with it.
    lexical: lexicalEntry(row.userHash, row.id, plain[0]!.toString('utf8'), keys.active),
    // So does the search vector: protected again under the active DEK's vector key, so that after
    // the old DEK is destroyed no stored vector is tied to it (and old and new vectors do not link).
    // A sealed embedding that is not one of the schema's dimension (never written by the daemon)
    // keeps its search vector as it is.
    vector:
      plain[2]!.length === vectors.dim * 4
        ? {
            userHash: row.userHash,
            id: row.id,
            ...searchVector(bytesToEmbedding(plain[2]!), keys.active, row.id, vectors.noise),
          }
        : undefined,
  };
}

/**
 * Re-seals every chunk that is not under its tenant's active DEK or not yet version 3. Returns how
 * many it re-sealed.
 */
export async function resealChunks(pool: Pool, ring: KeyRing, options: ResealOptions = {}): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  const publish = keyStatsPublisher(pool);
  const vectors = { noise: await storedVectorNoise(pool), dim: (await health(pool)).embeddingDim };
  let cursor: ResealCursor | null = null;
  let done = 0;
  keyJobRemaining.set({ job: 'reseal' }, options.total ?? 0);
  for (;;) {
    const batch: { count: number; last: ResealCursor | null } = await inTransaction(pool, async (client) => {
      const rows = await claimReseal(client, batchSize, options.tenant ?? null, cursor);
      if (rows.length === 0) return { count: 0, last: null };
      const keys = await keysForBatch(client, ring, rows);
      const resealed = rows.map((row) => resealRow(ring, row, keys.get(row.userHash)!, vectors));
      const count = await storeResealed(
        client,
        resealed.map((r) => r.sealed),
      );
      await storeLexical(
        client,
        resealed.map((r) => r.lexical),
        ANALYZER_VERSION,
      );
      const searchVectors = resealed.flatMap((r) => (r.vector ? [r.vector] : []));
      if (searchVectors.length > 0) await storeSearchVectors(client, searchVectors);
      const last = rows[rows.length - 1]!;
      return { count, last: { userHash: last.userHash, id: last.id } };
    });
    if (!batch.last) break;
    cursor = batch.last;
    done += batch.count;
    keyJobItems.inc({ job: 'reseal' }, batch.count);
    const total = Math.max(options.total ?? 0, done);
    keyJobRemaining.set({ job: 'reseal' }, total - done);
    await options.onProgress?.({ job: 'reseal', done, total });
    await publish();
  }
  keyJobRemaining.set({ job: 'reseal' }, 0);
  await publish(true);
  return done;
}

/**
 * After a suspected compromise of one tenant's DEK: gives the tenant a new DEK, re-seals all its
 * chunks under it, then destroys the old DEK. Returns chunks re-sealed and keys destroyed.
 */
export async function replaceTenantKey(
  pool: Pool,
  ring: KeyRing,
  userHash: string,
  options: Omit<ResealOptions, 'tenant'> = {},
): Promise<{ resealed: number; destroyed: number }> {
  const dek = generateDataKey(await nextDekId(pool));
  await inTransaction(pool, async (client) => {
    await rotateTenantKey(client, userHash, dek.id, ring.wrapDataKey(dek, userHash), ring.activeKeyId);
    // Daemons drop their cached copy of the old DEK and seal new writes under the new one.
    const replaced = (await tenantKeysOf(client, [userHash])).filter((k) => !k.active).map((k) => k.dekId);
    await notifyTenantKeyRotated(client, replaced);
  });
  const resealed = await resealChunks(pool, ring, { ...options, tenant: userHash });
  const destroyed = await inTransaction(pool, (client) => dropRetiredTenantKeys(client, userHash));
  return { resealed, destroyed };
}
