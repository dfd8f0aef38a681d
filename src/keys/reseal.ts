/**
 * Re-sealing: moves chunk blobs onto their tenant's active DEK (envelope version 2), for rows
 * written before per-tenant keys existed or after a tenant's DEK was replaced. Batches are claimed
 * with SKIP LOCKED along a keyset cursor, so a pass is linear, several workers can share it and a
 * crashed run simply resumes.
 */

import {
  CHUNK_FIELDS,
  chunkAad,
  type DataKey,
  generateDataKey,
  type KeyRing,
  openAnyScheme,
  sealWithDataKey,
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
import type { Pool, PoolClient } from '../db/pool.js';
import { keyStatsPublisher } from './key-stats.js';
import { inTransaction, type ProgressListener } from './maintenance.js';
import { keyJobItems, keyJobRemaining } from './metrics.js';
import { fieldBlob } from './open-blob.js';
import { createTenantDek } from './tenant-key-store.js';

export interface ResealOptions {
  /** Only this tenant (its user_hash). */
  tenant?: string | undefined;
  batchSize?: number;
  /** Expected number of chunks to process, for the progress bar (0: unknown). */
  total?: number;
  onProgress?: ProgressListener;
}

interface TenantKeys {
  active: DataKey;
  byId: Map<number, DataKey>;
}

/** Unwraps the DEKs of the tenants in a batch, creating an active DEK for tenants without one. */
async function keysForBatch(
  pool: Pool,
  client: PoolClient,
  ring: KeyRing,
  rows: ResealRow[],
): Promise<Map<string, TenantKeys>> {
  const hashes = [...new Set(rows.map((r) => r.userHash))];
  const stored = await tenantKeysOf(client, hashes);
  const result = new Map<string, TenantKeys>();
  for (const userHash of hashes) {
    const mine = stored.filter((k) => k.userHash === userHash);
    const byId = new Map(
      mine.map((k) => [k.dekId, ring.unwrapDataKey(k.wrappedDek, userHash, k.dekId)] as const),
    );
    let activeId = mine.find((k) => k.active)?.dekId;
    if (activeId === undefined) {
      // A tenant from before per-tenant keys: give it one. add_tenant_key is a tenant-scoped call, so
      // it runs on its own connection, outside this maintenance transaction.
      const dek = await createTenantDek(pool, ring, userHash);
      byId.set(dek.id, dek);
      activeId = dek.id;
    }
    result.set(userHash, { active: byId.get(activeId)!, byId });
  }
  return result;
}

function resealRow(ring: KeyRing, row: ResealRow, keys: TenantKeys) {
  const lookup = (dekId: number) => keys.byId.get(dekId);
  const [textCipher, metaCipher, embCipher] = CHUNK_FIELDS.map((field) => {
    const aad = chunkAad(row.userHash, row.id, field);
    return sealWithDataKey(keys.active, openAnyScheme(fieldBlob(row, field), aad, lookup, ring), aad);
  }) as [Buffer, Buffer, Buffer];
  return { userHash: row.userHash, id: row.id, textCipher, metaCipher, embCipher, dekId: keys.active.id };
}

/** Re-seals every chunk that is not under its tenant's active DEK. Returns how many it re-sealed. */
export async function resealChunks(pool: Pool, ring: KeyRing, options: ResealOptions = {}): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  const publish = keyStatsPublisher(pool);
  let cursor: ResealCursor | null = null;
  let done = 0;
  keyJobRemaining.set({ job: 'reseal' }, options.total ?? 0);
  for (;;) {
    const batch: { count: number; last: ResealCursor | null } = await inTransaction(pool, async (client) => {
      const rows = await claimReseal(client, batchSize, options.tenant ?? null, cursor);
      if (rows.length === 0) return { count: 0, last: null };
      const keys = await keysForBatch(pool, client, ring, rows);
      const count = await storeResealed(
        client,
        rows.map((row) => resealRow(ring, row, keys.get(row.userHash)!)),
      );
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
