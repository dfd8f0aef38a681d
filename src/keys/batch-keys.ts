/**
 * The data keys of the tenants in a maintenance batch (re-sealing, lexical reindexing): unwrapped
 * with the job's key ring; a tenant from before per-tenant keys gets its first DEK here.
 */
import type { DataKey, KeyRing } from '../crypto/index.js';
import { tenantKeysOf } from '../db/keys.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { createTenantDek } from './tenant-key-store.js';

export interface TenantKeys {
  active: DataKey;
  byId: Map<number, DataKey>;
}

/** Unwraps the DEKs of the tenants in a batch, creating an active DEK for tenants without one. */
export async function keysForBatch(
  pool: Pool,
  client: PoolClient,
  ring: KeyRing,
  rows: ReadonlyArray<{ userHash: string }>,
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
