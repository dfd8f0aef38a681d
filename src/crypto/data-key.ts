/**
 * Per-tenant data keys (DEKs) for envelope encryption. A tenant's chunk fields are sealed under its
 * own random DEK (envelope version 2); the DEK is stored only wrapped by a key-ring key (see
 * KeyRing.wrapDataKey). Rotating the ring then re-wraps one small blob per tenant instead of
 * re-sealing every chunk, and destroying a tenant's wrapped DEK makes all of its blobs unreadable
 * wherever copies survive (crypto-shredding).
 *
 * DEK ids are uint32s assigned by the database (unique per tenant at least); the id travels in the
 * blob header so a reader knows which of a tenant's DEKs to fetch.
 */
import { generateKeySync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';

import {
  type DataKeyEnvelopeVersion,
  ENVELOPE_DATA_KEY,
  envelopeInfo,
  isDataKeyVersion,
  openEnvelope,
  sealEnvelope,
} from './envelope.js';
import { InvalidTag } from './invalid-tag.js';
import { assertKeyId, secretKeyFrom } from './keys.js';

// Filled in by DataKey's static block (see keys.ts for why).
let materialOf: (dek: DataKey) => KeyObject;

/** The KeyObject inside a DEK. Internal: not re-exported from the package. */
export function dataKeyMaterial(dek: DataKey): KeyObject {
  return materialOf(dek);
}

export class DataKey {
  readonly id: number;
  readonly #key: KeyObject;

  private constructor(id: number, key: KeyObject) {
    this.id = id;
    this.#key = key;
  }

  /** A fresh random DEK, generated straight into a KeyObject (no key bytes on the JS heap). */
  static generate(id: number): DataKey {
    assertKeyId(id, 'data key id');
    return new DataKey(id, generateKeySync('aes', { length: 256 }));
  }

  static fromBytes(id: number, bytes: Uint8Array): DataKey {
    assertKeyId(id, 'data key id');
    return new DataKey(id, secretKeyFrom(bytes, 'data key'));
  }

  static {
    materialOf = (dek) => dek.#key;
  }

  toJSON(): { id: number } {
    return { id: this.id };
  }

  [inspect.custom](): string {
    return `DataKey { id: ${this.id} }`;
  }
}

/** Resolves a DEK id (read from a blob header) to the tenant's unwrapped DEK, if it has one. */
export type DataKeyLookup = (dekId: number) => DataKey | undefined;

export function generateDataKey(id: number): DataKey {
  return DataKey.generate(id);
}

/**
 * Seals under a tenant's DEK, key_id = the DEK id: envelope version 2 by default, or 3 for a chunk
 * field whose AAD binds its labels (chunk-envelope.ts). The version only labels the blob; the
 * caller's AAD is what differs.
 */
export function sealWithDataKey(
  dek: DataKey,
  plaintext: Uint8Array,
  aad?: Uint8Array,
  version: DataKeyEnvelopeVersion = ENVELOPE_DATA_KEY,
): Buffer {
  if (!(dek instanceof DataKey)) throw new TypeError('dek must be a DataKey');
  if (!isDataKeyVersion(version)) throw new TypeError('version must be a data-key envelope version (2 or 3)');
  return sealEnvelope(version, dek.id, dataKeyMaterial(dek), plaintext, aad);
}

/**
 * Opens a version-2 or -3 blob with the given DEK, or with whichever DEK `lookup` returns for the
 * id in the blob's header. Throws InvalidTag for anything else, including a version-1 blob (open
 * those with the key ring) and a DEK whose id does not match the header.
 */
export function openWithDataKey(dek: DataKey | DataKeyLookup, blob: Uint8Array, aad?: Uint8Array): Buffer {
  const info = envelopeInfo(blob);
  if (!isDataKeyVersion(info.version)) throw new InvalidTag('unknown_version');
  const key = typeof dek === 'function' ? dek(info.keyId) : dek;
  if (!(key instanceof DataKey) || key.id !== info.keyId) throw new InvalidTag('unknown_key');
  return openEnvelope(dataKeyMaterial(key), blob, aad);
}
