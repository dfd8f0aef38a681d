/**
 * How one chunk is sealed and opened. Each field gets its own AAD (tenant, row id, column), so a
 * blob copied to another tenant, another row or another column of the same row fails to open
 * (InvalidTag). New chunks are sealed under the tenant's data key (envelope version 2); blobs from
 * before per-tenant keys (version 1, key ring) still open. The write path and every read path go
 * through here, and nowhere else builds chunk AADs.
 */
import {
  bytesToEmbedding,
  chunkAad,
  type DataKey,
  type DataKeyLookup,
  embeddingToBytes,
  ENVELOPE_DATA_KEY,
  envelopeInfo,
  openAnyScheme,
  sealWithDataKey,
  searchVector,
} from '../crypto/index.js';
import type { KeyScheme, SealedChunk } from '../db/procedures.js';

export interface PlainChunk {
  id: string;
  docId: string;
  source: string;
  text: string;
  /** The metadata's JSON text, as validated (sealed byte for byte). */
  metadataJson: string;
  embedding: Float32Array;
}

export function sealChunk(
  userHash: string,
  chunk: PlainChunk,
  dek: DataKey,
): SealedChunk & { keyId: number; keyScheme: KeyScheme } {
  const sealField = (plaintext: Buffer, field: 'text' | 'meta' | 'embedding') =>
    sealWithDataKey(dek, plaintext, chunkAad(userHash, chunk.id, field));
  return {
    id: chunk.id,
    docId: chunk.docId,
    source: chunk.source,
    textCipher: sealField(Buffer.from(chunk.text, 'utf8'), 'text'),
    metaCipher: sealField(Buffer.from(chunk.metadataJson, 'utf8'), 'meta'),
    embCipher: sealField(embeddingToBytes(chunk.embedding), 'embedding'),
    // What dense search indexes; the embedding itself is only in embCipher (re-scoring opens it).
    embedding: searchVector(chunk.embedding),
    // The key that sealed it; the procedure stores it so key jobs can find rows by key.
    keyId: dek.id,
    keyScheme: 2,
  };
}

/** The data-key ids named by these blobs' headers (key-ring blobs name none). */
export function dataKeyIds(blobs: Iterable<Buffer>): Set<number> {
  const ids = new Set<number>();
  for (const blob of blobs) {
    // A malformed header is left for the open call to report as InvalidTag.
    const info = (() => {
      try {
        return envelopeInfo(blob);
      } catch {
        return undefined;
      }
    })();
    if (info?.version === ENVELOPE_DATA_KEY) ids.add(info.keyId);
  }
  return ids;
}

export function openText(userHash: string, chunkId: string, blob: Buffer, keys: DataKeyLookup): string {
  return openAnyScheme(blob, chunkAad(userHash, chunkId, 'text'), keys).toString('utf8');
}

export function openMetadata(
  userHash: string,
  chunkId: string,
  blob: Buffer,
  keys: DataKeyLookup,
): Record<string, unknown> {
  // The JSON was validated before sealing and the tag proves it is unchanged, so parsing cannot fail.
  return JSON.parse(
    openAnyScheme(blob, chunkAad(userHash, chunkId, 'meta'), keys).toString('utf8'),
  ) as Record<string, unknown>;
}

export function openEmbedding(
  userHash: string,
  chunkId: string,
  blob: Buffer,
  keys: DataKeyLookup,
): Float32Array {
  return bytesToEmbedding(openAnyScheme(blob, chunkAad(userHash, chunkId, 'embedding'), keys));
}
