import { createCipheriv, randomBytes } from 'node:crypto';

import t from 'tap';

import {
  EncryptionKey,
  ENVELOPE_DATA_KEY,
  ENVELOPE_KEY_RING,
  ENVELOPE_OVERHEAD,
  envelopeInfo,
  InvalidTag,
  KeyRing,
  wrappedKeyId,
} from '../../src/crypto/index.js';

const ring = new KeyRing([EncryptionKey.fromBytes(7, randomBytes(32))]);
const aad = Buffer.from('tenant-a/row-1/text');
const plaintext = Buffer.from('the user prefers tea to coffee');

/** Opens with loose types, as a caller with bad data would. */
const openLoose = (blob: unknown, openAad: unknown) => (): Buffer =>
  ring.open(blob as Uint8Array, openAad as Uint8Array);
/** What t.throws should see: an InvalidTag, with the given reason when one is named. */
const invalidTag = (reason?: string) =>
  reason ? { name: 'InvalidTag', code: 'invalid_tag', reason } : InvalidTag;

t.test('round trip', async (t) => {
  t.test('opens what it sealed, with and without AAD', async (t) => {
    t.same(ring.open(ring.seal(plaintext, aad), aad), plaintext);
    t.same(ring.open(ring.seal(plaintext)), plaintext);
    t.same(ring.open(ring.seal(plaintext, new Uint8Array(0))), plaintext, 'empty AAD equals no AAD');
  });

  t.test('round-trips an empty plaintext', async (t) => {
    const blob = ring.seal(new Uint8Array(0), aad);
    t.equal(blob.length, ENVELOPE_OVERHEAD);
    t.equal(ring.open(blob, aad).length, 0);
  });

  t.test('round-trips a 1 MiB plaintext and a plain Uint8Array', async (t) => {
    const large = randomBytes(1024 * 1024);
    t.ok(ring.open(ring.seal(large, aad), aad).equals(large));
    t.same(
      ring.open(new Uint8Array(ring.seal(plaintext, aad)), aad),
      plaintext,
      'opens a blob given as a plain Uint8Array',
    );
    const view = new Uint8Array([1, 2, 3]);
    t.same([...ring.open(ring.seal(view, new Uint8Array(aad)), aad)], [1, 2, 3]);
  });

  t.test('lays out version | key id | nonce | ciphertext | tag', async (t) => {
    const blob = ring.seal(plaintext, aad);
    t.equal(blob.length, 1 + 4 + 12 + plaintext.length + 16);
    t.equal(blob[0], ENVELOPE_KEY_RING);
    t.equal(blob.readUInt32BE(1), 7);
    t.same(envelopeInfo(blob), { version: 1, keyId: 7 });
    t.equal(wrappedKeyId(blob), 7);
  });

  t.test('uses a fresh nonce for every seal', async (t) => {
    const nonces = new Set<string>();
    for (let i = 0; i < 1000; i++) nonces.add(ring.seal(plaintext, aad).subarray(5, 17).toString('hex'));
    t.equal(nonces.size, 1000);
  });

  t.test('authenticates the header and the AAD exactly as one GCM AAD of header || aad', async (t) => {
    // Guards the two-setAAD shortcut in sealEnvelope against a change in OpenSSL or Node.
    const keyBytes = randomBytes(32);
    const mine = new KeyRing([EncryptionKey.fromBytes(3, keyBytes)]);
    const blob = mine.seal(plaintext, aad);
    const cipher = createCipheriv('aes-256-gcm', keyBytes, blob.subarray(5, 17), { authTagLength: 16 });
    cipher.setAAD(Buffer.concat([blob.subarray(0, 5), aad]));
    const expected = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    t.ok(blob.subarray(17).equals(expected));
  });
});

t.test('AAD binding', async (t) => {
  const blob = ring.seal(plaintext, Buffer.from('user_hash_a'));
  t.throws(
    openLoose(blob, Buffer.from('user_hash_b')),
    invalidTag('auth_failed'),
    "rejects another tenant's AAD (InvalidTag)",
  );
  t.throws(openLoose(blob, undefined), invalidTag('auth_failed'), 'rejects a missing AAD (InvalidTag)');
  t.throws(
    openLoose(ring.seal(plaintext), Buffer.from('x')),
    invalidTag('auth_failed'),
    'rejects an AAD where none was sealed (InvalidTag)',
  );
  t.throws(
    openLoose(blob, Buffer.from('user_hash_a\0')),
    invalidTag('auth_failed'),
    'rejects an AAD with one byte appended (InvalidTag)',
  );
});

t.test('tamper detection', async (t) => {
  t.test('rejects every single-bit flip of a sealed blob (InvalidTag)', async (t) => {
    const blob = ring.seal(plaintext, aad);
    let rejected = 0;
    for (let bit = 0; bit < blob.length * 8; bit++) {
      const copy = Buffer.from(blob);
      copy[bit >> 3]! ^= 1 << (bit & 7);
      try {
        ring.open(copy, aad);
      } catch (error) {
        if (error instanceof InvalidTag) rejected++;
      }
    }
    t.equal(rejected, blob.length * 8, `all ${blob.length * 8} flipped bits rejected`);
  });

  t.test('rejects every truncation and every extension (InvalidTag)', async (t) => {
    const blob = ring.seal(plaintext, aad);
    for (let length = 0; length < blob.length; length++)
      t.throws(openLoose(blob.subarray(0, length), aad), invalidTag());
    t.throws(
      openLoose(Buffer.concat([blob, Buffer.from([0])]), aad),
      invalidTag('auth_failed'),
      'one byte appended',
    );
  });

  t.test('rejects an empty blob and anything that is not a Uint8Array (InvalidTag)', async (t) => {
    for (const blob of [
      new Uint8Array(0),
      undefined,
      null,
      'a string',
      42,
      [1, 2, 3],
      new Uint16Array(40),
      {},
    ]) {
      t.throws(openLoose(blob, aad), invalidTag('malformed'));
    }
    t.throws(
      openLoose(ring.seal(plaintext, aad), 'tenant-a/row-1/text'),
      invalidTag('malformed'),
      'a string AAD',
    );
  });

  t.test('rejects an unknown envelope version, even with a valid tag for it (InvalidTag)', async (t) => {
    for (const version of [0, 3, 255]) {
      const blob = ring.seal(plaintext, aad);
      blob[0] = version;
      t.throws(openLoose(blob, aad), invalidTag('unknown_version'));
    }
    const relabelled = ring.seal(plaintext, aad);
    relabelled[0] = ENVELOPE_DATA_KEY;
    t.throws(
      openLoose(relabelled, aad),
      invalidTag('unknown_version'),
      'a version-2 label on a key-ring blob',
    );
  });

  t.test('rejects an unknown key id (InvalidTag)', async (t) => {
    const blob = ring.seal(plaintext, aad);
    blob.writeUInt32BE(8, 1);
    t.throws(openLoose(blob, aad), invalidTag('unknown_key'));
  });

  t.test('rejects a blob relabelled with another configured key id (InvalidTag)', async (t) => {
    const key = randomBytes(32);
    const both = new KeyRing(
      [EncryptionKey.fromBytes(1, key), EncryptionKey.fromBytes(2, randomBytes(32))],
      1,
    );
    const blob = both.seal(plaintext, aad);
    blob.writeUInt32BE(2, 1);
    t.throws(() => both.open(blob, aad), { name: 'InvalidTag', reason: 'auth_failed' });
  });

  t.test('rejects a blob sealed under another key with the same id (InvalidTag)', async (t) => {
    const other = new KeyRing([EncryptionKey.fromBytes(7, randomBytes(32))]);
    t.throws(openLoose(other.seal(plaintext, aad), aad), invalidTag('auth_failed'));
  });

  t.test('says nothing about the data or the key in the error', async (t) => {
    const error = t.throws(() => ring.open(Buffer.alloc(40, 0x41), aad)) as Error;
    t.notMatch(error.message, /AAAA|QUFB/);
    t.equal((error as { cause?: unknown }).cause, undefined);
  });
});

t.test('header parsing', async (t) => {
  t.throws(
    () => envelopeInfo(Buffer.alloc(10)),
    { name: 'InvalidTag', reason: 'malformed' },
    'rejects a short blob (InvalidTag)',
  );
  t.throws(
    () => envelopeInfo(Buffer.alloc(40)),
    { name: 'InvalidTag', reason: 'unknown_version' },
    'rejects version 0 (InvalidTag)',
  );
  const v2 = Buffer.alloc(40);
  v2[0] = 2;
  v2.writeUInt32BE(0xffffffff, 1);
  t.same(envelopeInfo(v2), { version: 2, keyId: 0xffffffff }, 'reads the full uint32 key id');
  t.throws(
    () => wrappedKeyId(v2),
    { name: 'InvalidTag', reason: 'unknown_version' },
    'wrappedKeyId refuses a data-key blob (InvalidTag)',
  );
});

t.test('seal rejects a plaintext or AAD that is not bytes', async (t) => {
  t.throws(() => ring.seal('text' as unknown as Uint8Array), TypeError);
  t.throws(() => ring.seal(plaintext, 'aad' as unknown as Uint8Array), TypeError);
});
