/**
 * How one chunk is sealed and opened. Each field gets its own AAD: tenant, row id, column, and the
 * row's doc_id and source, so a blob copied to another tenant, another row or another column, or a
 * row relabelled with another doc id or source, fails to open (InvalidTag). New chunks are sealed
 * under the tenant's data key with their labels bound (envelope version 3); blobs from before
 * (version 2: labels not bound; version 1: key ring) still open until `memvault reseal` moves them.
 * The write path and every read path go through here, and nowhere else builds chunk AADs.
 */
import {
  bytesToEmbedding,
  type ChunkPlace,
  clearSearchVector,
  type DataKey,
  type DataKeyLookup,
  embeddingToBytes,
  envelopeInfo,
  isDataKeyVersion,
  openChunkField,
  sealChunkField,
  searchVector,
} from '../crypto/index.js';
import type { KeyScheme, SealedChunk, SearchVectorKind } from '../db/procedures.js';
import { currentRetrievalSettings } from './retrieval-settings.js';

/** A stored row's place and labels, as the read procedures return them. */
export function placeOf(row: { id: string; doc_id: string; source: string }): ChunkPlace {
  return { id: row.id, docId: row.doc_id, source: row.source };
}

export interface PlainChunk {
  id: string;
  docId: string;
  source: string;
  text: string;
  /** The metadata's JSON text, as validated (sealed byte for byte). */
  metadataJson: string;
  embedding: Float32Array;
}

/**
 * `vectors`: 'protected' (the daemon's only mode) stores protect(embedding) under `dek`'s vector
 * key with the live noise size; 'clear' stores the embedding itself, as before issue 13, for the
 * benchmarks that measure protection against the clear path in one run (MemoryContext.protectVectors).
 */
export function sealChunk(
  userHash: string,
  chunk: PlainChunk,
  dek: DataKey,
  vectors: 'protected' | 'clear' = 'protected',
): SealedChunk & { keyId: number; keyScheme: KeyScheme; vector: SearchVectorKind } {
  const search =
    vectors === 'clear'
      ? clearSearchVector(chunk.embedding)
      : searchVector(chunk.embedding, dek, chunk.id, currentRetrievalSettings().vectorNoise);
  const sealField = (plaintext: Buffer, field: 'text' | 'meta' | 'embedding') =>
    sealChunkField(dek, plaintext, userHash, chunk, field);
  return {
    id: chunk.id,
    docId: chunk.docId,
    source: chunk.source,
    textCipher: sealField(Buffer.from(chunk.text, 'utf8'), 'text'),
    metaCipher: sealField(Buffer.from(chunk.metadataJson, 'utf8'), 'meta'),
    embCipher: sealField(embeddingToBytes(chunk.embedding), 'embedding'),
    // What dense search indexes, protected under the sealing data key's vector key; the embedding
    // itself is only in embCipher (re-scoring opens it).
    embedding: search.vector,
    vector: { scheme: search.scheme, keyId: search.keyId },
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
    if (info && isDataKeyVersion(info.version)) ids.add(info.keyId);
  }
  return ids;
}

export function openText(userHash: string, chunk: ChunkPlace, blob: Buffer, keys: DataKeyLookup): string {
  return openChunkField(blob, userHash, chunk, 'text', keys).toString('utf8');
}

export function openMetadata(
  userHash: string,
  chunk: ChunkPlace,
  blob: Buffer,
  keys: DataKeyLookup,
): Record<string, unknown> {
  // The JSON was validated before sealing and the tag proves it is unchanged, so parsing cannot fail.
  return JSON.parse(openChunkField(blob, userHash, chunk, 'meta', keys).toString('utf8')) as Record<
    string,
    unknown
  >;
}

export function openEmbedding(
  userHash: string,
  chunk: ChunkPlace,
  blob: Buffer,
  keys: DataKeyLookup,
): Float32Array {
  return bytesToEmbedding(openChunkField(blob, userHash, chunk, 'embedding', keys));
}
