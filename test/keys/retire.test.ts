/**
 * Retiring a key-ring key is recorded in the database and enforced everywhere a DEK is wrapped or
 * a legacy blob stored: `keys retire` refuses while anything needs the key, then records it;
 * `keys rotate --to` a retired key, a daemon configured with it, a re-wrap job under it and a
 * legacy write sealed under it all fail with key_retired (MV011).
 * The daemons' /metrics show the published key counts.
 */
import t from 'tap';

import { getTenantKeys } from '../../src/db/keys.js';
import * as procedures from '../../src/db/procedures.js';
import { refreshKeyStats } from '../../src/keys/key-stats.js';
import { registerKeyStatsCollector } from '../../src/keys/metrics.js';
import { retiredKeks } from '../../src/keys/retirement.js';
import { rewrapPending, rotateKek, usage } from '../../src/keys/rotate.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { registry } from '../../src/metrics.js';
import { createTestDatabase, randomUserHash } from '../helpers/db.js';
import { cliEnv, openAll, ringOf, runCli, writeChunks, writeLegacyChunks } from './fixtures.js';

const db = await createTestDatabase(t);
const ring1 = ringOf([1], 1);
const tenants = Array.from({ length: 5 }, () => randomUserHash());
const legacyTenant = randomUserHash();
const written = new Map<string, string[]>();
const writer = new TenantKeyStore(db.app, () => ring1);
for (const tenant of tenants) written.set(tenant, await writeChunks(db, writer, tenant, 2));
written.set(legacyTenant, await writeLegacyChunks(db, ring1, legacyTenant, 3));

t.test('`keys retire` refuses the active key and a key still in use, naming what needs it', async (t) => {
  const env = cliEnv(db, [1, 2], 1);
  const active = await runCli(['keys', 'retire', '1'], env);
  t.equal(active.code, 1);
  t.match(active.stderr, /key 1 is the active key/);

  await rotateKek(db.admin, ringOf([1, 2], 2));
  const inUse = await runCli(['keys', 'retire', '1'], cliEnv(db, [1, 2], 2));
  t.equal(inUse.code, 1, 'refused while a legacy chunk needs key 1');
  t.match(inUse.stderr, /key 1 still wraps 0 tenant key\(s\) and seals 3 legacy chunk\(s\)/);
  t.same(await retiredKeks(db.admin), [], 'nothing recorded');
});

t.test('once nothing needs it, `keys retire` records the key and `keys status` shows it', async (t) => {
  const env = cliEnv(db, [1, 2], 2);
  t.equal((await runCli(['reseal'], env)).code, 0);
  const retired = await runCli(['keys', 'retire', '1'], env);
  t.equal(retired.code, 0, retired.stderr);
  t.match(retired.stdout, /key 1 is now retired/);
  t.same(await retiredKeks(db.admin), [1]);
  t.match((await runCli(['keys', 'retire', '1'], env)).stdout, /key 1 was already retired/);
  t.match((await runCli(['keys', 'status'], env)).stdout, /retired key ids: 1/);
  for (const [tenant, ids] of written) {
    t.equal((await openAll(db, ringOf([2], 2), tenant, ids)).length, ids.length, 'opens without key 1');
  }
});

t.test('rotating to a retired key is refused (key_retired) and changes nothing', async (t) => {
  const cli = await runCli(['keys', 'rotate', '--to', '1'], cliEnv(db, [1, 2], 2));
  t.equal(cli.code, 1);
  t.match(cli.stderr, /key-ring key 1 is retired/);
  await t.rejects(rotateKek(db.admin, ringOf([1, 2], 1)), { code: 'key_retired', kekId: 1 });
  t.same((await procedures.getSettings(db.app)).active_kek_id, 2, 'active_kek_id is still 2');
  t.equal((await usage(db.admin)).find((u) => u.kekId === 1)?.wrappedDeks ?? 0, 0);
  // The generic setter is no back door: an operator setting active_kek_id by hand is refused too.
  const refused = await procedures.setSetting(db.admin, 'active_kek_id', 1).then(
    () => 'accepted',
    (error: { sqlstate?: string }) => error.sqlstate,
  );
  t.equal(refused, 'MV011', 'set_setting refuses a retired active_kek_id (MV011)');
  t.same((await procedures.getSettings(db.app)).active_kek_id, 2, 'still 2 after the refused set_setting');
});

t.test(
  'a daemon still configured with a retired key cannot create a DEK under it (key_retired)',
  async (t) => {
    const stale = new TenantKeyStore(db.app, () => ring1);
    const tenant = randomUserHash();
    await t.rejects(stale.activeKey(tenant), { name: 'KeyRetiredError', code: 'key_retired' });
    t.same(await getTenantKeys(db.app, tenant), [], 'no DEK was stored');
    // A job re-wrapping under the retired key is refused the same way, before it stores anything.
    await t.rejects(rewrapPending(db.admin, ringOf([1, 2], 1), 0), { code: 'key_retired' });
    t.equal((await usage(db.admin)).find((u) => u.kekId === 1)?.wrappedDeks ?? 0, 0);
  },
);

t.test(
  'a legacy (scheme 1) write sealed under a retired key is refused (key_retired, MV011) and stores nothing',
  async (t) => {
    const tenant = randomUserHash();
    await t.rejects(writeLegacyChunks(db, ring1, tenant, 2), {
      name: 'KeyRetiredError',
      code: 'key_retired',
      sqlstate: 'MV011',
      kekId: 1,
    });
    t.equal((await procedures.tenantStats(db.app, tenant)).chunks, 0, 'no chunk stored for the tenant');
    t.equal((await usage(db.admin)).find((u) => u.kekId === 1)?.legacyChunks ?? 0, 0, 'none under key 1');
  },
);

t.test("the daemon's /metrics serve the key counts the jobs publish, from one small read", async (t) => {
  let unregister = registerKeyStatsCollector(db.app, () => 2);
  t.teardown(() => unregister());
  t.ok(await refreshKeyStats(db.admin));
  const text = await registry.metrics();
  const deks = (await usage(db.admin)).find((u) => u.kekId === 2)!.wrappedDeks;
  t.ok(deks >= tenants.length + 1);
  t.match(text, new RegExp(`memvault_key_wrapped_deks\\{kek_id="2"\\} ${deks}\\b`));
  t.match(text, /memvault_key_legacy_chunks\{kek_id="2"\} 0\b/);
  t.match(text, /memvault_key_retired\{kek_id="1"\} 1\b/);
  t.match(text, /memvault_key_rewrap_remaining 0\b/);
  t.match(text, /memvault_key_stats_age_seconds \d/);
  t.notMatch(text, /[0-9a-f]{64}/, 'no user hash in the exposition');

  // A rotation in progress shows as DEKs left under another key than the active one.
  unregister();
  unregister = registerKeyStatsCollector(db.app, () => 3);
  t.match(await registry.metrics(), new RegExp(`memvault_key_rewrap_remaining ${deks}\\b`));
});
