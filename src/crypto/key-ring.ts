/**
 * The key ring: every key-encryption key the daemon knows, by id, and the one it seals with.
 * Old ids stay in the ring only to open existing blobs, which is what makes rotation possible
 * without downtime: add a new key and make it active, re-seal or re-wrap at leisure, then retire
 * the old id once nothing needs it (see docs/CRYPTO.md).
 *
 * Configuration (read by KeyRing.fromEnv), one of:
 *   MEMORY_ENCRYPTION_KEY=<base64 32 bytes>  [MEMORY_ENCRYPTION_KEY_ID=<id>, default 1]
 *   MEMORY_ENCRYPTION_KEYS=<id>:<base64>,<id>:<base64>,...  [MEMORY_ENCRYPTION_ACTIVE_KEY_ID=<id>,
 *     default the highest id]
 */
import { type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';

import { type Env, envString } from '../env.js';
import { ConfigError } from '../errors.js';
import { dekAad } from './aad.js';
import { DataKey, dataKeyMaterial } from './data-key.js';
import { ENVELOPE_KEY_RING, envelopeInfo, openEnvelope, sealEnvelope } from './envelope.js';
import { InvalidTag } from './invalid-tag.js';
import { EncryptionKey, encryptionKeyMaterial, KEY_BYTES, parseKeyId } from './keys.js';

export const KEY_VARIABLE = 'MEMORY_ENCRYPTION_KEY';
export const KEY_ID_VARIABLE = 'MEMORY_ENCRYPTION_KEY_ID';
export const KEYS_VARIABLE = 'MEMORY_ENCRYPTION_KEYS';
export const ACTIVE_KEY_ID_VARIABLE = 'MEMORY_ENCRYPTION_ACTIVE_KEY_ID';

// Filled in by KeyRing's static block: config.ts compares ring keys with the HMAC key.
let keysOf: (ring: KeyRing) => KeyObject[];

/** Every KeyObject in a ring. Internal: not re-exported from the package. */
export function keyRingMaterial(ring: KeyRing): KeyObject[] {
  return keysOf(ring);
}

export class KeyRing {
  readonly activeKeyId: number;
  readonly #keys: ReadonlyMap<number, KeyObject>;
  readonly #active: KeyObject;
  readonly #source: readonly EncryptionKey[];

  static {
    keysOf = (ring) => [...ring.#keys.values()];
  }

  /**
   * Builds a ring from explicit keys (tests, rotation tooling). `activeKeyId` defaults to the
   * highest id. Throws RangeError on an empty ring, a repeated id, one key under two ids (which
   * would defeat rotation) or an active id that is not in the ring.
   */
  constructor(keys: Iterable<EncryptionKey>, activeKeyId?: number) {
    const list = [...keys];
    const problem = ringProblem(list, activeKeyId);
    if (problem) throw new RangeError(`key ring: ${problem}`);
    this.#source = list;
    this.#keys = new Map(list.map((key) => [key.id, encryptionKeyMaterial(key)]));
    this.activeKeyId = activeKeyId ?? Math.max(...this.#keys.keys());
    this.#active = this.#keys.get(this.activeKeyId)!;
  }

  /** Reads the ring from the environment; any problem is a ConfigError naming the variable. */
  static fromEnv(env: Env): KeyRing {
    const single = envString(env, KEY_VARIABLE);
    const many = envString(env, KEYS_VARIABLE);
    if (single !== undefined && many !== undefined) {
      throw new ConfigError(KEYS_VARIABLE, `set either ${KEY_VARIABLE} or ${KEYS_VARIABLE}, not both`);
    }
    if (single === undefined && many === undefined) {
      throw new ConfigError(
        KEY_VARIABLE,
        `is not set (base64 of ${KEY_BYTES} random bytes, or ${KEYS_VARIABLE})`,
      );
    }
    if (many !== undefined && envString(env, KEY_ID_VARIABLE) !== undefined) {
      throw new ConfigError(
        KEY_ID_VARIABLE,
        `applies to ${KEY_VARIABLE} only; ${KEYS_VARIABLE} names its own ids`,
      );
    }
    const keys = many !== undefined ? parseKeyList(many) : [parseSingleKey(env, single)];
    const duplicate = duplicateKeyProblem(keys);
    if (duplicate) throw new ConfigError(many !== undefined ? KEYS_VARIABLE : KEY_VARIABLE, duplicate);

    const activeText = envString(env, ACTIVE_KEY_ID_VARIABLE);
    const activeKeyId = activeText === undefined ? undefined : parseKeyId(activeText, ACTIVE_KEY_ID_VARIABLE);
    if (activeKeyId !== undefined && !keys.some((key) => key.id === activeKeyId)) {
      throw new ConfigError(ACTIVE_KEY_ID_VARIABLE, `key id ${activeKeyId} is not among the configured ids`);
    }
    return new KeyRing(keys, activeKeyId);
  }

  /**
   * The same keys with another one active: a rotation decided at run time (the active_kek_id
   * setting) rather than by restarting with a new MEMORY_ENCRYPTION_ACTIVE_KEY_ID.
   */
  withActiveKey(keyId: number): KeyRing {
    return keyId === this.activeKeyId ? this : new KeyRing(this.#source, keyId);
  }

  /** Configured ids, highest first. */
  get keyIds(): number[] {
    return [...this.#keys.keys()].sort((a, b) => b - a);
  }

  has(keyId: number): boolean {
    return this.#keys.has(keyId);
  }

  /** Seals under the active key (envelope version 1). */
  seal(plaintext: Uint8Array, aad?: Uint8Array): Buffer {
    return sealEnvelope(ENVELOPE_KEY_RING, this.activeKeyId, this.#active, plaintext, aad);
  }

  /** Opens a version-1 blob under whichever configured key its header names; else InvalidTag. */
  open(blob: Uint8Array, aad?: Uint8Array): Buffer {
    const { version, keyId } = envelopeInfo(blob);
    if (version !== ENVELOPE_KEY_RING) throw new InvalidTag('unknown_version');
    const key = this.#keys.get(keyId);
    if (key === undefined) throw new InvalidTag('unknown_key');
    return openEnvelope(key, blob, aad);
  }

  /** Wraps a tenant's DEK under the active key, bound (by AAD) to that tenant and DEK id. */
  wrapDataKey(dek: DataKey, userHash: string): Buffer {
    if (!(dek instanceof DataKey)) throw new TypeError('dek must be a DataKey');
    const bytes = dataKeyMaterial(dek).export();
    try {
      return this.seal(bytes, dekAad(userHash, dek.id));
    } finally {
      bytes.fill(0);
    }
  }

  /** Unwraps a DEK stored for `userHash` under `dekId`; InvalidTag if it belongs elsewhere. */
  unwrapDataKey(wrapped: Uint8Array, userHash: string, dekId: number): DataKey {
    const bytes = this.open(wrapped, dekAad(userHash, dekId));
    try {
      if (bytes.length !== KEY_BYTES) throw new InvalidTag('malformed');
      return DataKey.fromBytes(dekId, bytes);
    } finally {
      bytes.fill(0);
    }
  }

  /** Re-wraps a DEK under the active key (KEK rotation): one small blob per tenant. */
  rewrapDataKey(wrapped: Uint8Array, userHash: string, dekId: number): Buffer {
    return this.wrapDataKey(this.unwrapDataKey(wrapped, userHash, dekId), userHash);
  }

  toJSON(): { keyIds: number[]; activeKeyId: number } {
    return { keyIds: this.keyIds, activeKeyId: this.activeKeyId };
  }

  [inspect.custom](): string {
    return `KeyRing { keyIds: [${this.keyIds.join(', ')}], activeKeyId: ${this.activeKeyId} }`;
  }
}

function parseSingleKey(env: Env, base64: string | undefined): EncryptionKey {
  const idText = envString(env, KEY_ID_VARIABLE);
  const id = idText === undefined ? 1 : parseKeyId(idText, KEY_ID_VARIABLE);
  return EncryptionKey.fromBase64(id, base64, KEY_VARIABLE);
}

/** Parses `id:base64,id:base64`; messages name entries by position or id, never by content. */
function parseKeyList(text: string): EncryptionKey[] {
  return text.split(',').map((entry, index) => {
    const colon = entry.indexOf(':');
    if (colon < 0)
      throw new ConfigError(KEYS_VARIABLE, `entry ${index + 1} is not of the form <id>:<base64>`);
    const id = parseKeyId(entry.slice(0, colon), KEYS_VARIABLE);
    return EncryptionKey.fromBase64(id, entry.slice(colon + 1), KEYS_VARIABLE);
  });
}

function ringProblem(keys: readonly EncryptionKey[], activeKeyId: number | undefined): string | undefined {
  if (keys.length === 0) return 'no keys';
  const duplicate = duplicateKeyProblem(keys);
  if (duplicate) return duplicate;
  if (activeKeyId !== undefined && !keys.some((key) => key.id === activeKeyId)) {
    return `active key id ${activeKeyId} is not among the configured ids`;
  }
  return undefined;
}

/** A repeated id is ambiguous; one key under two ids would make "retire the old id" a lie. */
function duplicateKeyProblem(keys: readonly EncryptionKey[]): string | undefined {
  for (let i = 0; i < keys.length; i++) {
    for (let j = 0; j < i; j++) {
      if (keys[i]!.id === keys[j]!.id) return `key id ${keys[i]!.id} appears twice`;
      if (keys[i]!.sameMaterialAs(keys[j]!))
        return `key ids ${keys[j]!.id} and ${keys[i]!.id} hold the same key`;
    }
  }
  return undefined;
}
