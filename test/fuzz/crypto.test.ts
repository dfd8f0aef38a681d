/**
 * Fuzzing the module-level sealing API the write path uses: a blob sealed for (tenant, row,
 * column) opens only with exactly that AAD and unchanged bytes. Any mutation of the blob, or any
 * other tenant/row/column, throws InvalidTag — openSealed never returns for a changed input.
 */
import { randomBytes } from 'node:crypto';

import fc from 'fast-check';
import t from 'tap';

import {
  CHUNK_FIELDS,
  chunkAad,
  configureCrypto,
  generateKeyBase64,
  InvalidTag,
  loadCryptoConfig,
  openSealed,
  seal,
} from '../../src/crypto/index.js';
import { runs } from './arbitraries.js';

configureCrypto(
  loadCryptoConfig({
    MEMORY_ENCRYPTION_KEY: generateKeyBase64(),
    MEMORY_TENANT_HMAC_KEY: generateKeyBase64(),
  }),
);

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const uuid = fc.uuid();
const field = fc.constantFrom(...CHUNK_FIELDS);
let cases = 0;

function mustNotOpen(blob: Uint8Array, aad: Uint8Array): void {
  try {
    openSealed(blob, aad);
  } catch (thrown) {
    if (thrown instanceof InvalidTag) return;
    throw new Error(`openSealed threw ${(thrown as Error).name}, not InvalidTag`);
  }
  throw new Error('openSealed returned for a mutated blob or a foreign AAD');
}

t.test('a mutated blob never opens (flips, truncation, extension, splices)', async () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
    fc.record({
      kind: fc.constant('extend' as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
    fc.record({
      kind: fc.constant('splice' as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
  );
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2048 }),
      hash,
      uuid,
      field,
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      (plaintext, h, id, f, steps) => {
        cases++;
        const aad = chunkAad(h, id, f);
        const blob = seal(plaintext, aad);
        let out = Buffer.from(blob);
        for (const m of steps) {
          if (m.kind === 'flip') out[m.at % out.length]! ^= m.mask;
          else if (m.kind === 'truncate') out = out.subarray(0, m.keep % out.length);
          else if (m.kind === 'extend') out = Buffer.concat([out, m.bytes]);
          else {
            const at = m.at % (out.length + 1);
            out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
          }
        }
        if (out.equals(blob)) return; // two flips of the same bit: not a mutation
        mustNotOpen(out, aad);
      },
    ),
    { numRuns: runs(3000) },
  );
});

t.test('a blob opens only in its own tenant, row and column', async () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 256 }),
      hash,
      uuid,
      field,
      hash,
      uuid,
      field,
      (plaintext, h1, id1, f1, h2, id2, f2) => {
        cases++;
        const blob = seal(plaintext, chunkAad(h1, id1, f1));
        if (!openSealed(blob, chunkAad(h1, id1, f1)).equals(Buffer.from(plaintext)))
          throw new Error('round trip failed');
        if (h1 === h2 && id1 === id2 && f1 === f2) return;
        mustNotOpen(blob, chunkAad(h2, id2, f2));
      },
    ),
    { numRuns: runs(3000) },
  );
});

t.test('random bytes never open', async () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), hash, uuid, field, (bytes, h, id, f) => {
      cases++;
      mustNotOpen(bytes, chunkAad(h, id, f));
    }),
    { numRuns: runs(2000) },
  );
  // And a blob with a valid header but random body: the likeliest forgery.
  const real = seal(
    randomBytes(64),
    chunkAad('a'.repeat(64), '00000000-0000-4000-8000-000000000000', 'text'),
  );
  mustNotOpen(
    Buffer.concat([real.subarray(0, 5), randomBytes(real.length - 5)]),
    chunkAad('a'.repeat(64), '00000000-0000-4000-8000-000000000000', 'text'),
  );
});

t.teardown(() => {
  console.log(`# crypto fuzz: ${cases} cases`);
});
