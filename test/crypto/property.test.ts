/**
 * Property: whatever is done to a sealed blob or its AAD, open either returns exactly the original
 * plaintext (only when blob and AAD are byte-for-byte unchanged) or throws InvalidTag. Never
 * another error, never other bytes.
 */
import { randomBytes } from 'node:crypto';

import fc from 'fast-check';
import t from 'tap';

import {
  EncryptionKey,
  generateDataKey,
  InvalidTag,
  KeyRing,
  openWithDataKey,
  sealWithDataKey,
} from '../../src/crypto/index.js';

const RUNS = 2000;
const ring = new KeyRing([
  EncryptionKey.fromBytes(1, randomBytes(32)),
  EncryptionKey.fromBytes(2, randomBytes(32)),
]);
const dek = generateDataKey(1);

type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'splice'; at: number; bytes: Uint8Array }
  | { kind: 'aad'; aad: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 20 }) }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 20 }),
  }),
  fc.record({ kind: fc.constant('aad' as const), aad: fc.uint8Array({ maxLength: 40 }) }),
);

function mutate(blob: Buffer, aad: Uint8Array, steps: Mutation[]): { blob: Buffer; aad: Uint8Array } {
  let out = Buffer.from(blob);
  let outAad = aad;
  for (const m of steps) {
    if (m.kind === 'flip' && out.length > 0) out[m.at % out.length]! ^= m.mask;
    else if (m.kind === 'set' && out.length > 0) out[m.at % out.length] = m.value;
    else if (m.kind === 'truncate') out = out.subarray(0, m.length % (out.length + 1));
    else if (m.kind === 'append') out = Buffer.concat([out, m.bytes]);
    else if (m.kind === 'splice') {
      const at = m.at % (out.length + 1);
      out = Buffer.concat([
        out.subarray(0, at),
        m.bytes,
        out.subarray(Math.min(out.length, at + m.bytes.length)),
      ]);
    } else if (m.kind === 'aad') outAad = m.aad;
  }
  return { blob: out, aad: outAad };
}

function check(
  open: (blob: Buffer, aad: Uint8Array) => Buffer,
  seal: (pt: Uint8Array, aad: Uint8Array) => Buffer,
) {
  return fc.property(
    fc.uint8Array({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(mutation, { minLength: 1, maxLength: 4 }),
    (plaintext, aad, steps) => {
      const sealed = seal(plaintext, aad);
      const changed = mutate(sealed, aad, steps);
      const unchanged = changed.blob.equals(sealed) && Buffer.from(changed.aad).equals(Buffer.from(aad));
      let opened: Buffer;
      try {
        opened = open(changed.blob, changed.aad);
      } catch (error) {
        return !unchanged && error instanceof InvalidTag;
      }
      return unchanged && opened.equals(plaintext);
    },
  );
}

t.test(`open never returns on a mutated key-ring blob (${RUNS} fast-check cases)`, async (t) => {
  const details = fc.check(
    check(
      (b, a) => ring.open(b, a),
      (p, a) => ring.seal(p, a),
    ),
    { numRuns: RUNS },
  );
  t.equal(details.failed, false, fc.defaultReportMessage(details) ?? 'ok');
  t.comment(`fast-check: ${details.numRuns} mutated key-ring blobs, none opened`);
  t.equal(details.numRuns, RUNS);
});

t.test(`open never returns on a mutated data-key blob (${RUNS} fast-check cases)`, async (t) => {
  const details = fc.check(
    check(
      (b, a) => openWithDataKey(dek, b, a),
      (p, a) => sealWithDataKey(dek, p, a),
    ),
    { numRuns: RUNS },
  );
  t.equal(details.failed, false, fc.defaultReportMessage(details) ?? 'ok');
  t.comment(`fast-check: ${details.numRuns} mutated data-key blobs, none opened`);
  t.equal(details.numRuns, RUNS);
});

t.test('any byte string that was never sealed is rejected (InvalidTag)', async (t) => {
  const details = fc.check(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 20 }), (blob, aad) => {
      try {
        ring.open(blob, aad);
        return false;
      } catch (error) {
        return error instanceof InvalidTag;
      }
    }),
    { numRuns: RUNS },
  );
  t.equal(details.failed, false, fc.defaultReportMessage(details) ?? 'ok');
  t.comment(`fast-check: ${details.numRuns} random byte strings, none opened`);
});
