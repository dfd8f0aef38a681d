/**
 * The schema check (src/api/validate.ts) reports what the use cases' own validation reports for
 * the same input: the same field, message and code. So moving a rule into the schema never changes
 * an answer, and the messages callers saw before the schemas existed stay.
 */
import t from 'tap';

import { operations, type Schema } from '../../src/api/schema.js';
import { assertMatches, fieldName } from '../../src/api/validate.js';
import { ValidationError } from '../../src/errors.js';
import { type QueryInput, validateQuery } from '../../src/memory/query.js';
import {
  MAX_BATCH_CHUNKS,
  MAX_ID_LENGTH,
  MAX_TEXT_BYTES,
  validateChunkInput,
} from '../../src/memory/validate.js';
import { validateRerankInput } from '../../src/rerank/index.js';

const DIM = 4;
const vector = [0.1, 0.2, 0.3, 0.4];

function caught(fn: () => unknown): { field: string; message: string; code: string } | undefined {
  try {
    fn();
  } catch (thrown) {
    if (!(thrown instanceof ValidationError)) throw thrown;
    return { field: thrown.field, message: thrown.message, code: thrown.code };
  }
  return undefined;
}

function bySchema(schema: Schema, body: unknown) {
  return caught(() => assertMatches(schema, body));
}

t.test(
  'POST /v1/chunks: the schema names the same field with the same message as validateChunkInput',
  async (t) => {
    const base = { user_id: 'u', doc_id: 'd', text: 'hello', embedding: vector };
    const cases: Array<Record<string, unknown>> = [
      { user_id: undefined },
      { user_id: '' },
      { user_id: 42 },
      { user_id: 'x'.repeat(MAX_ID_LENGTH + 1) },
      { doc_id: undefined },
      { doc_id: '' },
      { source: '' },
      { source: ['x'] },
      { text: undefined },
      { text: '   ' },
      { text: '' },
      { text: 'x'.repeat(MAX_TEXT_BYTES + 1) },
      { embedding: 'not an array' },
      { embedding: [0.1, 0.2, 0.3, 'x'] },
      { metadata: [1, 2] },
      { metadata: 'x' },
      // Two bad fields: both report the first in reading order.
      { user_id: 5, text: 5 },
      { doc_id: undefined, metadata: 3 },
    ];
    for (const extra of cases) {
      const body: Record<string, unknown> = { ...base, ...extra };
      const schema = bySchema(operations.createChunk.body, body);
      const domain = caught(() =>
        validateChunkInput(
          {
            userId: body.user_id,
            docId: body.doc_id,
            source: body.source ?? 'default',
            text: body.text,
            embedding: body.embedding,
            metadata: body.metadata ?? {},
          },
          { dim: DIM },
        ),
      );
      t.ok(schema, `the schema rejects ${JSON.stringify(extra).slice(0, 60)}`);
      t.same(schema, domain, JSON.stringify(extra).slice(0, 60));
    }
  },
);

t.test('POST /v1/chunks/batch: chunks[i].field, and the batch rules', async (t) => {
  const good = { doc_id: 'd', text: 't', embedding: vector };
  const schema = operations.createChunks.body;
  t.same(bySchema(schema, { user_id: 'u' }), {
    field: 'chunks',
    message: 'chunks: must be an array',
    code: 'invalid_input',
  });
  t.same(bySchema(schema, { user_id: 'u', chunks: [] }), {
    field: 'chunks',
    message: 'chunks: must not be empty',
    code: 'invalid_input',
  });
  t.same(
    bySchema(schema, { user_id: 'u', chunks: Array.from({ length: MAX_BATCH_CHUNKS + 1 }, () => good) }),
    {
      field: 'chunks',
      message: `chunks: must hold at most ${MAX_BATCH_CHUNKS} chunks`,
      code: 'too_large',
    },
  );
  t.same(bySchema(schema, { user_id: 'u', chunks: [good, 'nope'] }), {
    field: 'chunks[1]',
    message: 'chunks[1]: must be an object',
    code: 'invalid_input',
  });
  t.same(
    bySchema(schema, { user_id: 'u', chunks: [good, { ...good, text: '' }, { ...good, doc_id: 1 }] })?.field,
    'chunks[1].text',
  );
  t.same(bySchema(schema, { chunks: [good] })?.field, 'user_id');
  t.same(
    bySchema(schema, { user_id: 'u', chunks: [good, { text: 't' }] })?.message,
    'chunks[1].doc_id: must be a string',
  );
  t.equal(bySchema(schema, { user_id: 'u', chunks: [good, good] }), undefined, 'a good batch passes');
});

t.test('POST /v1/query: the schema agrees with validateQuery', async (t) => {
  const base = { user_id: 'u', query: 'hello', embedding: vector };
  const cases: Array<Record<string, unknown>> = [
    { user_id: '' },
    { query: undefined },
    { query: '' },
    { query: 7 },
    { k: 0 },
    { k: 101 },
    { k: 2.5 },
    { k: '8' },
    { candidates: 0 },
    { candidates: 10_000 },
    { rerank: 'yes' },
    { doc_id: '' },
    { doc_id: 5 },
    { source: 'x'.repeat(MAX_ID_LENGTH + 1) },
  ];
  for (const extra of cases) {
    const body: Record<string, unknown> = { ...base, ...extra };
    const input: QueryInput = {
      userId: body.user_id,
      query: body.query,
      embedding: body.embedding,
      k: body.k,
      candidates: body.candidates,
      rerank: body.rerank,
      docId: body.doc_id,
      source: body.source,
    };
    const schema = bySchema(operations.queryMemories.body, body);
    t.ok(schema, `the schema rejects ${JSON.stringify(extra).slice(0, 60)}`);
    t.same(
      schema,
      caught(() => validateQuery(input, DIM)),
      JSON.stringify(extra).slice(0, 60),
    );
  }
  t.equal(
    bySchema(operations.queryMemories.body, { ...base, k: null, doc_id: null, rerank: null }),
    undefined,
    'null is absent',
  );
});

t.test('POST /v1/rerank: texts as validateRerankInput says; documents as strings or {text}', async (t) => {
  const schema = operations.rerank.body;
  for (const body of [
    { texts: ['a'] },
    { query: 'q', texts: 'a' },
    { query: 'q', texts: [] },
    { query: 'q', texts: ['a', 3] },
    { query: 'q', texts: ['a', '  '] },
  ]) {
    const domain = caught(() =>
      validateRerankInput(body.query, body.texts, { maxCandidates: 512, field: 'texts', nonEmpty: true }),
    );
    t.same(bySchema(schema, body), domain, JSON.stringify(body));
  }
  t.same(bySchema(schema, { query: 'q', texts: ['a'], top_n: 0 }), {
    field: 'top_n',
    message: 'top_n: must be a positive integer',
    code: 'invalid_input',
  });
  t.equal(
    bySchema(schema, { query: 'q', documents: ['a', { text: 'b', id: 7 }], top_n: 1, model: 'x' }),
    undefined,
  );
  t.same(bySchema(schema, { query: 'q', documents: ['a', 3] })?.field, 'documents[1]');
  t.same(
    bySchema(schema, { query: 'q', documents: [{ title: 'no text' }] })?.message,
    'documents[0].text: must be a string',
  );
  t.same(
    bySchema(schema, { query: 'q', documents: ['a', { text: ' ' }] })?.message,
    'documents[1].text: must not be empty or only whitespace',
  );
  t.same(
    bySchema(schema, { query: 'q', documents: ['a'], return_documents: 'yes' })?.field,
    'return_documents',
  );
});

t.test('fieldName writes instance paths in the API notation', async (t) => {
  t.equal(fieldName(['chunks', '3', 'text']), 'chunks[3].text');
  t.equal(fieldName(['user_id']), 'user_id');
  t.equal(fieldName(['a', '0', '1']), 'a[0][1]');
});
