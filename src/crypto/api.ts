/**
 * The module-level API: the same operations as KeyRing / TenantHmacKey, delegating to the process
 * default configuration (installed with configureCrypto, see config.ts). Most callers need nothing
 * else: `hmacUser`, then `seal` / `openSealed` with an AAD from `chunkAad`.
 */
import { cryptoConfigured, defaultKeyRing, defaultTenantKey } from './config.js';
import { type DataKey, type DataKeyLookup, openWithDataKey } from './data-key.js';
import { envelopeInfo, isDataKeyVersion } from './envelope.js';
import { type DigestPurpose, tenantProofWith } from './hmac.js';
import type { KeyRing } from './key-ring.js';

/** HMAC-SHA256(MEMORY_TENANT_HMAC_KEY, userId) as 64 lowercase hex: the tenant's user_hash. */
export function hmacUser(userId: string): string {
  return defaultTenantKey().hash(userId);
}

/**
 * The tenant's proof under MEMORY_TENANT_HMAC_KEY (hmac.ts tenantProofWith), or undefined in a
 * process whose crypto is not configured (it then acts for no tenant that has a verifier).
 */
export function tenantProof(userHash: string): string | undefined {
  if (!cryptoConfigured()) return undefined;
  return tenantProofWith(defaultTenantKey(), userHash);
}

/** A keyed digest under MEMORY_TENANT_HMAC_KEY's subkey for `purpose` (TenantHmacKey.digest). */
export function tenantDigest(purpose: DigestPurpose, parts: readonly string[]): Buffer {
  return defaultTenantKey().digest(purpose, parts);
}

/** Seals under the active key-ring key (envelope version 1). */
export function seal(plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  return defaultKeyRing().seal(plaintext, aad);
}

/** Opens a version-1 blob; any failure is InvalidTag. */
export function openSealed(blob: Uint8Array, aad?: Uint8Array): Buffer {
  return defaultKeyRing().open(blob, aad);
}

/**
 * Opens a blob of either scheme: version 1 with the key ring, versions 2 and 3 with the tenant's DEK.
 * For read paths that meet rows from before and after the move to per-tenant keys. The key jobs
 * pass their own `ring` (never the process default); the daemon's read path leaves it out.
 */
export function openAnyScheme(
  blob: Uint8Array,
  aad: Uint8Array | undefined,
  dataKey?: DataKey | DataKeyLookup,
  ring: KeyRing = defaultKeyRing(),
): Buffer {
  if (isDataKeyVersion(envelopeInfo(blob).version) && dataKey !== undefined) {
    return openWithDataKey(dataKey, blob, aad);
  }
  return ring.open(blob, aad);
}

/** Wraps a tenant's DEK under the active key-ring key, bound to the tenant and DEK id. */
export function wrapDataKey(dek: DataKey, userHash: string): Buffer {
  return defaultKeyRing().wrapDataKey(dek, userHash);
}

/** Unwraps a DEK stored for `userHash` under `dekId`; InvalidTag if it belongs elsewhere. */
export function unwrapDataKey(wrapped: Uint8Array, userHash: string, dekId: number): DataKey {
  return defaultKeyRing().unwrapDataKey(wrapped, userHash, dekId);
}

/** Re-wraps a DEK under the currently active key-ring key. */
export function rewrapDataKey(wrapped: Uint8Array, userHash: string, dekId: number): Buffer {
  return defaultKeyRing().rewrapDataKey(wrapped, userHash, dekId);
}
