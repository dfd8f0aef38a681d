/**
 * Fuzzing the pure input validation: for any input, validation either returns a value the rest
 * of the write/query path can trust, or throws a ValidationError naming a field — never another
 * error type (a TypeError here would become a 500).
 */
import fc from 'fast-check';
import t from 'tap';

import { ValidationError } from '../../src/errors.js';
import { type QueryInput, validateQuery } from '../../src/memory/query.js';
import {
  MAX_ID_LENGTH,
  MAX_TEXT_BYTES,
  validateChunkBatch,
  validateChunkInput,
} from '../../src/memory/validate.js';
import { anyJson, edgeNumber, embeddingLike, nastyString, runs } from './arbitraries.js';

const DIM = 8;
const LONE_SURROGATE = /\p{Surrogate}/u;

const chunkInput = fc.record(
  {
    userId: fc.oneof(nastyString, anyJson),
    docId: fc.oneof(nastyString, anyJson),
    source: fc.oneof(nastyString, anyJson),
    text: fc.oneof(nastyString, anyJson),
    embedding: embeddingLike(DIM),
    metadata: fc.oneof(fc.dictionary(nastyString, anyJson, { maxKeys: 4 }), anyJson),
  },
  { requiredKeys: [] },
);

function wellFormedId(value: string): boolean {
  return (
    value.length > 0 && value.length <= MAX_ID_LENGTH && !value.includes('\0') && !LONE_SURROGATE.test(value)
  );
}

let cases = 0;

t.test(
  'validateChunkInput returns a trustworthy chunk or throws ValidationError, for any input',
  async (t) => {
    fc.assert(
      fc.property(fc.oneof(chunkInput, anyJson), (input) => {
        cases++;
        let chunk;
        try {
          chunk = validateChunkInput(input, { dim: DIM });
        } catch (thrown) {
          if (!(thrown instanceof ValidationError)) throw thrown;
          if (!thrown.field) throw new Error('a ValidationError without a field');
          return;
        }
        if (![chunk.userId, chunk.docId, chunk.source].every(wellFormedId))
          throw new Error('accepted a malformed id');
        if (
          chunk.text.trim() === '' ||
          LONE_SURROGATE.test(chunk.text) ||
          Buffer.byteLength(chunk.text) > MAX_TEXT_BYTES
        )
          throw new Error('accepted bad text');
        if (chunk.embedding.length !== DIM || !chunk.embedding.every(Number.isFinite))
          throw new Error('accepted a bad embedding');
        // What is sealed must be what comes back: the JSON must parse to the same value.
        t.same(JSON.parse(chunk.metadataJson), chunk.metadata);
      }),
      { numRuns: runs(3000) },
    );
  },
);

t.test('validateChunkBatch rejects a batch as a whole with a chunks[i] field name', async () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(chunkInput, anyJson), { maxLength: 6 }), (inputs) => {
      cases++;
      try {
        validateChunkBatch(inputs, { dim: DIM });
      } catch (thrown) {
        if (!(thrown instanceof ValidationError)) throw thrown;
        if (!/^chunks(\[\d+\])?/.test(thrown.field)) throw new Error(`unexpected field name ${thrown.field}`);
      }
    }),
    { numRuns: runs(1000) },
  );
});

t.test(
  'validateQuery accepts only integers in range for k and candidates, and only ValidationError escapes',
  async () => {
    const queryInput = fc.record(
      {
        userId: fc.oneof(nastyString, anyJson),
        query: fc.oneof(nastyString, anyJson),
        embedding: embeddingLike(DIM),
        k: fc.oneof(edgeNumber, anyJson),
        candidates: fc.oneof(edgeNumber, anyJson),
        rerank: anyJson,
        docId: fc.oneof(nastyString, anyJson),
        source: fc.oneof(nastyString, anyJson),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(queryInput, (input) => {
        cases++;
        let q;
        try {
          q = validateQuery(input as QueryInput, DIM);
        } catch (thrown) {
          if (!(thrown instanceof ValidationError)) throw thrown;
          return;
        }
        if (!Number.isInteger(q.k) || q.k < 1 || q.candidates < q.k || !Number.isInteger(q.candidates))
          throw new Error('accepted a bad k/candidates');
        if (q.embedding && q.embedding.length !== DIM) throw new Error('accepted a bad embedding');
      }),
      { numRuns: runs(3000) },
    );
  },
);

t.teardown(() => {
  console.log(`# validation fuzz: ${cases} cases`);
});
