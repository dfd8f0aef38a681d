import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

import t from 'tap';

import {
  configureCrypto,
  EncryptionKey,
  generateKeyBase64,
  hmacUser,
  InvalidTag,
  KeyRing,
  loadCryptoConfig,
  openSealed,
  resetCryptoForTests,
  seal,
} from '../../src/crypto/index.js';
import { ConfigError } from '../../src/errors.js';

const k1 = generateKeyBase64();
const k2 = generateKeyBase64();
const k3 = generateKeyBase64();
const hmacKey = generateKeyBase64();
const aad = Buffer.from('aad');
const msg = Buffer.from('remember the milk');

/**
 * Loads `env` expecting failure; returns the variable the ConfigError names, or a description of
 * what went wrong instead (another error, no error, or a value echoed in message/inspect/JSON).
 */
function configErrorVariable(env: Record<string, string>): string {
  try {
    loadCryptoConfig(env);
    return 'no error';
  } catch (error) {
    if (!(error instanceof ConfigError) || error.code !== 'config_error')
      return `not a ConfigError: ${String(error)}`;
    const shown = `${error.message} ${inspect(error)} ${JSON.stringify(error)}`;
    const secrets = Object.values(env)
      .flatMap((value) => [value, ...value.split(/[,:]/)])
      .filter((v) => v.trim().length >= 8);
    if (secrets.some((secret) => shown.includes(secret.trim()))) return 'value echoed';
    return error.variable;
  }
}

t.test('configuration from the environment', async (t) => {
  t.test('reads one key as id 1, or under MEMORY_ENCRYPTION_KEY_ID', async (t) => {
    const ring = loadCryptoConfig({ MEMORY_ENCRYPTION_KEY: k1, MEMORY_TENANT_HMAC_KEY: hmacKey }).ring;
    t.same(ring.keyIds, [1]);
    t.equal(ring.activeKeyId, 1);
    const ring9 = KeyRing.fromEnv({ MEMORY_ENCRYPTION_KEY: k1, MEMORY_ENCRYPTION_KEY_ID: '9' });
    t.equal(ring9.activeKeyId, 9);
    t.equal(ring9.seal(msg).readUInt32BE(1), 9);
  });

  t.test(
    'reads a key list, the highest id active unless MEMORY_ENCRYPTION_ACTIVE_KEY_ID says otherwise',
    async (t) => {
      const ring = KeyRing.fromEnv({ MEMORY_ENCRYPTION_KEYS: ` 3:${k3} , 2:${k2}` });
      t.same(ring.keyIds, [3, 2]);
      t.equal(ring.activeKeyId, 3);
      t.ok(ring.has(2) && ring.has(3) && !ring.has(1));
      const pinned = KeyRing.fromEnv({
        MEMORY_ENCRYPTION_KEYS: `3:${k3},2:${k2}`,
        MEMORY_ENCRYPTION_ACTIVE_KEY_ID: '2',
      });
      t.equal(pinned.activeKeyId, 2);
    },
  );

  t.test('names the variable and never echoes its value (ConfigError)', async (t) => {
    const hmac = { MEMORY_TENANT_HMAC_KEY: hmacKey };
    t.equal(configErrorVariable({ ...hmac }), 'MEMORY_ENCRYPTION_KEY', 'missing key');
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: '   ' }),
      'MEMORY_ENCRYPTION_KEY',
      'blank key',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: 'this is not base64 at all!' }),
      'MEMORY_ENCRYPTION_KEY',
      'not base64',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: randomBytes(16).toString('base64') }),
      'MEMORY_ENCRYPTION_KEY',
      '16 bytes',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: randomBytes(33).toString('base64') }),
      'MEMORY_ENCRYPTION_KEY',
      '33 bytes',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: randomBytes(32).toString('hex') }),
      'MEMORY_ENCRYPTION_KEY',
      'hex key',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: k1.replace(/=$/, '') }),
      'MEMORY_ENCRYPTION_KEY',
      'unpadded',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: k1, MEMORY_ENCRYPTION_KEY_ID: 'one' }),
      'MEMORY_ENCRYPTION_KEY_ID',
      'non-numeric id',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: k1, MEMORY_ENCRYPTION_KEY_ID: '0' }),
      'MEMORY_ENCRYPTION_KEY_ID',
      'id 0',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: k1, MEMORY_ENCRYPTION_KEY_ID: '2147483648' }),
      'MEMORY_ENCRYPTION_KEY_ID',
      "id over the database's integer range",
    );
    t.equal(
      loadCryptoConfig({ ...hmac, MEMORY_ENCRYPTION_KEY: k1, MEMORY_ENCRYPTION_KEY_ID: '2147483647' }).ring
        .activeKeyId,
      2147483647,
      'the largest id the database can store is accepted',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEY: k1, MEMORY_ENCRYPTION_KEYS: `2:${k2}` }),
      'MEMORY_ENCRYPTION_KEYS',
      'both forms',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEYS: `2:${k2}`, MEMORY_ENCRYPTION_KEY_ID: '2' }),
      'MEMORY_ENCRYPTION_KEY_ID',
      'id with list',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEYS: k2 }),
      'MEMORY_ENCRYPTION_KEYS',
      'entry without id',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEYS: `2:${k2},x:${k3}` }),
      'MEMORY_ENCRYPTION_KEYS',
      'bad id in list',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEYS: `2:${k2},3:short` }),
      'MEMORY_ENCRYPTION_KEYS',
      'bad key in list',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEYS: `2:${k2},2:${k3}` }),
      'MEMORY_ENCRYPTION_KEYS',
      'repeated id',
    );
    t.equal(
      configErrorVariable({ ...hmac, MEMORY_ENCRYPTION_KEYS: `2:${k2},3:${k2}` }),
      'MEMORY_ENCRYPTION_KEYS',
      'one key under two ids',
    );
    t.equal(
      configErrorVariable({
        ...hmac,
        MEMORY_ENCRYPTION_KEYS: `2:${k2},3:${k3}`,
        MEMORY_ENCRYPTION_ACTIVE_KEY_ID: '4',
      }),
      'MEMORY_ENCRYPTION_ACTIVE_KEY_ID',
      'unknown active id',
    );
    t.equal(configErrorVariable({ MEMORY_ENCRYPTION_KEY: k1 }), 'MEMORY_TENANT_HMAC_KEY', 'missing HMAC key');
    t.equal(
      configErrorVariable({ MEMORY_ENCRYPTION_KEY: k1, MEMORY_TENANT_HMAC_KEY: 'abc' }),
      'MEMORY_TENANT_HMAC_KEY',
      'bad HMAC key',
    );
    t.equal(
      configErrorVariable({ MEMORY_ENCRYPTION_KEYS: `2:${k2},3:${k3}`, MEMORY_TENANT_HMAC_KEY: k2 }),
      'MEMORY_TENANT_HMAC_KEY',
      'HMAC key reused',
    );
    t.throws(
      () => configureCrypto({}),
      { name: 'ConfigError', variable: 'MEMORY_ENCRYPTION_KEY' },
      'configureCrypto throws the same error',
    );
  });
});

t.test('key rotation', async (t) => {
  const old = new KeyRing([EncryptionKey.fromBase64(1, k1, 'K')]);
  const blobUnderOld = old.seal(msg, aad);
  const rotated = KeyRing.fromEnv({ MEMORY_ENCRYPTION_KEYS: `1:${k1},2:${k2}` });

  t.test('seals new blobs under the active id', async (t) => {
    t.equal(rotated.activeKeyId, 2);
    t.equal(rotated.seal(msg, aad).readUInt32BE(1), 2);
  });

  t.test('opens a blob sealed under an old id while that id is configured', async (t) => {
    t.same(rotated.open(blobUnderOld, aad), msg);
  });

  t.test('rejects a blob whose key id was retired (InvalidTag)', async (t) => {
    const retired = KeyRing.fromEnv({ MEMORY_ENCRYPTION_KEYS: `2:${k2}` });
    t.throws(() => retired.open(blobUnderOld, aad), new InvalidTag('unknown_key'));
    t.same(retired.open(rotated.seal(msg, aad), aad), msg, 'while new blobs still open');
  });

  t.test('can keep sealing with the old id during a staged roll-out', async (t) => {
    const staged = KeyRing.fromEnv({
      MEMORY_ENCRYPTION_KEYS: `1:${k1},2:${k2}`,
      MEMORY_ENCRYPTION_ACTIVE_KEY_ID: '1',
    });
    t.equal(staged.seal(msg).readUInt32BE(1), 1);
    t.same(rotated.open(staged.seal(msg, aad), aad), msg, 'and a fully rotated daemon opens its blobs');
  });
});

t.test('explicit rings refuse nonsense (RangeError)', async (t) => {
  const a = EncryptionKey.fromBytes(1, randomBytes(32));
  t.throws(() => new KeyRing([]), RangeError);
  t.throws(() => new KeyRing([a, a]), RangeError);
  t.throws(() => new KeyRing([a], 2), RangeError);
  t.throws(() => EncryptionKey.fromBytes(0, randomBytes(32)), RangeError);
  t.throws(() => EncryptionKey.fromBytes(1, randomBytes(31)), RangeError);
});

t.test('never shows key material in inspect, JSON, keys or errors', async (t) => {
  const bytes = randomBytes(32);
  const key = EncryptionKey.fromBytes(5, bytes);
  const ring = new KeyRing([key, EncryptionKey.fromBase64(6, k2, 'K')]);
  const config = configureCrypto({
    MEMORY_ENCRYPTION_KEYS: `1:${k1},2:${k2}`,
    MEMORY_TENANT_HMAC_KEY: hmacKey,
  });
  t.teardown(resetCryptoForTests);
  const shown = [
    inspect(ring, { showHidden: true, depth: 9 }),
    inspect(key, { showHidden: true, depth: 9 }),
    inspect(config, { showHidden: true, depth: 9 }),
    JSON.stringify({ ring, key, config }),
    Object.keys(ring).join(),
    Object.getOwnPropertyNames(ring).join(),
  ].join('\n');
  t.equal(inspect(ring), 'KeyRing { keyIds: [6, 5], activeKeyId: 6 }');
  t.equal(JSON.stringify(ring), '{"keyIds":[6,5],"activeKeyId":6}');
  t.equal(JSON.stringify(key), '{"id":5}');
  for (const secret of [
    bytes.toString('base64'),
    bytes.toString('hex'),
    k1,
    k2,
    hmacKey,
    Buffer.from(k2, 'base64').toString('hex'),
  ]) {
    t.notOk(shown.includes(secret), 'no key in output');
  }
});

t.test('module-level seal/openSealed use the configured default ring, never process.env', async (t) => {
  const saved = process.env.MEMORY_ENCRYPTION_KEY;
  t.teardown(() => {
    if (saved === undefined) delete process.env.MEMORY_ENCRYPTION_KEY;
    else process.env.MEMORY_ENCRYPTION_KEY = saved;
    resetCryptoForTests();
  });
  resetCryptoForTests();
  // Crypto does no I/O: a key in the environment is not picked up until someone configures it.
  process.env.MEMORY_ENCRYPTION_KEY = k1;
  t.throws(
    () => seal(msg, aad),
    { name: 'ConfigError', variable: 'MEMORY_ENCRYPTION_KEY', message: /not configured.*configureCrypto/ },
    'names the variable and the call that is missing',
  );
  t.throws(() => hmacUser('u'), { name: 'ConfigError', variable: 'MEMORY_TENANT_HMAC_KEY' });

  t.throws(() => configureCrypto({ MEMORY_ENCRYPTION_KEY: k1 }), {
    name: 'ConfigError',
    variable: 'MEMORY_TENANT_HMAC_KEY',
  });
  t.throws(
    () => seal(msg, aad),
    { name: 'ConfigError', variable: 'MEMORY_ENCRYPTION_KEY' },
    'a failed configure installs nothing',
  );

  configureCrypto({ MEMORY_ENCRYPTION_KEY: k1, MEMORY_TENANT_HMAC_KEY: hmacKey });
  const blob = seal(msg, aad);
  t.same(openSealed(blob, aad), msg);
  t.same(new KeyRing([EncryptionKey.fromBase64(1, k1, 'K')]).open(blob, aad), msg, 'under key id 1');
  t.throws(() => openSealed(blob, Buffer.from('other')), InvalidTag);

  configureCrypto({ MEMORY_ENCRYPTION_KEYS: `2:${k2}`, MEMORY_TENANT_HMAC_KEY: hmacKey });
  t.throws(
    () => openSealed(blob, aad),
    new InvalidTag('unknown_key'),
    'configureCrypto replaces the default',
  );
  t.match(hmacUser('u'), /^[0-9a-f]{64}$/);
});
