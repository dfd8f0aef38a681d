/**
 * How a chunk field is sealed and opened, whatever its envelope version: the one place that pairs
 * a version with its AAD layout.
 *
 * - version 3 (every new seal): the tenant's DEK, AAD = tenant, row, column, doc_id, source;
 * - version 2 (before issue 11 item 9): the tenant's DEK, AAD = tenant, row, column;
 * - version 1 (before per-tenant keys): the key ring, AAD = tenant, row, column.
 *
 * Versions 1 and 2 still open, so old rows are read as before; `memvault reseal` moves them to 3.
 * The AAD is chosen from the blob's header, which is authenticated: a version-3 blob whose byte is
 * changed to 2 is opened with the shorter AAD and fails.
 */
import { chunkAad, type ChunkField, type ChunkPlace, labelledChunkAad } from './aad.js';
import { openAnyScheme } from './api.js';
import { type DataKey, type DataKeyLookup, sealWithDataKey } from './data-key.js';
import { ENVELOPE_DATA_KEY_LABELLED, envelopeInfo } from './envelope.js';
import type { KeyRing } from './key-ring.js';

/** Seals one field of a chunk under the tenant's DEK, labels bound (envelope version 3). */
export function sealChunkField(
  dek: DataKey,
  plaintext: Uint8Array,
  userHash: string,
  chunk: ChunkPlace,
  field: ChunkField,
): Buffer {
  return sealWithDataKey(
    dek,
    plaintext,
    labelledChunkAad(userHash, chunk, field),
    ENVELOPE_DATA_KEY_LABELLED,
  );
}

/** The AAD this blob was sealed with, by its envelope version. InvalidTag for a malformed header. */
export function chunkAadFor(
  blob: Uint8Array,
  userHash: string,
  chunk: ChunkPlace,
  field: ChunkField,
): Buffer {
  return envelopeInfo(blob).version === ENVELOPE_DATA_KEY_LABELLED
    ? labelledChunkAad(userHash, chunk, field)
    : chunkAad(userHash, chunk.id, field);
}

/**
 * Opens one field of a chunk of any version: versions 2 and 3 with the tenant's DEK (`dataKey`),
 * version 1 with the ring (the process default unless the key jobs pass theirs). InvalidTag on
 * any mismatch, including a relabelled doc_id or source of a version-3 row.
 */
export function openChunkField(
  blob: Uint8Array,
  userHash: string,
  chunk: ChunkPlace,
  field: ChunkField,
  dataKey?: DataKey | DataKeyLookup,
  ring?: KeyRing,
): Buffer {
  const aad = chunkAadFor(blob, userHash, chunk, field);
  return ring === undefined ? openAnyScheme(blob, aad, dataKey) : openAnyScheme(blob, aad, dataKey, ring);
}
