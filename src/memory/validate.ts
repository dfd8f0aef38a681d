/**
 * Input validation for the write path. Pure: it throws a ValidationError naming the offending
 * field (in the API's snake_case, with a path for batches: `chunks[3].text`) or returns a
 * normalized value that the rest of the write path can trust without re-checking. Nothing is
 * silently changed: values JSON or UTF-8 could not carry faithfully are rejected, not coerced.
 */
import { ValidationError } from '../errors.js';
import { LONE_SURROGATE, MAX_TEXT_BYTES, validateText } from '../text.js';

// Chunk text follows the shared text rule (src/text.ts).
export { MAX_TEXT_BYTES, validateText };

/** Largest metadata object, measured as its JSON serialization in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 16 * 1024;
/** Deepest nesting of objects and arrays in metadata, the top-level object being level 1. */
export const MAX_METADATA_DEPTH = 32;
/** Longest user_id, doc_id or source, in UTF-16 code units (JavaScript's `length`). */
export const MAX_ID_LENGTH = 256;
/** Most chunks accepted in one batch write. */
export const MAX_BATCH_CHUNKS = 1000;

/** What callers hand to the write path (the TypeScript API is camelCase). */
export interface ChunkInput {
  userId: unknown;
  docId: unknown;
  source: unknown;
  text: unknown;
  embedding: unknown;
  metadata?: unknown;
}

export interface ValidChunk {
  readonly userId: string;
  readonly docId: string;
  readonly source: string;
  readonly text: string;
  readonly embedding: Float32Array;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The metadata's JSON, already measured: seal these bytes rather than serializing twice. */
  readonly metadataJson: string;
}

export interface ValidateOptions {
  /** The embedding dimension the schema was migrated with. */
  readonly dim: number;
  /** Prefix for field names, e.g. `chunks[3]` (validateChunkBatch sets it). */
  readonly path?: string;
}

// In unicode mode this matches only unpaired surrogates: UTF-8 cannot encode them, so the text
// that came back would differ from the text stored.
// float32's largest finite value: a larger double would become Infinity in the vector column.
const FLOAT32_MAX = 3.4028234663852886e38;

export function validateChunkInput(input: unknown, options: ValidateOptions): ValidChunk {
  const field = (name: string): string => (options.path ? `${options.path}.${name}` : name);
  if (!isPlainObject(input)) throw new ValidationError(options.path ?? 'chunk', 'must be an object');
  const chunk = input as Partial<ChunkInput>;
  // Checked in the order a reader scans the request, so the first error reported is the first field.
  const userId = validateId(chunk.userId, field('user_id'));
  const docId = validateId(chunk.docId, field('doc_id'));
  const source = validateId(chunk.source, field('source'));
  const text = validateText(chunk.text, field('text'));
  const embedding = validateEmbedding(chunk.embedding, options.dim, field('embedding'));
  const metadata = validateMetadata(chunk.metadata ?? {}, field('metadata'));
  return { userId, docId, source, text, embedding, metadata: metadata.value, metadataJson: metadata.json };
}

/** Validates a batch: every chunk, naming failures `chunks[i].field`. */
export function validateChunkBatch(inputs: unknown, options: Omit<ValidateOptions, 'path'>): ValidChunk[] {
  if (!Array.isArray(inputs)) throw new ValidationError('chunks', 'must be an array');
  if (inputs.length === 0) throw new ValidationError('chunks', 'must not be empty');
  if (inputs.length > MAX_BATCH_CHUNKS) {
    throw new ValidationError('chunks', `must hold at most ${MAX_BATCH_CHUNKS} chunks`, 'too_large');
  }
  return inputs.map((input: unknown, i) => validateChunkInput(input, { ...options, path: `chunks[${i}]` }));
}

/** user_id, doc_id, source: a non-empty string of at most MAX_ID_LENGTH, no NUL, valid Unicode. */
export function validateId(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  if (value.length === 0) throw new ValidationError(field, 'must not be empty');
  if (value.length > MAX_ID_LENGTH) {
    throw new ValidationError(field, `must be at most ${MAX_ID_LENGTH} characters`, 'too_large');
  }
  // PostgreSQL text cannot hold NUL; better a clear 400 here than a driver error later.
  if (value.includes('\0')) throw new ValidationError(field, 'must not contain NUL characters');
  if (LONE_SURROGATE.test(value)) throw new ValidationError(field, 'must be well-formed Unicode');
  return value;
}

/** An embedding: exactly `dim` finite numbers within float32 range. */
export function validateEmbedding(value: unknown, dim: number, field = 'embedding'): Float32Array {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError('dim must be a positive integer');
  if (!Array.isArray(value) && !(value instanceof Float32Array) && !(value instanceof Float64Array)) {
    throw new ValidationError(field, 'must be an array of numbers');
  }
  if (value.length !== dim)
    throw new ValidationError(field, `must have exactly ${dim} dimensions (got ${value.length})`);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const x: unknown = value[i];
    if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > FLOAT32_MAX) {
      throw new ValidationError(field, `element ${i} must be a finite number within float32 range`);
    }
    out[i] = x;
  }
  return out;
}

/**
 * Metadata: a plain JSON object whose values are JSON values (strings, finite numbers, booleans,
 * null, arrays, plain objects), serializing to at most MAX_METADATA_BYTES. Returns it with its JSON.
 */
export function validateMetadata(
  value: unknown,
  field = 'metadata',
): { value: Readonly<Record<string, unknown>>; json: string } {
  if (!isPlainObject(value)) throw new ValidationError(field, 'must be a JSON object (not an array or null)');
  const problem = jsonProblem(value, 0);
  if (problem) throw new ValidationError(field, problem);
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json, 'utf8') > MAX_METADATA_BYTES) {
    throw new ValidationError(
      field,
      `must serialize to at most ${MAX_METADATA_BYTES} bytes of JSON`,
      'too_large',
    );
  }
  return { value: value as Record<string, unknown>, json };
}

/**
 * Describes the first value that JSON would drop or alter; undefined if none. The description
 * names the kind of value, never its path: metadata keys are caller data and stay out of errors.
 */
function jsonProblem(value: unknown, enclosing: number): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : 'must not contain NaN or Infinity';
  const children = Array.isArray(value) ? value : isPlainObject(value) ? Object.values(value) : undefined;
  if (children === undefined) {
    const kind = typeof value === 'object' ? 'an object that is not a plain object' : typeof value;
    return `must contain only JSON values (found ${kind})`;
  }
  // Counting containers (the top-level object is level 1) also ends a walk over a cyclic object.
  if (enclosing + 1 > MAX_METADATA_DEPTH)
    return `must not nest objects and arrays deeper than ${MAX_METADATA_DEPTH} levels`;
  for (const child of children) {
    const problem = jsonProblem(child, enclosing + 1);
    if (problem) return problem;
  }
  return undefined;
}

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
