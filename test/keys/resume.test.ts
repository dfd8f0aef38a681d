/**
 * Re-sealing killed midway resumes, and the result is consistent: every chunk opens, every chunk's
 * recorded key is the DEK named in its blobs and is its tenant's one active DEK (no tenant got a
 * second DEK from the interrupted run). Also: the DEK cache's time limit.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import t from 'tap';

import { envelopeInfo } from '../../src/crypto/index.js';
import { getTenantKeys } from '../../src/db/keys.js';
import { replaceTenantKey } from '../../src/keys/reseal.js';
import { usage } from '../../src/keys/rotate.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { createTestDatabase, randomUserHash } from '../helpers/db.js';
import { cliEnv, cliPath, openAll, ringOf, runCli, writeChunks, writeLegacyChunks } from './fixtures.js';

const db = await createTestDatabase(t);

const legacyCount = async () => (await usage(db.admin)).reduce((n, u) => n + u.legacyChunks, 0);

t.test(
  'a reseal killed mid-run (SIGKILL) resumes; everything opens, each chunk under its one DEK',
  async (t) => {
    const tenants = Array.from({ length: 30 }, () => randomUserHash());
    const ids = new Map<string, string[]>();
    for (const tenant of tenants) ids.set(tenant, await writeLegacyChunks(db, ringOf([1], 1), tenant, 20));
    const env = cliEnv(db, [1, 2], 2);

    const child = spawn(process.execPath, [cliPath, 'reseal', '--batch', '10'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        if (/reseal \[/.test(d.toString())) resolve();
      });
      child.on('exit', () => resolve());
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const midway = await legacyCount();
    t.ok(midway > 0 && midway < 600, `the killed run left ${midway} of 600 legacy chunks`);

    const again = await runCli(['reseal'], env);
    t.equal(again.code, 0, again.stderr);
    t.match(
      again.stdout,
      new RegExp(`re-sealed ${midway} chunk\\(s\\)`),
      'the second run did only what was left',
    );
    t.equal(await legacyCount(), 0);

    const { rows } = await db.admin.query<{
      user_hash: string;
      key_scheme: number;
      key_id: number;
      text_cipher: Buffer;
      meta_cipher: Buffer;
      emb_cipher: Buffer;
    }>(
      'select user_hash, key_scheme, key_id, text_cipher, meta_cipher, emb_cipher from memory.memory_chunks',
    );
    t.equal(rows.length, 600);
    const activeDek = new Map<string, number>();
    for (const tenant of tenants) {
      const keys = await getTenantKeys(db.app, tenant);
      t.equal(keys.length, 1, 'one DEK per tenant, even across the interrupted run');
      activeDek.set(tenant, keys[0]!.dekId);
    }
    const wrong = rows.filter(
      (r) =>
        r.key_scheme !== 2 ||
        r.key_id !== activeDek.get(r.user_hash) ||
        [r.text_cipher, r.meta_cipher, r.emb_cipher].some(
          (b) => envelopeInfo(b).version !== 3 || envelopeInfo(b).keyId !== r.key_id,
        ),
    );
    t.equal(
      wrong.length,
      0,
      "every row records the tenant's active DEK, the one its blobs name, labels bound (version 3)",
    );
    for (const tenant of tenants) {
      t.equal((await openAll(db, ringOf([2], 2), tenant, ids.get(tenant)!)).length, 20);
    }
  },
);

t.test('the DEK cache drops an entry after its time limit, not only when full', async (t) => {
  const ring = ringOf([2], 2);
  const tenant = randomUserHash();
  // Long enough that replacing the key (re-seal and re-index included) finishes within it on a busy machine.
  const store = new TenantKeyStore(db.app, () => ring, { ttlMs: 2_000, maxTenants: 100 });
  await writeChunks(db, store, tenant, 1);
  const first = (await store.activeKey(tenant)).id;
  // Another process replaces the tenant's DEK; this store is not told (no event).
  await replaceTenantKey(db.admin, ring, tenant);
  t.equal((await store.activeKey(tenant)).id, first, 'within the limit the cached DEK is used');
  await sleep(2_100);
  const fresh = (await store.activeKey(tenant)).id;
  t.not(fresh, first, 'after the limit the store fetches the keys again');
  t.equal(fresh, (await getTenantKeys(db.app, tenant))[0]!.dekId);
  t.equal(store.size, 1);
});
