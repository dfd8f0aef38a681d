/**
 * Row-level security attacks, run as memory_owner (the role the procedures execute as, which FORCE
 * RLS subjects to the policy) and as memory_app (which may not touch the table at all).
 */
import { randomUUID } from 'node:crypto';

import type pg from 'pg';
import t from 'tap';

import { tenantProof } from '../../src/crypto/index.js';
import * as procedures from '../../src/db/procedures.js';
import { withTenant } from '../../src/db/tenant.js';
import { createTestDatabase, randomUserHash, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const tenantA = randomUserHash();
const tenantB = randomUserHash();

function sealedStub(docId: string, seed: number): procedures.SealedChunk {
  return {
    id: randomUUID(),
    docId,
    source: 'test',
    textCipher: Buffer.from([1, seed]),
    metaCipher: Buffer.from([2, seed]),
    embCipher: Buffer.from([3, seed]),
    embedding: testVector(seed),
  };
}

const chunkA = sealedStub('doc-a', 1);
await procedures.storeSealedChunks(db.app, tenantA, [chunkA], 1, 1);
await procedures.storeSealedChunks(db.app, tenantB, [sealedStub('doc-b', 2)], 1, 1);

/** Runs fn as memory_owner with the given tenant context (or none) in a rolled-back transaction. */
async function asOwner<T>(context: string | null, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.admin.connect();
  try {
    await client.query('begin');
    await client.query('set local role memory_owner');
    if (context !== null) await client.query("select set_config('memory.user_hash', $1, true)", [context]);
    return await fn(client);
  } finally {
    await client.query('rollback');
    client.release();
  }
}

const count = async (c: pg.PoolClient, where = 'true', values: unknown[] = []) =>
  Number((await c.query(`select count(*) as n from memory.memory_chunks where ${where}`, values)).rows[0].n);

t.test('with no tenant context the owner reads nothing', async (t) => {
  t.equal(await asOwner(null, (c) => count(c)), 0);
});

t.test('an empty or malformed context reads nothing', async (t) => {
  for (const context of ['', 'x', `${tenantA}' or '1'='1`, tenantA.toUpperCase(), `${tenantA} `]) {
    t.equal(await asOwner(context, (c) => count(c)), 0, JSON.stringify(context).slice(0, 20));
  }
});

t.test('a tenant reads its own rows and only those', async (t) => {
  t.equal(await asOwner(tenantA, (c) => count(c)), 1);
  t.equal(await asOwner(tenantA, (c) => count(c, 'user_hash = $1', [tenantB])), 0);
});

t.test('a cross-tenant UPDATE affects 0 rows', async (t) => {
  const updated = await asOwner(
    tenantB,
    async (c) =>
      (await c.query("update memory.memory_chunks set doc_id = 'stolen' where id = $1", [chunkA.id]))
        .rowCount,
  );
  t.equal(updated, 0);
  const [row] = await procedures.getChunks(db.app, tenantA, [chunkA.id]);
  t.equal(row?.doc_id, 'doc-a', 'the row is unchanged');
});

t.test('a cross-tenant DELETE affects 0 rows', async (t) => {
  const deleted = await asOwner(
    tenantB,
    async (c) => (await c.query('delete from memory.memory_chunks where id = $1', [chunkA.id])).rowCount,
  );
  t.equal(deleted, 0);
  t.equal((await procedures.getChunks(db.app, tenantA, [chunkA.id])).length, 1);
});

t.test('a cross-tenant INSERT is rejected by WITH CHECK (42501)', async (t) => {
  await t.rejects(
    asOwner(tenantB, (c) =>
      c.query(
        `insert into memory.memory_chunks (user_hash, id, doc_id, text_cipher, meta_cipher, emb_cipher, embedding, key_id)
         values ($1, gen_random_uuid(), 'x', '\\x00', '\\x00', '\\x00', $2::vector, 1)`,
        [tenantA, procedures.vectorLiteral(testVector(3))],
      ),
    ),
    { code: '42501' },
  );
});

t.test('moving a row to another tenant by UPDATE is rejected (42501)', async (t) => {
  await t.rejects(
    asOwner(tenantA, (c) =>
      c.query('update memory.memory_chunks set user_hash = $1 where id = $2', [tenantB, chunkA.id]),
    ),
    { code: '42501' },
  );
});

t.test('the narrow search layout (chunk_vectors) is under the same policy', async (t) => {
  const vectors = async (c: pg.PoolClient, where = 'true', values: unknown[] = []) =>
    Number(
      (await c.query(`select count(*) as n from memory.chunk_vectors where ${where}`, values)).rows[0].n,
    );
  t.equal(await asOwner(null, (c) => vectors(c)), 0, 'no context reads no vectors');
  t.equal(await asOwner(tenantA, (c) => vectors(c, 'id = $1', [chunkA.id])), 1, 'a tenant reads its own');
  t.equal(await asOwner(tenantB, (c) => vectors(c, 'user_hash = $1', [tenantA])), 0, "not another tenant's");
  t.equal(
    await asOwner(
      tenantB,
      async (c) => (await c.query('delete from memory.chunk_vectors where id = $1', [chunkA.id])).rowCount,
    ),
    0,
    'a cross-tenant DELETE affects 0 rows',
  );
  t.equal(
    await asOwner(
      tenantB,
      async (c) =>
        (
          await c.query('update memory.chunk_vectors set embedding = $2::halfvec where id = $1', [
            chunkA.id,
            procedures.vectorLiteral(testVector(9)),
          ])
        ).rowCount,
    ),
    0,
    'a cross-tenant UPDATE affects 0 rows',
  );
  await t.rejects(
    asOwner(tenantB, (c) => c.query(`update memory.chunk_vectors set user_hash = $1`, [tenantA])),
    { code: '42501' },
    "moving B's vectors to A is rejected by WITH CHECK",
  );
  await t.rejects(
    db.app.query('select * from memory.chunk_vectors'),
    { code: '42501' },
    'the app role has no table access',
  );
});

t.test('the tenant context does not survive its transaction', async (t) => {
  const client = await db.app.connect();
  try {
    await client.query('begin');
    await client.query('select memory.set_tenant($1::text, $2::text)', [tenantA, tenantProof(tenantA)]);
    const inside = (await client.query("select current_setting('memory.user_hash', true) as v")).rows[0].v;
    await client.query('commit');
    const after = (await client.query("select current_setting('memory.user_hash', true) as v")).rows[0].v;
    t.equal(inside, tenantA);
    t.equal(after ?? '', '', 'context is gone after commit on the same pooled connection');
  } finally {
    client.release();
  }
});

t.test('the app role cannot read, write or truncate the table directly (42501)', async (t) => {
  await t.rejects(db.app.query('select * from memory.memory_chunks'), { code: '42501' });
  await t.rejects(db.app.query("delete from memory.memory_chunks where doc_id = 'doc-a'"), { code: '42501' });
  await t.rejects(db.app.query('truncate memory.memory_chunks'), { code: '42501' });
  await t.rejects(db.app.query('select * from memory.settings'), { code: '42501' });
});

t.test('the app role cannot change settings or switch role', async (t) => {
  await t.rejects(db.app.query("select memory.set_setting('rerank_enabled', 'false')"), { code: '42501' });
  await t.rejects(db.app.query('set role memory_owner'), { code: '42501' });
});

t.test('one transaction cannot act for two tenants (MV004)', async (t) => {
  await t.rejects(
    withTenant(db.app, tenantA, (c) => procedures.search(c, tenantB, testVector(1), { limit: 5 })),
    { name: 'TenantContextError', sqlstate: 'MV004' },
  );
  const rows = await withTenant(db.app, tenantA, (c) =>
    procedures.search(c, tenantA, testVector(1), { limit: 5 }),
  );
  t.equal(rows.length, 1);
});

t.test("search never returns another tenant's rows, whatever the filters", async (t) => {
  // The control: tenant B finds its own doc-b with the same filter, so an empty answer for A below
  // is the policy at work, not a filter that matches nothing.
  const own = await procedures.search(db.app, tenantB, testVector(2), { limit: 50, docId: 'doc-b' });
  t.equal(own.length, 1, "tenant B's doc-b is there to be found");
  const cases: Array<[Omit<procedures.SearchOptions, 'limit'>, string[]]> = [
    [{}, [chunkA.id]],
    [{ docId: 'doc-b' }, []],
    [{ source: 'test' }, [chunkA.id]],
    [{ docId: "doc-b' or '1'='1" }, []],
  ];
  for (const [filters, expected] of cases) {
    const rows = await procedures.search(db.app, tenantA, testVector(2), { limit: 50, ...filters });
    t.same(
      rows.map((r) => r.id),
      expected,
      JSON.stringify(filters),
    );
  }
});

t.test('SQL injection strings as ids are stored and matched literally', async (t) => {
  const hostile = ["'; drop table memory.memory_chunks; --", 'doc\\x00', "' or 1=1 --", '$1', 'ünï/../cödé'];
  const chunks = hostile.map((docId, i) => ({ ...sealedStub(docId, 10 + i), source: docId }));
  await procedures.storeSealedChunks(db.app, tenantA, chunks, 1, 1);
  for (const chunk of chunks) {
    const rows = await procedures.search(db.app, tenantA, chunk.embedding, { limit: 5, docId: chunk.docId });
    t.same(
      rows.map((r) => r.doc_id),
      [chunk.docId],
    );
  }
  t.equal(await procedures.deleteDoc(db.app, tenantA, "' or 1=1 --"), 1, 'deletes exactly the literal doc');
  t.equal((await procedures.tenantStats(db.app, tenantB)).chunks, 1, 'the other tenant is untouched');
});

t.test('verifyRlsIsolation proves isolation on the live database and leaves nothing behind', async (t) => {
  const before = Number((await db.admin.query('select count(*) as n from memory.memory_chunks')).rows[0].n);
  const sizes = async (): Promise<number> =>
    (await db.admin.query<{ n: number }>('select count(*)::int as n from memory.tenant_search_sizes'))
      .rows[0]!.n;
  const sizesBefore = await sizes();
  const checks = await procedures.verifyRlsIsolation(db.app);
  t.ok(checks.length >= 7);
  for (const check of checks) t.ok(check.passed, `${check.check}: ${check.detail}`);
  // The narrow search layout is probed too (migration 000015).
  for (const name of [
    'own_tenant_reads_own_search_vector',
    'other_tenant_reads_no_search_vectors',
    'other_tenant_changes_no_search_vector',
    'cross_tenant_search_vector_rejected',
  ])
    t.ok(
      checks.some((c) => c.check === name),
      name,
    );
  const after = Number((await db.admin.query('select count(*) as n from memory.memory_chunks')).rows[0].n);
  t.equal(after, before);
  t.equal(await sizes(), sizesBefore, 'nor a search size');
});

t.test('verifyRlsIsolation fails when the policy is gone', async (t) => {
  const client = await db.admin.connect();
  try {
    await client.query('begin');
    await client.query('alter table memory.memory_chunks no force row level security');
    await client.query('alter table memory.memory_chunks disable row level security');
    const checks = await procedures.verifyRlsIsolation(client);
    t.ok(
      checks.some((c) => !c.passed),
      'at least one check fails',
    );
  } finally {
    await client.query('rollback');
    client.release();
  }
});
