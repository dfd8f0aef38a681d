import { randomBytes, randomUUID } from 'node:crypto';

import t from 'tap';

import {
  bytesToEmbedding,
  chunkAad,
  type ChunkField,
  dekAad,
  embeddingToBytes,
  EncryptionKey,
  InvalidTag,
  KeyRing,
  TenantHmacKey,
} from '../../src/crypto/index.js';

const ring = new KeyRing([EncryptionKey.fromBytes(1, randomBytes(32))]);
const tenants = TenantHmacKey.fromBytes(randomBytes(32));
const alice = tenants.hash('alice');
const bob = tenants.hash('bob');
const row1 = randomUUID();
const row2 = randomUUID();

/** What the write path stores for one chunk: each field sealed with its own AAD. */
function sealRow(userHash: string, chunkId: string): Record<ChunkField, Buffer> {
  return {
    text: ring.seal(Buffer.from('I live in Lisbon'), chunkAad(userHash, chunkId, 'text')),
    meta: ring.seal(Buffer.from('{"tag":"home"}'), chunkAad(userHash, chunkId, 'meta')),
    embedding: ring.seal(embeddingToBytes([0.25, -1, 3.5]), chunkAad(userHash, chunkId, 'embedding')),
  };
}

const stored = sealRow(alice, row1);

t.test('opens each field in its own tenant, row and column', async (t) => {
  t.equal(ring.open(stored.text, chunkAad(alice, row1, 'text')).toString(), 'I live in Lisbon');
  t.equal(ring.open(stored.meta, chunkAad(alice, row1, 'meta')).toString(), '{"tag":"home"}');
  t.same(
    [...bytesToEmbedding(ring.open(stored.embedding, chunkAad(alice, row1, 'embedding')))],
    [0.25, -1, 3.5],
  );
});

t.test('rejects a blob moved to another tenant (InvalidTag)', async (t) => {
  for (const field of ['text', 'meta', 'embedding'] as const) {
    t.throws(() => ring.open(stored[field], chunkAad(bob, row1, field)), InvalidTag, field);
  }
});

t.test('rejects a blob moved to another row (InvalidTag)', async (t) => {
  for (const field of ['text', 'meta', 'embedding'] as const) {
    t.throws(() => ring.open(stored[field], chunkAad(alice, row2, field)), InvalidTag, field);
  }
});

t.test('rejects a blob moved to another column of the same row (InvalidTag)', async (t) => {
  const fields = ['text', 'meta', 'embedding'] as const;
  for (const from of fields) {
    for (const to of fields.filter((f) => f !== from)) {
      t.throws(() => ring.open(stored[from], chunkAad(alice, row1, to)), InvalidTag, `${from} -> ${to}`);
    }
  }
});

t.test('rejects a wrapped data key offered as a chunk field and vice versa (InvalidTag)', async (t) => {
  const wrapped = ring.seal(randomBytes(32), dekAad(alice, 1));
  t.throws(() => ring.open(wrapped, chunkAad(alice, '1', 'text')), InvalidTag);
  t.throws(() => ring.open(stored.text, dekAad(alice, 1)), InvalidTag);
});

t.test('encodes parts with length prefixes, so shifting a boundary changes the AAD', async (t) => {
  // Same concatenated characters, different split between chunk id and field.
  t.not(chunkAad(alice, 'abc', 'text').toString('hex'), chunkAad(alice, 'abct', 'text').toString('hex'));
  const seen = new Set<string>();
  for (const user of [alice, bob]) {
    for (const id of ['a', 'ab', 'b', row1]) {
      for (const field of ['text', 'meta', 'embedding'] as const)
        seen.add(chunkAad(user, id, field).toString('hex'));
    }
  }
  t.equal(seen.size, 2 * 4 * 3, 'every (tenant, row, column) gets its own AAD');
  t.equal(
    chunkAad(alice, row1, 'text').toString('hex'),
    chunkAad(alice, row1, 'text').toString('hex'),
    'deterministic',
  );
  t.match(
    chunkAad(alice, row1, 'text').toString('latin1'),
    /memvault:chunk:v1/,
    'carries its context and layout version',
  );
});

t.test('refuses a malformed user_hash, chunk id or field (TypeError)', async (t) => {
  t.throws(() => chunkAad('ABC', row1, 'text'), TypeError);
  t.throws(() => chunkAad(alice.toUpperCase(), row1, 'text'), TypeError);
  t.throws(() => chunkAad(alice, '', 'text'), TypeError);
  t.throws(() => chunkAad(alice, 'x'.repeat(257), 'text'), TypeError);
  t.throws(() => chunkAad(alice, row1, 'body' as ChunkField), TypeError);
  t.throws(() => dekAad(alice, 0), RangeError);
});

t.test('serializes embeddings as float32 little-endian and back', async (t) => {
  const bytes = embeddingToBytes(new Float32Array([1, -2.5, 0]));
  t.equal(bytes.toString('hex'), '0000803f000020c000000000');
  t.same([...bytesToEmbedding(bytes)], [1, -2.5, 0]);
  t.same([...bytesToEmbedding(embeddingToBytes([]))], []);
  const odd = Buffer.alloc(13);
  t.same([...bytesToEmbedding(odd.subarray(1))], [0, 0, 0], 'works on an unaligned view');
  t.throws(() => bytesToEmbedding(Buffer.alloc(7)), RangeError);
});
