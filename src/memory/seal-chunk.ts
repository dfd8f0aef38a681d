/**
 * How one chunk is sealed and opened. Each field gets its own AAD (tenant, row id, column), so a
 * blob copied to another tenant, another row or another column of the same row fails to open
 * (InvalidTag). The write path and every read path go through here, and nowhere else builds AADs.
 */
import { bytesToEmbedding, chunkAad, embeddingToBytes, envelopeInfo, openSealed, seal } from '../crypto/index.js';
import type { SealedChunk } from '../db/procedures.js';

export interface PlainChunk {
  id: string;
  docId: string;
  source: string;
  text: string;
  /** The metadata's JSON text, as validated (sealed byte for byte). */
  metadataJson: string;
  embedding: Float32Array;
}

export function sealChunk(userHash: string, chunk: PlainChunk): SealedChunk & { keyId: number } {
  const textCipher = seal(Buffer.from(chunk.text, 'utf8'), chunkAad(userHash, chunk.id, 'text'));
  return {
    id: chunk.id,
    docId: chunk.docId,
    source: chunk.source,
    textCipher,
    metaCipher: seal(Buffer.from(chunk.metadataJson, 'utf8'), chunkAad(userHash, chunk.id, 'meta')),
    embCipher: seal(embeddingToBytes(chunk.embedding), chunkAad(userHash, chunk.id, 'embedding')),
    embedding: chunk.embedding,
    // The key that sealed it; the procedure stores it so a rotation job can find old rows.
    keyId: envelopeInfo(textCipher).keyId,
  };
}

export function openText(userHash: string, chunkId: string, blob: Buffer): string {
  return openSealed(blob, chunkAad(userHash, chunkId, 'text')).toString('utf8');
}

export function openMetadata(userHash: string, chunkId: string, blob: Buffer): Record<string, unknown> {
  // The JSON was validated before sealing and the tag proves it is unchanged, so parsing cannot fail.
  return JSON.parse(openSealed(blob, chunkAad(userHash, chunkId, 'meta')).toString('utf8')) as Record<string, unknown>;
}

export function openEmbedding(userHash: string, chunkId: string, blob: Buffer): Float32Array {
  return bytesToEmbedding(openSealed(blob, chunkAad(userHash, chunkId, 'embedding')));
}
