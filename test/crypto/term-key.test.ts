import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

import t from 'tap';

import { DataKey, TERM_KEY_LABEL, TermKey, termKeyOf } from '../../src/crypto/index.js';

const bytes = randomBytes(32);
const dek = DataKey.fromBytes(7, bytes);

t.test(
  'a token is the first 8 bytes of HMAC-SHA256(HKDF(DEK, label), term) as a signed bigint',
  async (t) => {
    // The same derivation, written out from the raw key bytes with node:crypto directly.
    const termKey = Buffer.from(hkdfSync('sha256', bytes, Buffer.alloc(0), TERM_KEY_LABEL, 32));
    const expected = createHmac('sha256', termKey)
      .update('quetzalcoatlus', 'utf8')
      .digest()
      .readBigInt64BE(0);
    t.equal(TermKey.fromDataKey(dek).token('quetzalcoatlus'), expected);
    t.equal(TERM_KEY_LABEL, 'memvault/lexical-term-key/v1', 'the label is part of the stored format');
  },
);

t.test('tokens are deterministic per data key and unrelated across data keys', async (t) => {
  const same = DataKey.fromBytes(7, bytes);
  const other = DataKey.fromBytes(8, randomBytes(32));
  t.equal(termKeyOf(dek).token('tea'), termKeyOf(same).token('tea'), 'same key bytes: same token');
  t.not(termKeyOf(dek).token('tea'), termKeyOf(other).token('tea'), 'another tenant key: another token');
  t.not(termKeyOf(dek).token('tea'), termKeyOf(dek).token('teas'), 'another term: another token');
  t.equal(termKeyOf(dek), termKeyOf(dek), 'derived once per DataKey object');
  t.equal(termKeyOf(dek).dataKeyId, 7);
});

t.test('the term key is not the data key: HMAC under the DEK itself gives other tokens', async (t) => {
  const direct = createHmac('sha256', bytes).update('tea', 'utf8').digest().readBigInt64BE(0);
  t.not(termKeyOf(dek).token('tea'), direct);
});

t.test('a term key prints and serialises without key material', async (t) => {
  const key = termKeyOf(dek);
  t.equal(inspect(key), 'TermKey { dataKeyId: 7 }');
  t.equal(JSON.stringify(key), '{"dataKeyId":7}');
});
