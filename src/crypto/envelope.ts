/**
 * The sealed-blob envelope, shared by every scheme:
 *
 *   version (1 byte) | key_id (uint32 BE) | nonce (12 bytes) | ciphertext | tag (16 bytes)
 *
 * AES-256-GCM authenticates `version | key_id` followed by the caller's AAD, so relabelling a
 * blob with another version or key id is a tag failure like any other tamper. The header is
 * fixed-size, which makes "header then caller AAD" unambiguous without a length prefix. The nonce
 * is authenticated by GCM itself.
 *
 * This module knows nothing about where keys come from: callers resolve the key id to a KeyObject
 * (a key ring for version 1, a tenant's data key for version 2) and pass it in.
 */
import { type KeyObject, randomFillSync } from 'node:crypto';
import { types } from 'node:util';

import { GCM_NONCE_BYTES, GCM_TAG_BYTES, gcmOpen, gcmSealInto } from './gcm.js';
import { InvalidTag } from './invalid-tag.js';

/** Sealed directly under a key-ring key; key_id is the ring's key id. */
export const ENVELOPE_KEY_RING = 1;
/** Sealed under a tenant's data key (DEK); key_id is the DEK id, the DEK itself is wrapped by the ring. */
export const ENVELOPE_DATA_KEY = 2;
/**
 * As version 2, and the chunk AAD also binds the row's doc_id and source (aad.ts,
 * `memvault:chunk:v2`): what chunks are sealed with since issue 11 item 9. The version byte is
 * authenticated, so a version-3 blob relabelled as version 2 (to be opened with the shorter AAD)
 * fails like any tamper.
 */
export const ENVELOPE_DATA_KEY_LABELLED = 3;
export type EnvelopeVersion =
  typeof ENVELOPE_KEY_RING | typeof ENVELOPE_DATA_KEY | typeof ENVELOPE_DATA_KEY_LABELLED;
export type DataKeyEnvelopeVersion = typeof ENVELOPE_DATA_KEY | typeof ENVELOPE_DATA_KEY_LABELLED;

/** Whether blobs of this version are sealed under a tenant's DEK (2 and 3) rather than the ring. */
export function isDataKeyVersion(version: number): version is DataKeyEnvelopeVersion {
  return version === ENVELOPE_DATA_KEY || version === ENVELOPE_DATA_KEY_LABELLED;
}

export const HEADER_BYTES = 5;
export const NONCE_BYTES = GCM_NONCE_BYTES;
export const TAG_BYTES = GCM_TAG_BYTES;
/** Bytes a sealed blob adds to its plaintext. */
export const ENVELOPE_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

const BODY_START = HEADER_BYTES + NONCE_BYTES;
const EMPTY = new Uint8Array(0);

export interface EnvelopeInfo {
  readonly version: EnvelopeVersion;
  readonly keyId: number;
}

/**
 * Reads the header without opening the blob, so a caller (or a rotation job) can tell which
 * scheme and key a blob needs. Nothing here is authenticated until the blob is opened.
 * Throws InvalidTag for anything that is not a plausible envelope.
 */
export function envelopeInfo(blob: unknown): EnvelopeInfo {
  if (!types.isUint8Array(blob) || blob.length < ENVELOPE_OVERHEAD) throw new InvalidTag('malformed');
  const version = blob[0];
  if (version !== ENVELOPE_KEY_RING && !isDataKeyVersion(version!)) throw new InvalidTag('unknown_version');
  return { version, keyId: readUint32BE(blob, 1) };
}

/**
 * The key-ring key id a wrapped DEK (or any version-1 blob) needs: what a KEK rotation job reads to
 * decide whether a tenant's DEK still has to be re-wrapped. InvalidTag unless version 1.
 */
export function wrappedKeyId(blob: unknown): number {
  const info = envelopeInfo(blob);
  if (info.version !== ENVELOPE_KEY_RING) throw new InvalidTag('unknown_version');
  return info.keyId;
}

/** Seals `plaintext` under `key`, labelling the blob with `version` and `keyId`. */
export function sealEnvelope(
  version: EnvelopeVersion,
  keyId: number,
  key: KeyObject,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): Buffer {
  if (!types.isUint8Array(plaintext)) throw new TypeError('plaintext must be a Uint8Array');
  if (!types.isUint8Array(aad)) throw new TypeError('aad must be a Uint8Array');

  // One allocation for the whole blob; the nonce is drawn straight into it.
  const blob = Buffer.allocUnsafe(ENVELOPE_OVERHEAD + plaintext.length);
  blob[0] = version;
  blob.writeUInt32BE(keyId, 1);
  randomFillSync(blob, HEADER_BYTES, NONCE_BYTES);

  // The header is authenticated first, then the caller's AAD (see the comment at the top).
  gcmSealInto(
    key,
    blob.subarray(HEADER_BYTES, BODY_START),
    plaintext,
    [blob.subarray(0, HEADER_BYTES), aad],
    blob,
    BODY_START,
  );
  return blob;
}

/**
 * Opens a blob whose header the caller has already resolved to `key`. Returns the plaintext only
 * after the tag verified; on any failure the partial output is wiped and InvalidTag thrown.
 */
export function openEnvelope(key: KeyObject, blob: Uint8Array, aad: Uint8Array = EMPTY): Buffer {
  if (!types.isUint8Array(blob) || blob.length < ENVELOPE_OVERHEAD) throw new InvalidTag('malformed');
  if (!types.isUint8Array(aad)) throw new InvalidTag('malformed');
  const tagStart = blob.length - TAG_BYTES;
  try {
    return gcmOpen(
      key,
      blob.subarray(HEADER_BYTES, BODY_START),
      blob.subarray(BODY_START, tagStart),
      blob.subarray(tagStart),
      [blob.subarray(0, HEADER_BYTES), aad],
    );
  } catch {
    throw new InvalidTag('auth_failed');
  }
}

function readUint32BE(bytes: Uint8Array, offset: number): number {
  return (
    bytes[offset]! * 0x1000000 +
    bytes[offset + 1]! * 0x10000 +
    bytes[offset + 2]! * 0x100 +
    bytes[offset + 3]!
  );
}
