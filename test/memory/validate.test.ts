import t from 'tap';

import {
  MAX_BATCH_CHUNKS,
  MAX_ID_LENGTH,
  MAX_METADATA_BYTES,
  MAX_METADATA_DEPTH,
  MAX_TEXT_BYTES,
  validateChunkBatch,
  validateChunkInput,
  validateEmbedding,
  validateId,
  validateMetadata,
  validateText,
} from '../../src/memory/validate.js';

const DIM = 4;
const good = {
  userId: 'user-1',
  docId: 'doc-1',
  source: 'chat',
  text: 'The user prefers window seats.',
  embedding: [0.1, -0.2, 0.3, 0],
  metadata: { lang: 'en', tags: ['travel'], score: 0.5, pinned: false, extra: null },
};

/** What t.throws should see: a ValidationError naming `field`, with `code`. */
const invalid = (field: string, code = 'invalid_input') => ({ name: 'ValidationError', field, code });

t.test('accepts a valid chunk and normalizes it', async (t) => {
  const chunk = validateChunkInput(good, { dim: DIM });
  t.equal(chunk.userId, 'user-1');
  t.equal(chunk.text, good.text);
  t.ok(chunk.embedding instanceof Float32Array);
  t.same([...chunk.embedding], [...new Float32Array(good.embedding)]);
  t.same(chunk.metadata, good.metadata);
  t.equal(chunk.metadataJson, JSON.stringify(good.metadata));
  t.same(
    validateChunkInput({ ...good, metadata: undefined }, { dim: DIM }).metadataJson,
    '{}',
    'metadata defaults to {}',
  );
  t.ok(
    validateChunkInput({ ...good, embedding: new Float32Array(DIM) }, { dim: DIM }),
    'a Float32Array embedding',
  );
});

t.test('names the first bad field of a chunk in snake_case', async (t) => {
  t.throws(
    () => validateChunkInput({ ...good, userId: '' }, { dim: DIM }),
    invalid('user_id', 'invalid_input'),
    `rejects user_id (invalid_input)`,
  );
  t.throws(
    () => validateChunkInput({ ...good, docId: 7 }, { dim: DIM }),
    invalid('doc_id', 'invalid_input'),
    `rejects doc_id (invalid_input)`,
  );
  t.throws(
    () => validateChunkInput({ ...good, source: undefined }, { dim: DIM }),
    invalid('source', 'invalid_input'),
    `rejects source (invalid_input)`,
  );
  t.throws(
    () => validateChunkInput({ ...good, text: '' }, { dim: DIM }),
    invalid('text', 'invalid_input'),
    `rejects text (invalid_input)`,
  );
  t.throws(
    () => validateChunkInput({ ...good, embedding: [1] }, { dim: DIM }),
    invalid('embedding', 'invalid_input'),
    `rejects embedding (invalid_input)`,
  );
  t.throws(
    () => validateChunkInput({ ...good, metadata: [] }, { dim: DIM }),
    invalid('metadata', 'invalid_input'),
    `rejects metadata (invalid_input)`,
  );
  t.throws(
    () => validateChunkInput(null, { dim: DIM }),
    invalid('chunk', 'invalid_input'),
    `rejects a null chunk (invalid_input)`,
  );
  t.throws(
    () => validateChunkInput([good], { dim: DIM }),
    invalid('chunk', 'invalid_input'),
    `rejects an array as chunk (invalid_input)`,
  );
});

t.test('text', async (t) => {
  t.equal(
    validateText('é'.repeat(MAX_TEXT_BYTES / 2)),
    'é'.repeat(MAX_TEXT_BYTES / 2),
    'accepts exactly the byte limit',
  );
  t.throws(
    () => validateText('é'.repeat(MAX_TEXT_BYTES / 2 + 1)),
    invalid('text', 'too_large'),
    `rejects one byte over 64 KiB of UTF-8 (too_large)`,
  );
  t.throws(
    () => validateText('a'.repeat(MAX_TEXT_BYTES + 1)),
    invalid('text', 'too_large'),
    `rejects a long ASCII text (too_large)`,
  );
  t.throws(
    () => validateText(' \n\t '),
    invalid('text', 'invalid_input'),
    `rejects whitespace only (invalid_input)`,
  );
  t.throws(() => validateText(42), invalid('text', 'invalid_input'), `rejects a number (invalid_input)`);
  t.throws(
    () => validateText('ok \uD800 not ok'),
    invalid('text', 'invalid_input'),
    `rejects a lone high surrogate (invalid_input)`,
  );
  t.throws(
    () => validateText('\uDFFF'),
    invalid('text', 'invalid_input'),
    `rejects a lone low surrogate (invalid_input)`,
  );
  const sealable = 'emoji 🦊 and NUL \0 are fine';
  t.equal(validateText(sealable), sealable, 'surrogate pairs and NUL are fine in sealed text');
  t.equal(MAX_TEXT_BYTES, 65536);
});

t.test('ids', async (t) => {
  t.equal(validateId('x'.repeat(MAX_ID_LENGTH), 'doc_id').length, 256, 'accepts 256 characters');
  t.throws(
    () => validateId('x'.repeat(MAX_ID_LENGTH + 1), 'doc_id'),
    invalid('doc_id', 'too_large'),
    `rejects 257 characters (too_large)`,
  );
  t.throws(
    () => validateId('a\0b', 'user_id'),
    invalid('user_id', 'invalid_input'),
    `rejects a NUL (invalid_input)`,
  );
  t.throws(
    () => validateId('\uD800', 'source'),
    invalid('source', 'invalid_input'),
    `rejects a lone surrogate (invalid_input)`,
  );
  t.throws(
    () => validateId(['a'], 'source'),
    invalid('source', 'invalid_input'),
    `rejects an array (invalid_input)`,
  );
});

t.test('embedding', async (t) => {
  t.same([...validateEmbedding([1, 2, 3, 4], DIM)], [1, 2, 3, 4]);
  t.throws(
    () => validateEmbedding([1, 2, 3], DIM),
    invalid('embedding', 'invalid_input'),
    `rejects too few dimensions (invalid_input)`,
  );
  t.throws(
    () => validateEmbedding([1, 2, 3, 4, 5], DIM),
    invalid('embedding', 'invalid_input'),
    `rejects too many dimensions (invalid_input)`,
  );
  for (const bad of [NaN, Infinity, -Infinity, '1', null, undefined, 1e39, -3.5e38]) {
    t.throws(
      () => validateEmbedding([0, 0, bad, 0], DIM),
      invalid('embedding', 'invalid_input'),
      `rejects element ${String(bad)} (invalid_input)`,
    );
  }
  t.throws(
    () => validateEmbedding('[1,2,3,4]', DIM),
    invalid('embedding', 'invalid_input'),
    `rejects a string (invalid_input)`,
  );
  t.throws(
    () => validateEmbedding({ length: 4 }, DIM),
    invalid('embedding', 'invalid_input'),
    `rejects an array-like (invalid_input)`,
  );
  t.throws(
    () => validateEmbedding(new Array<number>(DIM), DIM),
    invalid('embedding', 'invalid_input'),
    `rejects a sparse array (invalid_input)`,
  );
  const extremes = [3.4e38, -3.4e38, 1e-45, -0];
  t.same(
    Array.from(validateEmbedding(extremes, DIM)),
    Array.from(Float32Array.from(extremes)),
    'accepts float32 extremes',
  );
  t.throws(() => validateEmbedding([1], 0), RangeError, 'a bad dim is a programming error');
});

t.test('metadata', async (t) => {
  t.same(
    validateMetadata(Object.assign(Object.create(null) as object, { a: 1 })).value,
    { a: 1 },
    'a null-prototype object',
  );
  t.throws(
    () => validateMetadata(null),
    invalid('metadata', 'invalid_input'),
    `rejects null (invalid_input)`,
  );
  t.throws(
    () => validateMetadata([1]),
    invalid('metadata', 'invalid_input'),
    `rejects an array (invalid_input)`,
  );
  t.throws(
    () => validateMetadata('{}'),
    invalid('metadata', 'invalid_input'),
    `rejects a string (invalid_input)`,
  );
  t.throws(
    () => validateMetadata(new Date()),
    invalid('metadata', 'invalid_input'),
    `rejects a Date (invalid_input)`,
  );
  for (const [name, value] of Object.entries({
    undefined: undefined,
    'a function': () => 1,
    NaN: NaN,
    Infinity: Infinity,
    'a bigint': 1n,
    'a symbol': Symbol('s'),
    'a Date': new Date(0),
    'a Map': new Map(),
  })) {
    t.throws(
      () => validateMetadata({ ok: 1, nested: { list: [1, value] } }),
      invalid('metadata', 'invalid_input'),
      `rejects a nested ${name} (invalid_input)`,
    );
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.throws(
    () => validateMetadata(cyclic),
    invalid('metadata', 'invalid_input'),
    `rejects a cycle (invalid_input)`,
  );
  let deep: unknown = 1;
  for (let i = 0; i < MAX_METADATA_DEPTH - 1; i++) deep = [deep]; // plus the top-level object
  t.equal(
    validateMetadata({ deep }).json,
    JSON.stringify({ deep }),
    `accepts nesting up to ${MAX_METADATA_DEPTH}`,
  );
  t.throws(
    () => validateMetadata({ deep: [deep] }),
    invalid('metadata', 'invalid_input'),
    `rejects nesting one deeper (invalid_input)`,
  );
  const limit = { s: 'x'.repeat(MAX_METADATA_BYTES - '{"s":""}'.length) };
  t.equal(validateMetadata(limit).json.length, MAX_METADATA_BYTES, 'accepts exactly 16 KiB of JSON');
  t.throws(
    () => validateMetadata({ s: limit.s + 'x' }),
    invalid('metadata', 'too_large'),
    `rejects one byte over 16 KiB (too_large)`,
  );
  const error = t.throws(() => validateMetadata({ 'secret-key-name': undefined })) as Error;
  t.notMatch(error.message, /secret-key-name/, 'keys (caller data) stay out of the message');
});

t.test('batches', async (t) => {
  t.equal(validateChunkBatch([good, good], { dim: DIM }).length, 2);
  t.throws(
    () => validateChunkBatch([good, good, good, { ...good, text: '' }], { dim: DIM }),
    invalid('chunks[3].text', 'invalid_input'),
    `rejects chunks[3].text (invalid_input)`,
  );
  t.throws(
    () => validateChunkBatch([{ ...good, metadata: { a: NaN } }], { dim: DIM }),
    invalid('chunks[0].metadata', 'invalid_input'),
    `rejects chunks[0].metadata (invalid_input)`,
  );
  t.throws(
    () => validateChunkBatch([], { dim: DIM }),
    invalid('chunks', 'invalid_input'),
    `rejects an empty batch (invalid_input)`,
  );
  t.throws(
    () => validateChunkBatch(good, { dim: DIM }),
    invalid('chunks', 'invalid_input'),
    `rejects a non-array (invalid_input)`,
  );
  t.throws(
    () => validateChunkBatch(new Array(MAX_BATCH_CHUNKS + 1).fill(good), { dim: DIM }),
    invalid('chunks', 'too_large'),
    `rejects too many chunks (too_large)`,
  );
  t.throws(
    () => validateChunkBatch([good, 'x'], { dim: DIM }),
    invalid('chunks[1]', 'invalid_input'),
    `rejects a non-object chunk (invalid_input)`,
  );
});
