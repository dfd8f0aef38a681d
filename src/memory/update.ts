/**
 * Correcting a chunk: new text and/or metadata. In one tenant transaction: read the row, open it,
 * merge the patch, re-seal all three fields under the tenant's active data key and store them if
 * the row is still at the version read (memory.update_chunk). New text is re-embedded (before the
 * transaction: inference is slow) unless the patch brings its own embedding, and re-indexed
 * lexically (the new text's keyed terms replace the old ones in the same statement). With `ifMatch`, a
 * row at another version is a VersionConflictError (HTTP 412); without, a concurrent change
 * between read and write makes us read again, so a partial patch never overwrites a field it
 * did not name with a stale value.
 */
import { hmacUser, termKeyOf } from '../crypto/index.js';
import { StaleDataKeyError } from '../db/errors.js';
import { getChunk as getChunkRow, type Queryable, updateChunk as updateChunkRow } from '../db/procedures.js';
import { NotFoundError, ValidationError, VersionConflictError } from '../errors.js';
import { defaultAnalyzer, textPostings } from '../lexical/index.js';
import { validateChunkId } from './chunks.js';
import { type MemoryContext, tenantKeys, wroteTenant } from './context.js';
import { type IdempotencyRequest, type Idempotent, runIdempotent } from './idempotency.js';
import { dataKeyIds, openEmbedding, openMetadata, openText, placeOf, sealChunk } from './seal-chunk.js';
import { validateEmbedding, validateId, validateMetadata, validateText } from './validate.js';

export interface ChunkPatch {
  text?: unknown;
  metadata?: unknown;
  /** With `text` only: its embedding (else the server embeds the new text). */
  embedding?: unknown;
}

/** What an update answers (and what an idempotent retry replays): no text or metadata. */
export interface UpdatedChunk {
  id: string;
  docId: string;
  source: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface UpdateOptions {
  /** The version the caller read (If-Match): update only if the chunk is still at it. */
  ifMatch?: number | undefined;
  idempotency?: IdempotencyRequest | undefined;
}

/** Reads and writes racing another writer before giving up (without If-Match). */
const MAX_ATTEMPTS = 5;

export async function updateChunk(
  ctx: MemoryContext,
  userId: unknown,
  id: unknown,
  patch: ChunkPatch,
  options: UpdateOptions = {},
): Promise<Idempotent<UpdatedChunk>> {
  const userHash = hmacUser(validateId(userId, 'user_id'));
  const chunkId = validateChunkId(id);
  const { text, metadataJson, embedding } = await validatePatch(ctx, patch);
  const keys = tenantKeys(ctx);

  const write = async (db: Queryable): Promise<UpdatedChunk> => {
    const row = await getChunkRow(db, userHash, chunkId);
    if (!row) throw new NotFoundError('chunk');
    if (options.ifMatch !== undefined && row.version !== options.ifMatch)
      throw new VersionConflictError(row.version);
    const lookup = await keys.lookup(
      userHash,
      dataKeyIds([row.text_cipher, row.meta_cipher, row.emb_cipher]),
    );
    const dek = await keys.activeKey(userHash);
    // Every stored field is opened, even one the patch replaces: the row's doc_id and source are
    // bound into its AAD (envelope version 3), and re-sealing all three fields under labels that
    // were rewritten in the table would launder the relabel. A tampered row fails closed here.
    const place = placeOf(row);
    const stored = {
      text: openText(userHash, place, row.text_cipher, lookup),
      metadata: openMetadata(userHash, place, row.meta_cipher, lookup),
      embedding: openEmbedding(userHash, place, row.emb_cipher, lookup),
    };
    // All three fields are sealed again, under the active key with the row's labels bound: a
    // version-2 row moves to version 3 on its first update.
    const sealed = sealChunk(
      userHash,
      {
        id: chunkId,
        docId: row.doc_id,
        source: row.source,
        text: text ?? stored.text,
        metadataJson: metadataJson ?? JSON.stringify(stored.metadata),
        embedding: embedding ?? stored.embedding,
      },
      dek,
      ctx.protectVectors === false ? 'clear' : 'protected',
    );
    // New text: its lexical postings replace the old ones in the same statement.
    const lexical =
      text === undefined
        ? undefined
        : ctx.indexLexical === false
          ? null
          : {
              ...textPostings(defaultAnalyzer(), termKeyOf(dek), text),
              termKeyId: dek.id,
              analyzerVersion: defaultAnalyzer().version,
            };
    const result = await updateChunkRow(
      db,
      userHash,
      chunkId,
      row.version,
      sealed,
      dek.id,
      lexical,
      sealed.vector,
    );
    if (result.status === 'not_found') throw new NotFoundError('chunk');
    if (result.status === 'version_mismatch') throw new VersionConflictError(result.version!);
    return {
      id: chunkId,
      docId: result.docId!,
      source: result.source!,
      createdAt: result.createdAt!,
      updatedAt: result.updatedAt!,
      version: result.version!,
    };
  };

  for (let attempt = 1; ; attempt++) {
    try {
      const updated = await runIdempotent(ctx, userHash, options.idempotency, write, {
        status: 200,
        toRecord: (value) => value,
        fromRecord: (stored) => reviveUpdated(stored),
      });
      await wroteTenant(ctx, userHash);
      return updated;
    } catch (thrown) {
      if (attempt >= MAX_ATTEMPTS) throw thrown;
      if (thrown instanceof StaleDataKeyError) {
        keys.forget(userHash); // another process replaced the tenant's key: re-read, re-seal
        continue;
      }
      // Someone else's update landed between our read and our write: read again, unless the
      // caller pinned the version it read.
      if (thrown instanceof VersionConflictError && options.ifMatch === undefined) continue;
      throw thrown;
    }
  }
}

async function validatePatch(
  ctx: MemoryContext,
  patch: ChunkPatch,
): Promise<{ text?: string; metadataJson?: string; embedding?: Float32Array }> {
  if (isAbsent(patch.text) && isAbsent(patch.metadata)) {
    throw new ValidationError('text', 'a patch needs text, metadata or both');
  }
  const out: { text?: string; metadataJson?: string; embedding?: Float32Array } = {};
  if (!isAbsent(patch.text)) out.text = validateText(patch.text, 'text');
  if (!isAbsent(patch.metadata)) out.metadataJson = validateMetadata(patch.metadata, 'metadata').json;
  if (!isAbsent(patch.embedding)) {
    if (out.text === undefined) throw new ValidationError('embedding', 'may only be sent with new text');
    out.embedding = validateEmbedding(patch.embedding, ctx.dim, 'embedding');
  } else if (out.text !== undefined) {
    if (!ctx.embedder)
      throw new ValidationError(
        'embedding',
        'is required with new text: this server has no embedder (MEMVAULT_EMBED_MODEL)',
      );
    [out.embedding] = await ctx.embedder.embed([out.text]);
  }
  return out;
}

function reviveUpdated(stored: unknown): UpdatedChunk {
  const record = stored as Omit<UpdatedChunk, 'createdAt' | 'updatedAt'> & {
    createdAt: string;
    updatedAt: string;
  };
  return { ...record, createdAt: new Date(record.createdAt), updatedAt: new Date(record.updatedAt) };
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}
