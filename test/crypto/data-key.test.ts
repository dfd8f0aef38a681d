import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

import t from 'tap';

import {
  chunkAad,
  configureCrypto,
  DataKey,
  type DataKeyLookup,
  EncryptionKey,
  envelopeInfo,
  generateDataKey,
  generateKeyBase64,
  InvalidTag,
  KeyRing,
  openAnyScheme,
  openWithDataKey,
  resetCryptoForTests,
  seal,
  sealWithDataKey,
  TenantHmacKey,
  unwrapDataKey,
  wrapDataKey,
  wrappedKeyId,
} from '../../src/crypto/index.js';

const k1 = EncryptionKey.fromBytes(1, randomBytes(32));
const k2 = EncryptionKey.fromBytes(2, randomBytes(32));
const ringV1 = new KeyRing([k1]);
const ringV2 = new KeyRing([k1, k2]);
const tenants = TenantHmacKey.fromBytes(randomBytes(32));
const alice = tenants.hash('alice');
const bob = tenants.hash('bob');
const aad = chunkAad(alice, 'row-1', 'text');
const msg = Buffer.from('allergic to peanuts');

t.test('seals under a data key as envelope version 2 carrying the DEK id', async (t) => {
  const dek = generateDataKey(17);
  const blob = sealWithDataKey(dek, msg, aad);
  t.same(envelopeInfo(blob), { version: 2, keyId: 17 });
  t.same(openWithDataKey(dek, blob, aad), msg);
  t.same(
    openWithDataKey((id) => (id === 17 ? dek : undefined), blob, aad),
    msg,
    'through a lookup',
  );
  t.same(
    openWithDataKey(dek, sealWithDataKey(dek, new Uint8Array(0)), undefined).length,
    0,
    'empty plaintext',
  );
});

t.test('rejects a data-key blob under the wrong DEK, id, AAD or scheme (InvalidTag)', async (t) => {
  const dek = generateDataKey(17);
  const blob = sealWithDataKey(dek, msg, aad);
  t.throws(
    () => openWithDataKey(generateDataKey(17), blob, aad),
    new InvalidTag('auth_failed'),
    'another DEK with the same id',
  );
  t.throws(
    () => openWithDataKey(generateDataKey(18), blob, aad),
    new InvalidTag('unknown_key'),
    'a DEK with another id',
  );
  t.throws(
    () => openWithDataKey(() => undefined, blob, aad),
    new InvalidTag('unknown_key'),
    'a lookup that finds nothing',
  );
  t.throws(
    () => openWithDataKey(dek, blob, chunkAad(bob, 'row-1', 'text')),
    new InvalidTag('auth_failed'),
    'another tenant',
  );
  t.throws(
    () => ringV1.open(blob, aad),
    new InvalidTag('unknown_version'),
    'the key ring refuses a version-2 blob',
  );
  t.throws(
    () => openWithDataKey(dek, ringV1.seal(msg, aad), aad),
    new InvalidTag('unknown_version'),
    'a DEK refuses a version-1 blob',
  );
  const relabelled = Buffer.from(blob);
  relabelled.writeUInt32BE(18, 1);
  t.throws(() => openWithDataKey(() => dek, relabelled, aad), InvalidTag, 'a relabelled DEK id');
  for (let bit = 0; bit < blob.length * 8; bit += 7) {
    const copy = Buffer.from(blob);
    copy[bit >> 3]! ^= 1 << (bit & 7);
    t.throws(() => openWithDataKey(dek, copy, aad), InvalidTag);
  }
});

t.test('wraps a DEK under the active ring key, bound to its tenant and id', async (t) => {
  const dek = generateDataKey(3);
  const wrapped = ringV1.wrapDataKey(dek, alice);
  t.equal(wrappedKeyId(wrapped), 1);
  t.equal(wrapped.length, 32 + 33);
  const unwrapped = ringV1.unwrapDataKey(wrapped, alice, 3);
  t.equal(unwrapped.id, 3);
  t.same(
    openWithDataKey(unwrapped, sealWithDataKey(dek, msg, aad), aad),
    msg,
    'the unwrapped DEK opens what the original sealed',
  );
});

t.test('rejects a wrapped DEK offered for another tenant or another DEK id (InvalidTag)', async (t) => {
  const wrapped = ringV1.wrapDataKey(generateDataKey(3), alice);
  t.throws(() => ringV1.unwrapDataKey(wrapped, bob, 3), InvalidTag);
  t.throws(() => ringV1.unwrapDataKey(wrapped, alice, 4), InvalidTag);
  t.throws(() => ringV1.unwrapDataKey(ringV1.seal(randomBytes(16), Buffer.alloc(0)), alice, 3), InvalidTag);
});

t.test('re-wraps under a new active key; the old key can then be retired', async (t) => {
  const dek = generateDataKey(5);
  const wrappedOld = ringV1.wrapDataKey(dek, alice);
  const rewrapped = ringV2.rewrapDataKey(wrappedOld, alice, 5);
  t.equal(wrappedKeyId(rewrapped), 2);
  const retired = new KeyRing([k2]);
  t.throws(() => retired.unwrapDataKey(wrappedOld, alice, 5), new InvalidTag('unknown_key'));
  const blob = sealWithDataKey(dek, msg, aad);
  t.same(
    openWithDataKey(retired.unwrapDataKey(rewrapped, alice, 5), blob, aad),
    msg,
    'chunk blobs are untouched',
  );
});

t.test("a shredded tenant's blob cannot be opened even with the whole key ring (InvalidTag)", async (t) => {
  const dek = generateDataKey(1);
  const blob = sealWithDataKey(dek, msg, aad);
  // The tenant's stored rows (DEK id -> wrapped DEK), unwrapped by the whole ring as the read path does.
  const rows = new Map([[dek.id, ringV2.wrapDataKey(dek, alice)]]);
  const lookup: DataKeyLookup = (id) => {
    const wrapped = rows.get(id);
    return wrapped && ringV2.unwrapDataKey(wrapped, alice, id);
  };
  t.same(openAnyScheme(blob, aad, lookup, ringV2), msg, 'opens while the wrapped DEK row exists');
  rows.delete(dek.id); // forget_tenant deletes the row: the DEK was stored nowhere else
  t.throws(() => openAnyScheme(blob, aad, lookup, ringV2), new InvalidTag('unknown_key'));
});

t.test('keeps DEK bytes out of inspect and JSON', async (t) => {
  const bytes = randomBytes(32);
  const dek = DataKey.fromBytes(9, bytes);
  const shown = `${inspect(dek, { showHidden: true })} ${JSON.stringify(dek)} ${Object.keys(dek).join()}`;
  t.equal(inspect(dek), 'DataKey { id: 9 }');
  t.equal(JSON.stringify(dek), '{"id":9}');
  t.notOk(shown.includes(bytes.toString('hex')) || shown.includes(bytes.toString('base64')));
  t.throws(() => generateDataKey(0), RangeError);
});

t.test('module-level wrap/unwrap and openAnyScheme use the default ring', async (t) => {
  t.teardown(resetCryptoForTests);
  configureCrypto({
    MEMORY_ENCRYPTION_KEYS: `4:${generateKeyBase64()}`,
    MEMORY_TENANT_HMAC_KEY: generateKeyBase64(),
  });
  const dek = generateDataKey(2);
  const wrapped = wrapDataKey(dek, alice);
  t.equal(wrappedKeyId(wrapped), 4);
  const unwrapped = unwrapDataKey(wrapped, alice, 2);
  const v2 = sealWithDataKey(dek, msg, aad);
  const v1 = seal(msg, aad);
  t.same(openAnyScheme(v1, aad, unwrapped), msg, 'version 1 through the ring');
  t.same(openAnyScheme(v2, aad, unwrapped), msg, 'version 2 through the DEK');
  t.throws(() => openAnyScheme(v2, aad), InvalidTag, 'version 2 without a DEK');
});
