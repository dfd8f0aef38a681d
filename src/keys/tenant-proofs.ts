/**
 * The rollout of tenant proofs (issue 11, item 5; docs/CRYPTO.md): a database with tenants from
 * before proofs existed has no verifier for them, so they are still served by their hash alone.
 * This job stores each one's verifier — SHA-256 of its proof, which only the tenant HMAC key
 * computes, so the job needs MEMORY_TENANT_HMAC_KEY like `tenants rehash` — and then makes proofs
 * required. Resumable: a re-run claims only tenants still without a verifier.
 */
import { type TenantHmacKey, tenantProofWith, tenantVerifier } from '../crypto/index.js';
import { claimTenantProofs, requireTenantProofs, storeTenantVerifiers } from '../db/keys.js';
import type { Pool } from '../db/pool.js';
import { inTransaction, type ProgressListener } from './maintenance.js';

export interface ProveReport {
  /** Verifiers stored by this run. */
  stored: number;
  /** Tenants with data still without a verifier (written meanwhile by a previous release). */
  missing: number;
  required: boolean;
}

export async function proveTenants(
  pool: Pool,
  tenantKey: TenantHmacKey,
  options: { batchSize?: number; onProgress?: ProgressListener } = {},
): Promise<ProveReport> {
  const batchSize = options.batchSize ?? 1000;
  let stored = 0;
  let after = '';
  for (;;) {
    const batch = await inTransaction(pool, async (client) => {
      const hashes = await claimTenantProofs(client, batchSize, after);
      if (hashes.length === 0) return hashes;
      stored += await storeTenantVerifiers(
        client,
        hashes.map((userHash) => ({
          userHash,
          verifier: tenantVerifier(tenantProofWith(tenantKey, userHash)),
        })),
      );
      return hashes;
    });
    if (batch.length === 0) break;
    after = batch[batch.length - 1]!;
    await options.onProgress?.({ job: 'prove', done: stored, total: stored });
  }
  const { missing, required } = await inTransaction(pool, (client) => requireTenantProofs(client));
  return { stored, missing, required };
}
