/**
 * memory.tenant_search_sizes: the per-tenant upper bound of search vectors that lets dense search
 * choose its shape without counting the tenant's rows on every call (db/triggers/search_sizes.sql,
 * memory.search_is_exact). The bound must never be below the tenant's real number of vectors, and
 * a tenant without one must still be searched with the right shape.
 */
import { randomUUID } from 'node:crypto';

import t from 'tap';

import * as procedures from '../../src/db/procedures.js';
import { createTestDatabase, randomUserHash, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);

const chunk = (docId: string, seed: number): procedures.SealedChunk => ({
  id: randomUUID(),
  docId,
  source: 'src',
  textCipher: Buffer.from([1]),
  metaCipher: Buffer.from([2]),
  embCipher: Buffer.from([3]),
  embedding: testVector(seed),
});
const chunks = (n: number, docOf: (i: number) => string, seed = 0): procedures.SealedChunk[] =>
  Array.from({ length: n }, (_, i) => chunk(docOf(i), seed + i));

/** The recorded bound (superuser: the table is private), or null when the tenant has none. */
async function bound(userHash: string): Promise<number | null> {
  const { rows } = await db.admin.query<{ n: string }>(
    'select vectors_at_most as n from memory.tenant_search_sizes where user_hash = $1',
    [userHash],
  );
  return rows[0] ? Number(rows[0].n) : null;
}

const isExactShape = async (userHash: string): Promise<boolean> =>
  /\+ '0'::double precision/.test(
    JSON.stringify(await procedures.explainSearch(db.app, userHash, testVector(3), 5)),
  );

t.test('writes raise the bound, deletes never lower it, and an emptied tenant loses its row', async (t) => {
  const tenant = randomUserHash();
  const other = randomUserHash();
  await procedures.storeSealedChunks(
    db.app,
    tenant,
    chunks(6, (i) => `d${i % 2}`),
    1,
    1,
  );
  t.equal(await bound(tenant), 6, 'first write: the rows it has');
  await procedures.storeSealedChunks(
    db.app,
    tenant,
    chunks(4, () => 'd2', 10),
    1,
    1,
  );
  t.equal(await bound(tenant), 10, 'later writes add theirs');
  await procedures.storeSealedChunks(
    db.app,
    other,
    chunks(3, () => 'x'),
    1,
    1,
  );
  t.equal(await bound(other), 3, "another tenant's writes count for that tenant only");
  t.equal(await bound(tenant), 10);

  t.equal(await procedures.deleteDoc(db.app, tenant, 'd0'), 3);
  t.equal(await bound(tenant), 10, 'a delete leaves an upper bound');
  await procedures.deleteDoc(db.app, tenant, 'd1');
  await procedures.deleteDoc(db.app, tenant, 'd2');
  t.equal(await bound(tenant), null, 'no vectors left: no row (nothing is kept of an emptied tenant)');
  await procedures.forgetTenant(db.app, other);
  t.equal(await bound(other), null, 'forget_tenant leaves no row');
});

t.test(
  'a tenant written before the bound existed is counted, then recorded in full by its next write',
  async (t) => {
    const tenant = randomUserHash();
    await procedures.storeSealedChunks(
      db.app,
      tenant,
      chunks(8, () => 'old'),
      1,
      1,
    );
    // What a database upgraded to migration 000015 looks like: vectors, no bound.
    await db.admin.query('delete from memory.tenant_search_sizes where user_hash = $1', [tenant]);
    await procedures.setSetting(db.admin, 'ann_exact_max_rows', 5);
    t.teardown(() =>
      db.admin.query("select memory.reset_setting('ann_exact_max_rows')").then(() => undefined),
    );
    t.notOk(await isExactShape(tenant), 'no bound: counted, 8 rows > 5 takes the HNSW shape');
    await procedures.setSetting(db.admin, 'ann_exact_max_rows', 8);
    t.ok(await isExactShape(tenant), 'no bound: counted, 8 rows <= 8 takes the exact shape');

    await procedures.storeSealedChunks(
      db.app,
      tenant,
      chunks(2, () => 'new', 20),
      1,
      1,
    );
    t.equal(await bound(tenant), 10, 'the first write after the upgrade records the rows it found too');
  },
);

t.test('a bound above the threshold is checked by counting, so a shrunk tenant stays exact', async (t) => {
  const tenant = randomUserHash();
  await procedures.storeSealedChunks(
    db.app,
    tenant,
    chunks(9, (i) => (i < 6 ? 'gone' : 'kept')),
    1,
    1,
  );
  await procedures.deleteDoc(db.app, tenant, 'gone');
  t.equal(await bound(tenant), 9);
  await procedures.setSetting(db.admin, 'ann_exact_max_rows', 5);
  t.teardown(() => db.admin.query("select memory.reset_setting('ann_exact_max_rows')").then(() => undefined));
  t.ok(await isExactShape(tenant), 'bound 9 > 5, but 3 rows: exact');

  // A bound at or under the threshold decides alone. Lowering the recorded bound below the real
  // count (which the triggers never do) shows that no count is made then: the shape follows it.
  const big = randomUserHash();
  await procedures.storeSealedChunks(
    db.app,
    big,
    chunks(7, () => 'big'),
    1,
    1,
  );
  t.notOk(await isExactShape(big), '7 rows > 5: HNSW');
  await db.admin.query('update memory.tenant_search_sizes set vectors_at_most = 2 where user_hash = $1', [
    big,
  ]);
  t.ok(await isExactShape(big), 'a bound of 2 is trusted without counting');
});

t.test('two first writes of one tenant in concurrent transactions both count', async (t) => {
  const tenant = randomUserHash();
  const a = await db.app.connect();
  const b = await db.app.connect();
  t.teardown(() => {
    a.release();
    b.release();
  });
  await a.query('begin');
  await b.query('begin');
  await procedures.storeSealedChunks(
    a,
    tenant,
    chunks(3, () => 'a'),
    1,
    1,
  );
  // b finds no row, counts its own 2 and inserts: it waits on a's uncommitted row, then adds 2.
  const second = procedures.storeSealedChunks(
    b,
    tenant,
    chunks(2, () => 'b', 10),
    1,
    1,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  await a.query('commit');
  await second;
  await b.query('commit');
  t.equal(await bound(tenant), 5);
});
