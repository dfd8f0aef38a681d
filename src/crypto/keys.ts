/**
 * Secret keys as opaque objects. Raw key bytes are copied into a node:crypto KeyObject (which
 * lives outside the JS heap and prints as `SecretKeyObject {}`) and the decoded buffer is zeroed,
 * so no key byte lingers in a string, a log line or a heap snapshot of our own objects. Every
 * holder keeps its KeyObject in a #private field and prints only its id.
 */
import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

import { ConfigError } from '../errors.js';

/** AES-256 and our HMAC keys are both exactly this long. */
export const KEY_BYTES = 32;
/**
 * Key ids travel as a uint32 in every envelope header (0 is reserved as "no id"), but the database
 * stores them in `integer` columns (key_id, kek_id, dek_id), so a usable id must also fit a signed
 * 32-bit integer: a larger one would pass here and fail at the first write.
 */
export const MAX_KEY_ID = 0x7fff_ffff;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes a 32-byte key from standard base64, or throws a ConfigError naming `variable`. The
 * message never contains the value; it may say how many bytes it decoded to, which tells an
 * operator "you pasted a hex key" without saying anything useful about the key.
 */
export function decodeKeyBase64(value: string | undefined, variable: string, label = ''): Buffer {
  const text = value?.trim();
  if (!text) throw new ConfigError(variable, `${label}is not set (base64 of ${KEY_BYTES} random bytes)`);
  if (!BASE64.test(text)) throw new ConfigError(variable, `${label}is not valid base64`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== KEY_BYTES) {
    const got = bytes.length;
    bytes.fill(0);
    throw new ConfigError(variable, `${label}must decode to exactly ${KEY_BYTES} bytes (got ${got})`);
  }
  return bytes;
}

export function isKeyId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= MAX_KEY_ID;
}

/** Parses a key id written in a variable ("3"), or throws a ConfigError naming the variable. */
export function parseKeyId(text: string, variable: string): number {
  const trimmed = text.trim();
  const id = /^\d{1,10}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!isKeyId(id)) throw new ConfigError(variable, `key ids must be integers from 1 to ${MAX_KEY_ID}`);
  return id;
}

export function assertKeyId(id: unknown, what: string): asserts id is number {
  if (!isKeyId(id)) throw new RangeError(`${what} must be an integer from 1 to ${MAX_KEY_ID}`);
}

/** Copies key bytes into a KeyObject. The caller's buffer is left untouched (it may be shared). */
export function secretKeyFrom(bytes: Uint8Array, what: string): KeyObject {
  if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_BYTES) {
    throw new RangeError(`${what} must be ${KEY_BYTES} bytes`);
  }
  return createSecretKey(bytes);
}

/** A fresh random key, base64-encoded, for operators and rotation tooling (`memvault keys new`). */
export function generateKeyBase64(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

// Filled in by EncryptionKey's static block: lets the envelope code reach the KeyObject without a
// public accessor on an exported class.
let materialOf: (key: EncryptionKey) => KeyObject;

/** The KeyObject inside a ring key. Internal: not re-exported from the package. */
export function encryptionKeyMaterial(key: EncryptionKey): KeyObject {
  return materialOf(key);
}

/**
 * A key-ring key: an AES-256-GCM key-encryption key known by a numeric id. Ids are chosen by the
 * operator, never derived from key material, so an id reveals nothing about its key.
 */
export class EncryptionKey {
  readonly id: number;
  readonly #key: KeyObject;

  private constructor(id: number, key: KeyObject) {
    this.id = id;
    this.#key = key;
  }

  static fromBytes(id: number, bytes: Uint8Array): EncryptionKey {
    assertKeyId(id, 'key id');
    return new EncryptionKey(id, secretKeyFrom(bytes, 'encryption key'));
  }

  /** Decodes `base64`, naming `variable` (and the key id) in any ConfigError, never the value. */
  static fromBase64(id: number, base64: string | undefined, variable: string): EncryptionKey {
    assertKeyId(id, 'key id');
    const bytes = decodeKeyBase64(base64, variable, `key id ${id}: `);
    try {
      return new EncryptionKey(id, createSecretKey(bytes));
    } finally {
      bytes.fill(0);
    }
  }

  static {
    materialOf = (key) => key.#key;
  }

  /** Whether two keys hold the same bytes (used to refuse one key configured under two ids). */
  sameMaterialAs(other: EncryptionKey): boolean {
    return this.#key.equals(other.#key);
  }

  toJSON(): { id: number } {
    return { id: this.id };
  }

  [inspect.custom](): string {
    return `EncryptionKey { id: ${this.id} }`;
  }
}
