/**
 * HMAC key rotation: moves each tenant from user_hash = HMAC(old key, user id) to HMAC(new key,
 * user id). The AAD of every blob and the wrapping of every DEK bind the user_hash, so each blob
 * is opened under the old binding and sealed under the new one; one transaction per tenant makes
 * the move atomic, and a re-run skips tenants already moved.
 */

import {
  CHUNK_FIELDS,
  chunkAad,
  type DataKey,
  hmacUserWith,
  type KeyRing,
  openChunkField,
  sealChunkField,
  type TenantHmacKey,
  tenantProofWith,
  tenantVerifier,
} from '../crypto/index.js';
import {
  type RehashChunkRow,
  rehashMoveChunks,
  rehashMoveKeys,
  rehashMoveProof,
  rehashReadChunks,
  rehashTenantState,
  tenantKeysOf,
} from '../db/keys.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { keyStatsPublisher } from './key-stats.js';
import { inTransaction, type ProgressListener } from './maintenance.js';
import { keyJobItems } from './metrics.js';
import { fieldBlob } from './open-blob.js';

export type RehashOutcome = 'moved' | 'already_moved' | 'not_found' | 'conflict';

export interface RehashReport {
  moved: number;
  alreadyMoved: number;
  notFound: string[];
  conflicts: string[];
  chunks: number;
}

const PAGE = 500;

async function moveTenant(
  client: PoolClient,
  ring: KeyRing,
  oldHash: string,
  newHash: string,
  newKey: TenantHmacKey,
): Promise<number> {
  const stored = await tenantKeysOf(client, [oldHash]);
  const deks = new Map<number, DataKey>(
    stored.map((k) => [k.dekId, ring.unwrapDataKey(k.wrappedDek, oldHash, k.dekId)]),
  );
  const lookup = (dekId: number) => deks.get(dekId);

  const reseal = (row: RehashChunkRow) => {
    const [textCipher, metaCipher, embCipher] = CHUNK_FIELDS.map((field) => {
      const plaintext = openChunkField(fieldBlob(row, field), oldHash, row, field, lookup, ring);
      // Keep the key scheme; only the tenant binding changes. A DEK blob (version 2 or 3) is sealed
      // as version 3, labels bound, like every new write. A legacy (version 1) blob is sealed under
      // the ring's active key, not the key it was under: that keeps new ciphertext off keys on their
      // way to retirement. memory.rehash_move_chunks stores key_scheme and key_id from the new
      // blob's header, so key_usage and retire count the blob under the key that actually sealed it.
      return row.keyScheme === 2
        ? sealChunkField(deks.get(row.keyId)!, plaintext, newHash, row, field)
        : ring.seal(plaintext, chunkAad(newHash, row.id, field));
    }) as [Buffer, Buffer, Buffer];
    return { id: row.id, textCipher, metaCipher, embCipher };
  };

  let moved = 0;
  let after: string | null = null;
  for (;;) {
    const rows = await rehashReadChunks(client, oldHash, PAGE, after);
    if (rows.length === 0) break;
    moved += await rehashMoveChunks(client, oldHash, newHash, rows.map(reseal));
    after = rows[rows.length - 1]!.id;
  }
  const rewrapped = [...deks.values()].map((dek) => ({
    dekId: dek.id,
    wrappedDek: ring.wrapDataKey(dek, newHash),
  }));
  await rehashMoveKeys(client, oldHash, newHash, rewrapped, ring.activeKeyId);
  // The tenant's proof is derived from its hash under the HMAC key: the new key's proof for the
  // new hash replaces the old verifier, in the same transaction as the rows.
  await rehashMoveProof(client, oldHash, newHash, tenantVerifier(tenantProofWith(newKey, newHash)));
  return moved;
}

/** Moves every listed user's tenant from the old HMAC key's hash to the new one's. */
export async function rehashTenants(
  pool: Pool,
  ring: KeyRing,
  keys: { oldKey: TenantHmacKey; newKey: TenantHmacKey },
  userIds: string[],
  onProgress?: ProgressListener,
): Promise<RehashReport> {
  const report: RehashReport = { moved: 0, alreadyMoved: 0, notFound: [], conflicts: [], chunks: 0 };
  const publish = keyStatsPublisher(pool);
  let done = 0;
  for (const userId of userIds) {
    const oldHash = hmacUserWith(keys.oldKey, userId);
    const newHash = hmacUserWith(keys.newKey, userId);
    const outcome = await inTransaction(pool, async (client): Promise<RehashOutcome> => {
      const [before, after] = [
        await rehashTenantState(client, oldHash),
        await rehashTenantState(client, newHash),
      ];
      const oldEmpty = before.chunks === 0 && before.keys === 0;
      const newEmpty = after.chunks === 0 && after.keys === 0;
      if (oldEmpty) return newEmpty ? 'not_found' : 'already_moved';
      if (!newEmpty) return 'conflict';
      const chunks = await moveTenant(client, ring, oldHash, newHash, keys.newKey);
      report.chunks += chunks;
      keyJobItems.inc({ job: 'rehash' }, chunks);
      return 'moved';
    });
    if (outcome === 'moved') report.moved++;
    else if (outcome === 'already_moved') report.alreadyMoved++;
    // Reported by position in the input list, not echoed: a user id may itself be personal data.
    else if (outcome === 'not_found') report.notFound.push(`entry ${done + 1}`);
    else report.conflicts.push(`entry ${done + 1}`);
    done++;
    await onProgress?.({ job: 'rehash', done, total: userIds.length });
    await publish();
  }
  await publish(true);
  return report;
}
