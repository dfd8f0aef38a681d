import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

import t from 'tap';

import {
  configureCrypto,
  hmacUser,
  hmacUserWith,
  loadTenantHmacKey,
  resetCryptoForTests,
  TenantHmacKey,
} from '../../src/crypto/index.js';
import { ConfigError } from '../../src/errors.js';

const keyBytes = randomBytes(32);
const key = TenantHmacKey.fromBytes(keyBytes);

t.test('hashes a user id to 64 lowercase hex, deterministically', async (t) => {
  const hash = hmacUserWith(key, 'user-42');
  t.match(hash, /^[0-9a-f]{64}$/);
  t.equal(hmacUserWith(key, 'user-42'), hash);
  t.equal(hash, createHmac('sha256', keyBytes).update('user-42', 'utf8').digest('hex'));
  t.not(hmacUserWith(key, 'user-43'), hash);
  t.not(hmacUserWith(TenantHmacKey.fromBytes(randomBytes(32)), 'user-42'), hash, 'another key, another hash');
});

t.test('hashes the UTF-8 bytes of non-ASCII ids', async (t) => {
  t.equal(
    hmacUserWith(key, 'Zoë 🦊'),
    createHmac('sha256', keyBytes).update(Buffer.from('Zoë 🦊', 'utf8')).digest('hex'),
  );
});

t.test('matches the Wycheproof HMAC-SHA256 vectors that are UTF-8 text under 256-bit keys', async (t) => {
  const suite = JSON.parse(
    readFileSync(new URL('../fixtures/wycheproof/hmac_sha256_test.json', import.meta.url), 'utf8'),
  ) as {
    testGroups: {
      keySize: number;
      tagSize: number;
      tests: { key: string; msg: string; tag: string; result: string }[];
    }[];
  };
  let checked = 0;
  for (const group of suite.testGroups.filter((g) => g.keySize === 256 && g.tagSize === 256)) {
    for (const v of group.tests.filter((x) => x.result === 'valid')) {
      const text = Buffer.from(v.msg, 'hex').toString('utf8');
      if (text.length === 0 || Buffer.from(text, 'utf8').toString('hex') !== v.msg) continue;
      t.equal(hmacUserWith(TenantHmacKey.fromBytes(Buffer.from(v.key, 'hex')), text), v.tag);
      checked++;
    }
  }
  t.ok(checked > 0, `${checked} vectors checked through TenantHmacKey`);
});

t.test('rejects an empty, non-string or ill-formed user id (ValidationError user_id)', async (t) => {
  for (const bad of ['', undefined, null, 42, {}, ['a'], 'a\uD800b', '\uDC00']) {
    t.throws(
      () => hmacUserWith(key, bad as string),
      { name: 'ValidationError', code: 'invalid_input', field: 'user_id' },
      String(bad),
    );
  }
  t.equal(
    hmacUserWith(key, '\uD83E\uDD8A'),
    createHmac('sha256', keyBytes).update('\u{1F98A}', 'utf8').digest('hex'),
    'a proper surrogate pair is fine (hashed as the one code point it encodes)',
  );
});

t.test('loads an explicit key, naming its variable on error and never echoing the value', async (t) => {
  const good = randomBytes(32).toString('base64');
  t.equal(
    hmacUserWith(loadTenantHmacKey(good, 'MEMORY_TENANT_HMAC_KEY_OLD'), 'u'),
    hmacUserWith(loadTenantHmacKey(good, 'X'), 'u'),
  );
  const short = randomBytes(16).toString('base64');
  for (const bad of [undefined, '', 'not base64!', short, randomBytes(32).toString('hex')]) {
    const error = t.throws(() => loadTenantHmacKey(bad, 'MEMORY_TENANT_HMAC_KEY_OLD')) as ConfigError;
    t.ok(error instanceof ConfigError);
    t.equal(error.variable, 'MEMORY_TENANT_HMAC_KEY_OLD');
    t.match(error.message, /^MEMORY_TENANT_HMAC_KEY_OLD: /);
    if (bad) t.notOk(error.message.includes(bad), 'value not echoed');
  }
});

t.test('never shows key material in inspect or JSON output', async (t) => {
  const b64 = keyBytes.toString('base64');
  const hexKey = keyBytes.toString('hex');
  for (const text of [
    inspect(key, { showHidden: true, depth: 9 }),
    JSON.stringify(key),
    JSON.stringify({ key }),
    String(Object.keys(key)),
  ]) {
    t.notOk(text.includes(b64) || text.includes(hexKey), text);
  }
});

t.test('hmacUser uses the configured tenant key and names it while none is', async (t) => {
  t.teardown(resetCryptoForTests);
  resetCryptoForTests();
  t.throws(() => hmacUser('u'), { name: 'ConfigError', variable: 'MEMORY_TENANT_HMAC_KEY' });
  configureCrypto({
    MEMORY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    MEMORY_TENANT_HMAC_KEY: keyBytes.toString('base64'),
  });
  t.equal(hmacUser('u'), hmacUserWith(key, 'u'));
});
