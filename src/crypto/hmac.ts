/**
 * Tenant hashing: user ids never reach the database, only HMAC-SHA256(tenant key, user id). A keyed
 * hash (not a plain SHA-256) means a leaked table cannot be matched against a list of candidate ids
 * without the key. Deterministic by design: the same user maps to the same tenant on every daemon.
 */
import { createHash, createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';

import { ValidationError } from '../errors.js';
import { lengthPrefixed } from './aad.js';
import { decodeKeyBase64, secretKeyFrom } from './keys.js';

export const TENANT_HMAC_KEY_VARIABLE = 'MEMORY_TENANT_HMAC_KEY';

// In unicode mode this matches only unpaired surrogates, which UTF-8 cannot encode: Node would
// hash them as U+FFFD, so two different ids would silently share one tenant.
const LONE_SURROGATE = /\p{Surrogate}/u;

/** What a keyed digest is for; each purpose gets its own subkey. */
export type DigestPurpose = 'list-cursor' | 'idempotency-key' | 'idempotency-request' | 'tenant-proof';

export class TenantHmacKey {
  readonly #key: KeyObject;
  readonly #subkeys = new Map<DigestPurpose, KeyObject>();

  private constructor(key: KeyObject) {
    this.#key = key;
  }

  static fromBytes(bytes: Uint8Array): TenantHmacKey {
    return new TenantHmacKey(secretKeyFrom(bytes, 'tenant HMAC key'));
  }

  /**
   * Decodes a base64 key from `variable` (MEMORY_TENANT_HMAC_KEY, or e.g. the old/new keys given to
   * `memvault tenants rehash`), naming the variable in any ConfigError and never echoing the value.
   */
  static fromBase64(base64: string | undefined, variable = TENANT_HMAC_KEY_VARIABLE): TenantHmacKey {
    const bytes = decodeKeyBase64(base64, variable);
    try {
      return new TenantHmacKey(createSecretKey(bytes));
    } finally {
      bytes.fill(0);
    }
  }

  hash(userId: string): string {
    assertUserId(userId);
    return createHmac('sha256', this.#key).update(userId, 'utf8').digest('hex');
  }

  /**
   * HMAC-SHA256 of the length-prefixed parts under a subkey for `purpose` (HKDF-SHA256 of this
   * key, info `memvault:<purpose>:v1`): keyed digests that every daemon sharing the key computes
   * alike (pagination cursors, idempotency keys), unrelated to user hashes and to each other.
   */
  digest(purpose: DigestPurpose, parts: readonly string[]): Buffer {
    let subkey = this.#subkeys.get(purpose);
    if (!subkey) {
      const bytes = Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), `memvault:${purpose}:v1`, 32));
      subkey = secretKeyFrom(bytes, 'derived digest key');
      bytes.fill(0);
      this.#subkeys.set(purpose, subkey);
    }
    return createHmac('sha256', subkey).update(lengthPrefixed(parts)).digest();
  }

  /** Whether two keys hold the same bytes (used to refuse reusing an encryption key for HMAC). */
  sameMaterialAs(other: KeyObject): boolean {
    return this.#key.equals(other);
  }

  toJSON(): string {
    return 'TenantHmacKey';
  }

  [inspect.custom](): string {
    return 'TenantHmacKey {}';
  }
}

/**
 * The tenant's proof (issue 11, item 5; docs/CRYPTO.md): HMAC-SHA256 over its user_hash under the
 * key's 'tenant-proof' subkey, 64 lowercase hex. The procedures accept a tenant only with it
 * (db/functions/tenant_proof.sql); the database stores its SHA-256 (tenantVerifier), never it.
 */
export function tenantProofWith(key: TenantHmacKey, userHash: string): string {
  return key.digest('tenant-proof', [userHash]).toString('hex');
}

/** What the database keeps of a proof: SHA-256 of its 32 bytes. */
export function tenantVerifier(proofHex: string): Buffer {
  return createHash('sha256').update(Buffer.from(proofHex, 'hex')).digest();
}

/** Hashes with an explicit key; HMAC key rotation computes old and new hashes side by side. */
export function hmacUserWith(key: TenantHmacKey, userId: string): string {
  return key.hash(userId);
}

function assertUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string') throw new ValidationError('user_id', 'must be a string');
  if (userId.length === 0) throw new ValidationError('user_id', 'must not be empty');
  if (LONE_SURROGATE.test(userId)) throw new ValidationError('user_id', 'must be well-formed Unicode');
}

/**
 * Loads an explicit tenant key from base64, e.g. `loadTenantHmacKey(env.MEMORY_TENANT_HMAC_KEY_OLD,
 * 'MEMORY_TENANT_HMAC_KEY_OLD')` for a rehash; a ConfigError names `variable`, never the value.
 */
export function loadTenantHmacKey(base64: string | undefined, variable: string): TenantHmacKey {
  return TenantHmacKey.fromBase64(base64, variable);
}
