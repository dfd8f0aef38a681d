/**
 * The write path: validate, hash the user, choose chunk ids, embed what came without an
 * embedding, seal text / metadata / embedding, analyse the text into keyed tokens for the lexical
 * index, and store the batch with its index in one procedure call (all or nothing).
 */
import { randomUUID } from 'node:crypto';

import { hmacUser, termKeyOf } from '../crypto/index.js';
import { StaleDataKeyError } from '../db/errors.js';
import { type Queryable, storeSealedChunks } from '../db/procedures.js';
import { ValidationError } from '../errors.js';
import { defaultAnalyzer, lexicalBatch } from '../lexical/index.js';
import { type MemoryContext, tenantKeys, wroteTenant } from './context.js';
import { type IdempotencyRequest, type Idempotent, runIdempotent } from './idempotency.js';
import { sealChunk } from './seal-chunk.js';
import { MAX_BATCH_CHUNKS, validateChunkInput, validateId, type ValidChunk } from './validate.js';

/** Source recorded when a caller names none (the schema allows '', but ids here must be non-empty). */
export const DEFAULT_SOURCE = 'default';

export interface NewChunk {
  docId: unknown;
  source?: unknown;
  text: unknown;
  metadata?: unknown;
  /** Omitted (or null): embedded with the context's embedder, else a ValidationError. */
  embedding?: unknown;
}

export interface WriteOptions {
  /** An Idempotency-Key and the request it came with (memory/idempotency.ts). */
  idempotency?: IdempotencyRequest | undefined;
}

export async function indexChunk(ctx: MemoryContext, userId: unknown, chunk: NewChunk): Promise<string> {
  const [id] = (await store(ctx, userId, [chunk], () => undefined, {})).value;
  return id!;
}

/** indexChunk with options; `replayed` says the ids are an earlier attempt's (nothing was written). */
export async function indexChunkIdempotent(
  ctx: MemoryContext,
  userId: unknown,
  chunk: NewChunk,
  options: WriteOptions,
): Promise<Idempotent<string>> {
  const { value, replayed } = await store(ctx, userId, [chunk], () => undefined, options);
  return { value: value[0]!, replayed };
}

/** All chunks or none: any invalid chunk rejects the batch before anything is written. */
export async function indexChunks(ctx: MemoryContext, userId: unknown, chunks: unknown): Promise<string[]> {
  return (await indexChunksIdempotent(ctx, userId, chunks, {})).value;
}

export async function indexChunksIdempotent(
  ctx: MemoryContext,
  userId: unknown,
  chunks: unknown,
  options: WriteOptions,
): Promise<Idempotent<string[]>> {
  if (!Array.isArray(chunks)) throw new ValidationError('chunks', 'must be an array');
  if (chunks.length === 0) throw new ValidationError('chunks', 'must not be empty');
  if (chunks.length > MAX_BATCH_CHUNKS) {
    throw new ValidationError('chunks', `must hold at most ${MAX_BATCH_CHUNKS} chunks`, 'too_large');
  }
  return store(ctx, userId, chunks as NewChunk[], (i) => `chunks[${i}]`, options);
}

/** Where chunk i sits in the request, for field names (`chunks[3].text`); undefined for a single chunk. */
type ChunkPath = (index: number) => string | undefined;

async function store(
  ctx: MemoryContext,
  userId: unknown,
  inputs: NewChunk[],
  path: ChunkPath,
  options: WriteOptions,
): Promise<Idempotent<string[]>> {
  const validUserId = validateId(userId, 'user_id');
  const valid = await validateAndEmbed(ctx, validUserId, inputs, path);
  const userHash = hmacUser(validUserId);
  const keys = tenantKeys(ctx);
  const ids = valid.map(() => randomUUID());
  const sealAndStore = async (db: Queryable): Promise<string[]> => {
    const dek = await keys.activeKey(userHash);
    const vectors = ctx.protectVectors === false ? 'clear' : 'protected';
    const sealed = valid.map((chunk, i) => sealChunk(userHash, { ...chunk, id: ids[i]! }, dek, vectors));
    const lexical =
      ctx.indexLexical === false
        ? undefined
        : lexicalBatch(
            defaultAnalyzer(),
            termKeyOf(dek),
            valid.map((chunk) => chunk.text),
          );
    await storeSealedChunks(db, userHash, sealed, dek.id, 2, lexical, sealed[0]!.vector);
    return ids;
  };
  // Without a key: one statement, no transaction needed. With one: claim, store, record.
  const attempt = (): Promise<Idempotent<string[]>> =>
    options.idempotency
      ? runIdempotent(ctx, userHash, options.idempotency, sealAndStore, {
          status: 201,
          toRecord: (written) => ({ ids: written }),
          fromRecord: (stored) => (stored as { ids: string[] }).ids,
        })
      : sealAndStore(ctx.pool).then((written) => ({ value: written, replayed: false }));
  let result: Idempotent<string[]>;
  try {
    result = await attempt();
  } catch (thrown) {
    // Our cached DEK was destroyed or replaced by another process: re-read the keys, seal again.
    if (!(thrown instanceof StaleDataKeyError)) throw thrown;
    keys.forget(userHash);
    result = await attempt();
  }
  await wroteTenant(ctx, userHash);
  return result;
}

async function validateAndEmbed(
  ctx: MemoryContext,
  userId: string,
  inputs: NewChunk[],
  path: ChunkPath,
): Promise<ValidChunk[]> {
  // Chunks without an embedding are validated against a placeholder, then embedded together in
  // one call once the whole batch is known to be valid.
  const placeholder = new Float32Array(ctx.dim);
  const needsEmbedding: number[] = [];
  const valid = inputs.map((input, i): ValidChunk => {
    const prefix = path(i);
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new ValidationError(prefix ?? 'body', 'must be an object');
    }
    const missing = input.embedding === undefined || input.embedding === null;
    if (missing && !ctx.embedder) {
      const field = prefix ? `${prefix}.embedding` : 'embedding';
      throw new ValidationError(field, 'is required: this server has no embedder (MEMVAULT_EMBED_MODEL)');
    }
    if (missing) needsEmbedding.push(i);
    const candidate = {
      userId,
      docId: input.docId,
      source: input.source ?? DEFAULT_SOURCE,
      text: input.text,
      metadata: input.metadata,
      embedding: missing ? placeholder : input.embedding,
    };
    return validateChunkInput(
      candidate,
      prefix === undefined ? { dim: ctx.dim } : { dim: ctx.dim, path: prefix },
    );
  });
  if (needsEmbedding.length > 0) {
    const vectors = await ctx.embedder!.embed(needsEmbedding.map((i) => valid[i]!.text));
    needsEmbedding.forEach((chunkIndex, j) => {
      valid[chunkIndex] = { ...valid[chunkIndex]!, embedding: vectors[j]! };
    });
  }
  return valid;
}
