/**
 * Which sealed column of a chunk row holds a field. The jobs open those blobs with
 * openAnyScheme(blob, aad, lookup, ring), passing their own ring.
 */
import type { ChunkField } from '../crypto/index.js';

/** The three sealed columns of a chunk row as the key jobs read them. */
export interface SealedFields {
  textCipher: Buffer;
  metaCipher: Buffer;
  embCipher: Buffer;
}

export function fieldBlob(row: SealedFields, field: ChunkField): Buffer {
  return field === 'text' ? row.textCipher : field === 'meta' ? row.metaCipher : row.embCipher;
}
