/**
 * HMAC re-hashing over a key ring that changed: legacy rows keep a truthful key_id (so key usage and
 * retire stay correct), the CLI wraps moved DEKs under the live active key (a rotation is not
 * undone), and a run killed midway resumes.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import t from 'tap';

import {
  envelopeInfo,
  generateKeyBase64,
  hmacUserWith,
  TenantHmacKey,
  tenantProofWith,
} from '../../src/crypto/index.js';
import { getTenantKeys } from '../../src/db/keys.js';
import * as procedures from '../../src/db/procedures.js';
import { useTenantProofs } from '../../src/db/tenant.js';
import { rehashTenants } from '../../src/keys/rehash.js';
import { retire, rotateKek, usage } from '../../src/keys/rotate.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { createTestDatabase } from '../helpers/db.js';
import { cliEnv, cliPath, openAll, ringOf, runCli, writeChunks, writeLegacyChunks } from './fixtures.js';

const db = await createTestDatabase(t);
const oldB64 = generateKeyBase64();
const newB64 = generateKeyBase64();
const oldKey = TenantHmacKey.fromBase64(oldB64, 'old');
const newKey = TenantHmacKey.fromBase64(newB64, 'new');
const hmacEnv = { MEMORY_TENANT_HMAC_KEY_OLD: oldB64, MEMORY_TENANT_HMAC_KEY: newB64 };

// This process acts for each user under both keys (before and after the move): it proves each
// hash with the key that made it, as a daemon holding that key would.
const proofs = new Map<string, string>();
for (const key of [oldKey, newKey]) {
  for (const u of ['ann', 'ben', 'cal', 'dot', ...Array.from({ length: 40 }, (_, i) => `user-${i}`)]) {
    const hash = hmacUserWith(key, u);
    proofs.set(hash, tenantProofWith(key, hash));
  }
}
t.teardown(useTenantProofs((hash) => proofs.get(hash)));

async function idsFile(users: string[]): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'mv-rehash-')), 'ids.txt');
  await writeFile(file, users.join('\n') + '\n');
  return file;
}

t.test('`tenants rehash` after a rotation wraps moved DEKs under the rotated-to key', async (t) => {
  const users = ['ann', 'ben', 'cal'];
  const writer = new TenantKeyStore(db.app, () => ringOf([1], 1));
  const ids = new Map<string, string[]>();
  for (const u of users) ids.set(u, await writeChunks(db, writer, hmacUserWith(oldKey, u), 3, u));
  await rotateKek(db.admin, ringOf([1, 2], 2));

  // This host's environment still says key 1 is active; the live setting says 2.
  const file = await idsFile(users);
  const lacking = await runCli(['tenants', 'rehash', '--user-ids', file], {
    ...cliEnv(db, [1], 1),
    ...hmacEnv,
  });
  t.equal(lacking.code, 1, 'a host without the live active key refuses to run');
  t.match(lacking.stderr, /active_kek_id 2/);

  const run = await runCli(['tenants', 'rehash', '--user-ids', file], {
    ...cliEnv(db, [1, 2], 1),
    ...hmacEnv,
  });
  t.equal(run.code, 0, run.stderr);
  for (const u of users) {
    const keys = await getTenantKeys(db.app, hmacUserWith(newKey, u));
    t.same(
      keys.map((k) => [k.kekId, envelopeInfo(k.wrappedDek).keyId]),
      [[2, 2]],
      `${u}: DEK wrapped (and recorded) under key 2`,
    );
    t.equal((await openAll(db, ringOf([2], 2), hmacUserWith(newKey, u), ids.get(u)!)).length, 3);
  }
  t.equal(
    (await usage(db.admin)).find((u) => u.kekId === 1)?.wrappedDeks ?? 0,
    0,
    'nothing back under key 1',
  );
});

t.test(
  'rehash of legacy (key-ring sealed) rows records the key that sealed them, so retire is right',
  async (t) => {
    const ring12 = ringOf([1, 2], 2);
    const user = 'dot';
    const ids = await writeLegacyChunks(db, ringOf([1], 1), hmacUserWith(oldKey, user), 4, user);
    t.equal((await usage(db.admin)).find((u) => u.kekId === 1)?.legacyChunks, 4);

    const report = await rehashTenants(db.admin, ring12, { oldKey, newKey }, [user]);
    t.same([report.moved, report.chunks], [1, 4]);
    const after = await usage(db.admin);
    t.equal(after.find((u) => u.kekId === 1)?.legacyChunks ?? 0, 0, 'no row claims key 1 any more');
    t.equal(after.find((u) => u.kekId === 2)?.legacyChunks, 4, 'the re-sealed rows count under key 2');
    await t.rejects(
      retire(db.admin, 2, 1),
      { code: 'key_in_use' },
      'key 2, which seals them, cannot be retired',
    );
    t.ok(await retire(db.admin, 1, 2), 'key 1, which nothing needs, can');
    t.same(
      (await openAll(db, ringOf([2], 2), hmacUserWith(newKey, user), ids)).sort(),
      ids.map((_, i) => `text ${user} ${i}`),
      'every moved row opens without key 1',
    );
  },
);

t.test(
  'a rehash killed mid-run (SIGKILL) resumes: every tenant ends wholly under its new hash',
  async (t) => {
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const writer = new TenantKeyStore(db.app, () => ringOf([2], 2));
    const ids = new Map<string, string[]>();
    for (const u of users) ids.set(u, await writeChunks(db, writer, hmacUserWith(oldKey, u), 10, u));
    const file = await idsFile(users);
    const env = { ...cliEnv(db, [2], 2), ...hmacEnv };

    const child = spawn(process.execPath, [cliPath, 'tenants', 'rehash', '--user-ids', file], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        if (/rehash \[/.test(d.toString())) resolve();
      });
      child.on('exit', () => resolve());
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const movedMidway = (
      await Promise.all(
        users.map(async (u) => (await procedures.tenantStats(db.app, hmacUserWith(newKey, u))).chunks),
      )
    ).filter((n) => n > 0).length;
    t.ok(
      movedMidway >= 1 && movedMidway < users.length,
      `the killed run moved ${movedMidway} of ${users.length}`,
    );

    const again = await runCli(['tenants', 'rehash', '--user-ids', file], env);
    t.equal(again.code, 0, again.stderr);
    t.match(
      again.stdout,
      new RegExp(`moved ${users.length - movedMidway} tenant\\(s\\).*; ${movedMidway} already moved`),
    );
    for (const u of users) {
      const [oldStats, newStats] = [
        await procedures.tenantStats(db.app, hmacUserWith(oldKey, u)),
        await procedures.tenantStats(db.app, hmacUserWith(newKey, u)),
      ];
      t.same([oldStats.chunks, newStats.chunks], [0, 10], `${u}: wholly moved`);
      t.equal((await openAll(db, ringOf([2], 2), hmacUserWith(newKey, u), ids.get(u)!)).length, 10);
    }
  },
);
