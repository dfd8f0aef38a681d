/**
 * `memvault reseal --tenant USER_ID` hashes the user id with the environment's
 * MEMORY_TENANT_HMAC_KEY itself (crypto reads no environment; the command passes the key in) and
 * replaces that tenant's data key; without the variable it stops, naming it.
 */
import t from 'tap';

import { generateKeyBase64, hmacUserWith, loadTenantHmacKey } from '../../src/crypto/index.js';
import { getTenantKeys } from '../../src/db/keys.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { createTestDatabase } from '../helpers/db.js';
import { cliEnv, openAll, ringOf, runCli, writeChunks } from './fixtures.js';

const db = await createTestDatabase(t);
const hmacKeyB64 = generateKeyBase64();
const userId = `carol-${Date.now()}`;
const userHash = hmacUserWith(loadTenantHmacKey(hmacKeyB64, 'test'), userId);
const ring = ringOf([1], 1);
const ids = await writeChunks(db, new TenantKeyStore(db.app, () => ring), userHash, 2);
const dekIds = async () => (await getTenantKeys(db.app, userHash)).map((k) => k.dekId);

t.test('reseal --tenant USER_ID replaces the data key of that user, hashed with the env key', async (t) => {
  const before = await dekIds();
  t.equal(before.length, 1);
  const res = await runCli(['reseal', '--tenant', userId], {
    ...cliEnv(db, [1], 1),
    MEMORY_TENANT_HMAC_KEY: hmacKeyB64,
  });
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
  t.match(res.stdout, /tenant key replaced: 2 chunk\(s\) re-sealed, 1 old key\(s\) destroyed/);
  const after = await dekIds();
  t.equal(after.length, 1);
  t.not(after[0], before[0], 'a new data key');
  t.equal((await openAll(db, ring, userHash, ids)).length, 2, 'the chunks open under it');
});

t.test('reseal --tenant without MEMORY_TENANT_HMAC_KEY stops naming it', async (t) => {
  const env = cliEnv(db, [1], 1);
  delete env.MEMORY_TENANT_HMAC_KEY;
  const res = await runCli(['reseal', '--tenant', userId], env);
  t.not(res.code, 0);
  t.match(res.stderr, /MEMORY_TENANT_HMAC_KEY/);
});
