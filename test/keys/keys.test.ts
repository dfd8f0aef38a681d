/**
 * Keys over time (docs/KEYS.md): per-tenant DEKs, KEK rotation under load, crash + resume, retire
 * refusal, re-sealing, HMAC re-hashing and crypto-shredding — against a real database.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import t from 'tap';

import { dataKeyMaterial } from '../../src/crypto/data-key.js';
import {
  chunkAad,
  envelopeInfo,
  generateKeyBase64,
  hmacUserWith,
  InvalidTag,
  labelledChunkAad,
  openAnyScheme,
  TenantHmacKey,
  tenantProofWith,
} from '../../src/crypto/index.js';
import { getTenantKeys, keyUsage } from '../../src/db/keys.js';
import * as procedures from '../../src/db/procedures.js';
import { useTenantProofs } from '../../src/db/tenant.js';
import { inTransaction } from '../../src/keys/maintenance.js';
import { rehashTenants } from '../../src/keys/rehash.js';
import { replaceTenantKey, resealChunks } from '../../src/keys/reseal.js';
import { retire, rotateKek, usage } from '../../src/keys/rotate.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { packageRoot } from '../../src/paths.js';
import { urlAs } from '../helpers/cluster.js';
import { createTestDatabase, randomUserHash, testVector } from '../helpers/db.js';
import { keyB64, openAll, ringOf, writeChunks } from './fixtures.js';

const db = await createTestDatabase(t);
const ring1 = ringOf([1], 1);
const ring12 = ringOf([1, 2], 2);

t.test(
  "a tenant's first write creates one DEK, stored only wrapped, and concurrent writers agree on it",
  async (t) => {
    const tenant = randomUserHash();
    const stores = [new TenantKeyStore(db.app, () => ring1), new TenantKeyStore(db.app, () => ring1)];
    const keys = await Promise.all([...stores, ...stores].map((s) => s.activeKey(tenant)));
    t.equal(new Set(keys.map((k) => k.id)).size, 1, 'every writer uses the same DEK id');
    const stored = await getTenantKeys(db.app, tenant);
    t.equal(stored.length, 1);
    t.equal(envelopeInfo(stored[0]!.wrappedDek).keyId, 1, 'wrapped under key-ring key 1');
    // The raw 32 DEK bytes, read through the internal accessor: the row must not contain them.
    const raw = dataKeyMaterial(keys[0]!).export();
    t.equal(raw.length, 32);
    t.same(
      dataKeyMaterial(ring1.unwrapDataKey(stored[0]!.wrappedDek, tenant, keys[0]!.id)).export(),
      raw,
      'the stored row unwraps to the DEK the writers use',
    );
    t.notOk(stored[0]!.wrappedDek.includes(raw), 'the DEK bytes do not appear in the stored row');
  },
);

t.test('the key cache is bounded in size', async (t) => {
  const store = new TenantKeyStore(db.app, () => ring1, { maxTenants: 3 });
  for (let i = 0; i < 6; i++) await store.activeKey(randomUserHash());
  t.equal(store.size, 3);
});

t.test(
  'maintenance is refused to the app role (no EXECUTE) and to any non-maintainer session (MV009)',
  async (t) => {
    await t.rejects(
      inTransaction(db.app, (c) => keyUsage(c)),
      { name: 'DatabaseError', sqlstate: '42501' },
    );
    // A role that was (wrongly) granted EXECUTE still cannot enter maintenance mode.
    const role = `mv_intruder_${db.name}`;
    await db.admin.query(
      `create role ${role} login password '${role}'; grant usage on schema memory to ${role}; grant execute on function memory.key_usage() to ${role}`,
    );
    t.teardown(() => db.admin.query(`drop owned by ${role}; drop role ${role}`).then(() => undefined));
    const { createPool } = await import('../../src/db/pool.js');
    const intruder = createPool({ connectionString: urlAs(db.appUrl, role, role), max: 1 });
    t.teardown(() => intruder.end());
    await t.rejects(
      inTransaction(intruder, (c) => keyUsage(c)),
      { name: 'MaintenanceForbiddenError', sqlstate: 'MV009' },
    );
  },
);

t.test(
  'KEK rotation under a write and query load loses nothing, and every row opens afterwards',
  async (t) => {
    const writer = new TenantKeyStore(db.app, () => ring1);
    const tenants = Array.from({ length: 40 }, () => randomUserHash());
    const written = new Map<string, string[]>();
    for (const tenant of tenants) written.set(tenant, await writeChunks(db, writer, tenant, 3, 'before'));

    // The rotation pauses after its first committed batch (the progress listener is awaited) until
    // the load has run three rounds: those rounds provably ran mid-rotation, with some DEKs wrapped
    // under key 1 and some under key 2, whatever the machine's speed.
    let stop = false;
    let midRotation = false;
    let midRounds = 0;
    let openedMidRotation = 0;
    let loadRanMidRotation!: () => void;
    const threeRoundsMidRotation = new Promise<void>((resolve) => (loadRanMidRotation = resolve));
    let splitDuringPause: { kekId: number; wrappedDeks: number }[] = [];
    const load = (async () => {
      let round = 0;
      while (!stop) {
        const tenant = tenants[round++ % tenants.length]!;
        const during = midRotation;
        written.get(tenant)!.push(...(await writeChunks(db, writer, tenant, 1, `during${round}`)));
        // Read as a daemon would mid-rotation: search, then open the hits through the tenant's
        // stored DEK, which is wrapped under key 1 or already key 2 (a fresh lookup each time).
        const hits = await procedures.search(db.app, tenant, testVector(round), { limit: 5 });
        const opened = await openAll(
          db,
          ring12,
          tenant,
          hits.map((h) => h.id),
        );
        if (during && midRotation) {
          openedMidRotation += opened.length;
          if (++midRounds >= 3) loadRanMidRotation();
        }
      }
      return round;
    })();
    // A load that fails must fail the test, not leave the paused rotation waiting for it.
    const loadFailed = load.then(() => new Promise<never>(() => undefined));
    const rewrapped = await rotateKek(db.admin, ring12, {
      batchSize: 7,
      onProgress: async ({ done, total }) => {
        if (midRotation || done >= total) return;
        midRotation = true;
        splitDuringPause = await inTransaction(db.admin, (c) => keyUsage(c));
        await Promise.race([threeRoundsMidRotation, loadFailed]);
        midRotation = false;
      },
    });
    stop = true;
    await load;
    const wrappedUnder = (kekId: number) => splitDuringPause.find((u) => u.kekId === kekId)?.wrappedDeks ?? 0;
    t.ok(
      wrappedUnder(1) > 0 && wrappedUnder(2) > 0,
      `paused half way: ${wrappedUnder(1)} DEKs under key 1, ${wrappedUnder(2)} under key 2`,
    );
    t.ok(midRounds >= 3, `the load ran ${midRounds} rounds while the rotation was half done`);
    // Every round writes one chunk before it searches, so each search finds at least one hit.
    t.ok(openedMidRotation >= 3, `${openedMidRotation} search hits opened while DEKs were split across keys`);
    t.ok(rewrapped >= tenants.length, `re-wrapped ${rewrapped} DEKs`);

    const usage = await inTransaction(db.admin, (c) => keyUsage(c));
    t.equal(usage.find((u) => u.kekId === 1)?.wrappedDeks ?? 0, 0, 'no DEK left under key 1');
    t.same((await procedures.getSettings(db.app)).active_kek_id, 2, 'active_kek_id is set for every daemon');
    for (const tenant of tenants) {
      const texts = await openAll(db, ringOf([2], 2), tenant, written.get(tenant)!);
      t.equal(texts.length, written.get(tenant)!.length);
    }
  },
);

t.test(
  'retire refuses while a key is in use (key_in_use, MV012), and nothing needs it after reseal',
  async (t) => {
    await t.rejects(retire(db.admin, 2, 2), { code: 'key_in_use' }, 'the active key');
    const legacyTenant = randomUserHash();
    const id = randomUUID();
    await procedures.storeSealedChunks(
      db.app,
      legacyTenant,
      [
        {
          id,
          docId: 'legacy',
          source: '',
          embedding: testVector(1),
          textCipher: ring12.withActiveKey(1).seal(Buffer.from('legacy'), chunkAad(legacyTenant, id, 'text')),
          metaCipher: ring12.withActiveKey(1).seal(Buffer.from('{}'), chunkAad(legacyTenant, id, 'meta')),
          embCipher: ring12.withActiveKey(1).seal(Buffer.from([1]), chunkAad(legacyTenant, id, 'embedding')),
        },
      ],
      1,
      1,
    );
    await t.rejects(retire(db.admin, 1, 2), { code: 'key_in_use' }, 'a legacy chunk still needs key 1');

    const resealed = await resealChunks(db.admin, ring12);
    t.ok(resealed >= 1, `re-sealed ${resealed} chunk(s)`);
    // Retiring for real is tested in retire.test.ts; later tests here still wrap under key 1.
    const left = (await usage(db.admin)).find((u) => u.kekId === 1);
    t.same([left?.wrappedDeks ?? 0, left?.legacyChunks ?? 0], [0, 0], 'nothing needs key 1 any more');
    t.same(
      await openAll(db, ringOf([2], 2), legacyTenant, [id]),
      ['legacy'],
      'the re-sealed chunk opens without key 1',
    );
  },
);

t.test('a crash mid-rotation (SIGKILL) resumes and completes on the next run', async (t) => {
  const writer = new TenantKeyStore(db.app, () => ring12);
  const tenants = Array.from({ length: 120 }, () => randomUserHash());
  for (const tenant of tenants) await writeChunks(db, writer, tenant, 1);
  const env = {
    ...process.env,
    MEMVAULT_MAINTENANCE_URL: db.adminUrl,
    MEMORY_ENCRYPTION_KEYS: `1:${keyB64[1]},2:${keyB64[2]},3:${keyB64[3]}`,
    MEMORY_ENCRYPTION_ACTIVE_KEY_ID: '3',
  };
  const cli = join(packageRoot, 'dist/cli/main.js');
  const child = spawn(process.execPath, [cli, 'keys', 'rotate', '--batch', '5'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      if (/rewrap \[/.test(d.toString())) resolve();
    });
    child.on('exit', () => resolve());
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  const midway = await inTransaction(db.admin, (c) => keyUsage(c));
  t.ok((midway.find((u) => u.kekId === 2)?.wrappedDeks ?? 0) > 0, 'the killed run left work behind');

  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [cli, 'keys', 'rotate'], { env }, (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  const after = await inTransaction(db.admin, (c) => keyUsage(c));
  t.same(
    after.filter((u) => u.wrappedDeks > 0).map((u) => u.kekId),
    [3],
    'every DEK is under key 3 after the resumed run',
  );
});

t.test("replacing one tenant's DEK re-seals its chunks and destroys the old DEK", async (t) => {
  const ring = ringOf([1, 2, 3], 3);
  const tenant = randomUserHash();
  const writer = new TenantKeyStore(db.app, () => ring);
  const ids = await writeChunks(db, writer, tenant, 12);
  const before = (await getTenantKeys(db.app, tenant))[0]!.dekId;
  const { resealed, destroyed } = await replaceTenantKey(db.admin, ring, tenant, { batchSize: 5 });
  t.equal(resealed, 12);
  t.equal(destroyed, 1);
  const keys = await getTenantKeys(db.app, tenant);
  t.equal(keys.length, 1);
  t.not(keys[0]!.dekId, before, 'a new DEK is active');
  t.equal((await openAll(db, ring, tenant, ids)).length, 12, 'every chunk opens under the new DEK');
});

t.test(
  'rehash moves tenants to the new HMAC key: readable under the new hash, nothing under the old',
  async (t) => {
    const ring = ringOf([1, 2, 3], 3);
    const oldKey = TenantHmacKey.fromBase64(generateKeyBase64(), 'old');
    const newKey = TenantHmacKey.fromBase64(generateKeyBase64(), 'new');
    const users = ['alice', 'bob', 'carol'];
    // This process acts for each user under both keys: it proves each hash with the key that made
    // it, as a daemon holding that key would.
    const proofs = new Map(
      [oldKey, newKey].flatMap((key) =>
        users.map((u) => [hmacUserWith(key, u), tenantProofWith(key, hmacUserWith(key, u))] as const),
      ),
    );
    t.teardown(useTenantProofs((hash) => proofs.get(hash)));
    const writer = new TenantKeyStore(db.app, () => ring);
    const ids = new Map<string, string[]>();
    for (const user of users)
      ids.set(user, await writeChunks(db, writer, hmacUserWith(oldKey, user), 4, user));

    const report = await rehashTenants(db.admin, ring, { oldKey, newKey }, [...users, 'nobody']);
    t.same([report.moved, report.chunks, report.notFound], [3, 12, ['entry 4']]);
    for (const user of users) {
      const oldHash = hmacUserWith(oldKey, user);
      const newHash = hmacUserWith(newKey, user);
      t.equal(
        (await procedures.tenantStats(db.app, oldHash)).chunks,
        0,
        `${user}: nothing under the old hash`,
      );
      t.equal((await getTenantKeys(db.app, oldHash)).length, 0);
      const texts = await openAll(db, ring, newHash, ids.get(user)!);
      t.equal(texts.length, 4);
      t.ok(
        texts.every((x) => x.startsWith(`text ${user}`)),
        `${user}: every chunk opens under the new hash`,
      );
    }
    const again = await rehashTenants(db.admin, ring, { oldKey, newKey }, users);
    t.equal(again.alreadyMoved, 3, 'a re-run skips tenants already moved');
  },
);

t.test("a forgotten tenant's leftover blob cannot be opened, even with the whole key ring", async (t) => {
  const ring = ringOf([1, 2, 3], 3);
  const tenant = randomUserHash();
  const writer = new TenantKeyStore(db.app, () => ring);
  const [id] = await writeChunks(db, writer, tenant, 1);
  const [row] = await procedures.getChunks(db.app, tenant, [id!]);
  const leftover = Buffer.from(row!.text_cipher); // a copy that survives elsewhere (backup, replica, log)
  // Sealed as the daemon seals: doc_id and source bound (envelope version 3).
  const aad = labelledChunkAad(tenant, { id: id!, docId: row!.doc_id, source: row!.source }, 'text');
  // The read path: the tenant's stored, wrapped DEKs unwrapped by the whole ring. It opens the blob
  // while the DEK row exists...
  const before = await new TenantKeyStore(db.app, () => ring).lookup(tenant);
  t.equal(openAnyScheme(leftover, aad, before, ring).toString(), 'text x 0', 'opens before the forget');

  t.equal(await procedures.forgetTenant(db.app, tenant), 1);
  t.equal((await getTenantKeys(db.app, tenant)).length, 0, 'the DEK is destroyed with the rows');
  // ...and after it, the same path with the same ring finds no DEK for the blob's header id.
  const after = await new TenantKeyStore(db.app, () => ring).lookup(tenant);
  t.throws(
    () => openAnyScheme(leftover, aad, after, ring),
    new InvalidTag('unknown_key'),
    'the DEK row is gone, so nothing can open it (InvalidTag unknown_key)',
  );
});

t.test(
  'a writer whose cached DEK was destroyed elsewhere re-reads the keys instead of sealing unreadable rows',
  async (t) => {
    const { configureCrypto, loadCryptoConfig } = await import('../../src/crypto/index.js');
    configureCrypto(
      loadCryptoConfig({ MEMORY_ENCRYPTION_KEY: keyB64[1], MEMORY_TENANT_HMAC_KEY: generateKeyBase64() }),
    );
    const { indexChunk, getMemoryChunks, forgetUser } = await import('../../src/memory/index.js');
    const daemonA = { pool: db.app, dim: 384, keys: new TenantKeyStore(db.app, () => ring1) };
    const daemonB = { pool: db.app, dim: 384, keys: new TenantKeyStore(db.app, () => ring1) };
    await indexChunk(daemonA, 'dora', { docId: 'd', text: 'first life', embedding: testVector(1) });
    await forgetUser(daemonB, 'dora'); // destroys the DEK daemon A still has cached
    const id = await indexChunk(daemonA, 'dora', {
      docId: 'd',
      text: 'second life',
      embedding: testVector(2),
    });
    const [chunk] = await getMemoryChunks(daemonB, 'dora', [id]);
    t.equal(chunk?.text, 'second life', 'the new chunk is sealed under a live DEK and opens elsewhere');
  },
);

t.test('`keys worker` wakes on NOTIFY memory_jobs and re-seals pending chunks', async (t) => {
  const { notifyKeyJobs } = await import('../../src/db/keys.js');
  const env = {
    ...process.env,
    MEMVAULT_MAINTENANCE_URL: db.adminUrl,
    MEMORY_ENCRYPTION_KEYS: `1:${keyB64[1]},2:${keyB64[2]},3:${keyB64[3]}`,
    MEMORY_ENCRYPTION_ACTIVE_KEY_ID: '3',
  };
  const worker = spawn(process.execPath, [join(packageRoot, 'dist/cli/main.js'), 'keys', 'worker'], {
    env,
    stdio: 'ignore',
  });
  t.teardown(() => {
    worker.kill('SIGTERM');
  });
  // Let the worker connect and finish its start-up pass before there is work to find.
  await new Promise((r) => setTimeout(r, 1500));
  const tenant = randomUserHash();
  const id = randomUUID();
  const ring = ringOf([3], 3);
  await procedures.storeSealedChunks(
    db.app,
    tenant,
    [
      {
        id,
        docId: 'late',
        source: '',
        embedding: testVector(9),
        textCipher: ring.seal(Buffer.from('late legacy'), chunkAad(tenant, id, 'text')),
        metaCipher: ring.seal(Buffer.from('{}'), chunkAad(tenant, id, 'meta')),
        embCipher: ring.seal(Buffer.from([9]), chunkAad(tenant, id, 'embedding')),
      },
    ],
    3,
    1,
  );
  await notifyKeyJobs(db.admin, 'reseal');
  let legacy = 1;
  for (let i = 0; i < 50 && legacy > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    legacy = (await inTransaction(db.admin, (c) => keyUsage(c))).reduce((n, u) => n + u.legacyChunks, 0);
  }
  t.equal(legacy, 0, 'the worker re-sealed the legacy chunk after the notification');
  t.same(await openAll(db, ring, tenant, [id]), ['late legacy']);
  const exited = new Promise<number | null>((resolve) => worker.on('exit', resolve));
  worker.kill('SIGTERM');
  t.equal(await exited, 0, 'the worker exits cleanly on SIGTERM');
});

t.test(
  'a reader that cached a tenant before another process created its DEK re-reads the keys',
  async (t) => {
    const { configureCrypto, loadCryptoConfig } = await import('../../src/crypto/index.js');
    configureCrypto(
      loadCryptoConfig({ MEMORY_ENCRYPTION_KEY: keyB64[1], MEMORY_TENANT_HMAC_KEY: generateKeyBase64() }),
    );
    const { indexChunk, queryMemory } = await import('../../src/memory/index.js');
    const reader = { pool: db.app, dim: 384, keys: new TenantKeyStore(db.app, () => ring1) };
    const writer = { pool: db.app, dim: 384, keys: new TenantKeyStore(db.app, () => ring1) };
    const empty = await queryMemory(reader, {
      userId: 'erin',
      query: 'anything',
      embedding: testVector(4),
      rerank: false,
    });
    t.equal(empty.results.length, 0, 'the reader caches erin with no keys yet');
    await indexChunk(writer, 'erin', { docId: 'd', text: 'written elsewhere', embedding: testVector(4) });
    const found = await queryMemory(reader, {
      userId: 'erin',
      query: 'anything',
      embedding: testVector(4),
      rerank: false,
    });
    t.equal(
      found.results[0]?.text,
      'written elsewhere',
      'the new DEK id makes the reader fetch the keys again',
    );
  },
);
