/**
 * Opens a blob of either envelope scheme with an explicit key ring (jobs are given their ring; they
 * must not fall back to the process default read from the environment).
 */
import {
  type ChunkField,
  type DataKeyLookup,
  ENVELOPE_DATA_KEY,
  envelopeInfo,
  type KeyRing,
  openWithDataKey,
} from '../crypto/index.js';

/** The three sealed columns of a chunk row as the key jobs read them. */
export interface SealedFields {
  textCipher: Buffer;
  metaCipher: Buffer;
  embCipher: Buffer;
}

export function fieldBlob(row: SealedFields, field: ChunkField): Buffer {
  return field === 'text' ? row.textCipher : field === 'meta' ? row.metaCipher : row.embCipher;
}

export function openWithRing(
  ring: KeyRing,
  blob: Uint8Array,
  aad: Uint8Array,
  lookup: DataKeyLookup,
): Buffer {
  return envelopeInfo(blob).version === ENVELOPE_DATA_KEY
    ? openWithDataKey(lookup, blob, aad)
    : ring.open(blob, aad);
}
