/**
 * The data keys of the tenants in a maintenance batch (re-sealing, lexical reindexing): unwrapped
 * with the job's key ring; a tenant from before per-tenant keys gets its first DEK here.
 */
import { type DataKey, generateDataKey, type KeyRing } from '../crypto/index.js';
import { addTenantKeyInMaintenance, nextDekId, tenantKeysOf } from '../db/keys.js';
import type { PoolClient } from '../db/pool.js';

export interface TenantKeys {
  active: DataKey;
  byId: Map<number, DataKey>;
}

/** Unwraps the DEKs of the tenants in a batch, creating an active DEK for tenants without one. */
export async function keysForBatch(
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
      // A tenant from before per-tenant keys: give it one, in this maintenance transaction (the
      // tenant-scoped add_tenant_key would need the tenant's proof, which a key job cannot compute).
      const dek = generateDataKey(await nextDekId(client));
      const winner = await addTenantKeyInMaintenance(
        client,
        userHash,
        dek.id,
        ring.wrapDataKey(dek, userHash),
        ring.activeKeyId,
      );
      const active =
        winner.dekId === dek.id ? dek : ring.unwrapDataKey(winner.wrappedDek, userHash, winner.dekId);
      byId.set(active.id, active);
      activeId = active.id;
    }
    result.set(userHash, { active: byId.get(activeId)!, byId });
  }
  return result;
}
