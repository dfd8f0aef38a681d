/**
 * Associated data that binds a sealed blob to where it is stored. GCM authenticates the AAD but
 * does not store it: the reader must rebuild exactly the same bytes from the row it is reading,
 * so a blob copied into another tenant, another row or another column fails to open.
 *
 * Layout (every variable part length-prefixed, so no two different tuples encode alike — without
 * prefixes, ("ab", "c") and ("a", "bc") would collide):
 *
 *   u32 len | context ("memvault:chunk:v1" / "memvault:chunk:v2" / "memvault:dek:v1") | u32 len | part | ...
 *
 * The context string names the purpose and the AAD layout version. The envelope's own version and
 * key id need not appear here: the envelope authenticates its header alongside this AAD.
 */
import { assertKeyId } from './keys.js';

export const CHUNK_FIELDS = ['text', 'meta', 'embedding'] as const;
export type ChunkField = (typeof CHUNK_FIELDS)[number];

const CHUNK_CONTEXT = 'memvault:chunk:v1';
const LABELLED_CHUNK_CONTEXT = 'memvault:chunk:v2';
const DEK_CONTEXT = 'memvault:dek:v1';
const USER_HASH = /^[0-9a-f]{64}$/;
const MAX_CHUNK_ID_LENGTH = 256;

/** AAD for one field of one chunk: tenant (user_hash), row (chunk id) and column (field). */
export function chunkAad(userHash: string, chunkId: string, field: ChunkField): Buffer {
  assertChunkParts(userHash, chunkId, field);
  return lengthPrefixed([CHUNK_CONTEXT, userHash, chunkId, field]);
}

function assertChunkParts(userHash: string, chunkId: string, field: ChunkField): void {
  assertUserHash(userHash);
  if (typeof chunkId !== 'string' || chunkId.length === 0 || chunkId.length > MAX_CHUNK_ID_LENGTH) {
    throw new TypeError(`chunk id must be a non-empty string of at most ${MAX_CHUNK_ID_LENGTH} characters`);
  }
  if (!(CHUNK_FIELDS as readonly string[]).includes(field)) {
    throw new TypeError(`field must be one of ${CHUNK_FIELDS.join(', ')}`);
  }
}

/** Where a chunk row is and how it is labelled: what a labelled chunk AAD binds. */
export interface ChunkPlace {
  id: string;
  docId: string;
  source: string;
}

/**
 * AAD for one field of one chunk, binding its labels too: tenant, row, column, doc_id and source
 * (`memvault:chunk:v2`). A row whose doc_id or source is rewritten in the table then fails to open,
 * like a moved blob. Used with envelope version 3 (chunk-envelope.ts picks the AAD by version).
 */
export function labelledChunkAad(userHash: string, chunk: ChunkPlace, field: ChunkField): Buffer {
  assertChunkParts(userHash, chunk.id, field);
  if (typeof chunk.docId !== 'string' || typeof chunk.source !== 'string') {
    throw new TypeError('doc id and source must be strings');
  }
  return lengthPrefixed([LABELLED_CHUNK_CONTEXT, userHash, chunk.id, field, chunk.docId, chunk.source]);
}

/** AAD for a tenant's wrapped data key: the DEK opens only for its own tenant and id. */
export function dekAad(userHash: string, dekId: number): Buffer {
  assertUserHash(userHash);
  assertKeyId(dekId, 'data key id');
  return lengthPrefixed([DEK_CONTEXT, userHash, String(dekId)]);
}

function assertUserHash(userHash: string): void {
  if (typeof userHash !== 'string' || !USER_HASH.test(userHash)) {
    throw new TypeError('user_hash must be 64 lowercase hex characters (the output of hmacUser)');
  }
}

/** The parts, each as u32 length + UTF-8 bytes: no two different tuples encode alike. */
export function lengthPrefixed(parts: readonly string[]): Buffer {
  const encoded = parts.map((part) => Buffer.from(part, 'utf8'));
  const out = Buffer.allocUnsafe(encoded.reduce((sum, part) => sum + 4 + part.length, 0));
  let offset = 0;
  for (const part of encoded) {
    offset = out.writeUInt32BE(part.length, offset);
    offset += part.copy(out, offset);
  }
  return out;
}

/** An embedding as the bytes we seal: IEEE-754 float32, little-endian, whatever the host order. */
export function embeddingToBytes(embedding: Float32Array | readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(embedding.length * 4);
  for (let i = 0; i < embedding.length; i++) out.writeFloatLE(embedding[i]!, i * 4);
  return out;
}

/** The inverse of embeddingToBytes. Throws RangeError unless the length is a multiple of 4. */
export function bytesToEmbedding(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4 !== 0) throw new RangeError('embedding bytes must be a multiple of 4 long');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
