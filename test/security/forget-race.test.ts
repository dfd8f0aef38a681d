/**
 * Forgetting a tenant cannot race a write (issue 11, item 1), and a transaction cannot act for two
 * tenants even when the caller rewrites the context setting between two calls (item 5, MV004).
 *
 * Before the fix, index_chunks checked the tenant's data key without a lock and forget_tenant
 * deleted keys then chunks: a batch still uncommitted when the forget ran was invisible to its
 * DELETE, committed afterwards, and left rows under a destroyed key (every later query a 500).
 */
import { randomBytes, randomUUID } from 'node:crypto';

import t from 'tap';

import { hmacUser, tenantProof } from '../../src/crypto/index.js';
import { mapDatabaseError } from '../../src/db/errors.js';
import { addTenantKey, nextDekId } from '../../src/db/keys.js';
import { forgetTenant, type SealedChunk, storeSealedChunks, tenantStats } from '../../src/db/procedures.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, randomUserHash, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);

function sealedRows(n: number): SealedChunk[] {
  return Array.from({ length: n }, (_, i) => ({
    id: randomUUID(),
    docId: `doc-${i}`,
    source: 'race',
    textCipher: randomBytes(40),
    metaCipher: randomBytes(40),
    embCipher: randomBytes(40),
    embedding: testVector(i + 1),
  }));
}

async function chunksOf(userHash: string): Promise<number> {
  const { rows } = await db.admin.query(
    'select count(*)::int as n from memory.memory_chunks where user_hash = $1',
    [userHash],
  );
  return rows[0].n;
}

/** Rows whose data key no longer exists: nobody can ever open them. */
async function orphans(userHash: string): Promise<number> {
  const { rows } = await db.admin.query(
    `select count(*)::int as n from memory.memory_chunks c
     where c.user_hash = $1 and c.key_scheme = 2
       and not exists (select from memory.tenant_keys k where k.user_hash = c.user_hash and k.dek_id = c.key_id)`,
    [userHash],
  );
  return rows[0].n;
}

async function tenantWithKey(): Promise<{ userHash: string; dekId: number }> {
  const userHash = randomUserHash();
  const dekId = await nextDekId(db.app);
  // The database never opens a DEK: any bytes do for a wrapped one here.
  await addTenantKey(db.app, userHash, dekId, randomBytes(60), 1);
  await storeSealedChunks(db.app, userHash, sealedRows(1), dekId, 2);
  return { userHash, dekId };
}

t.test('a forget waits for an uncommitted write of the tenant and deletes it too', async (t) => {
  const { userHash, dekId } = await tenantWithKey();
  const writer = await db.app.connect();
  try {
    await writer.query('begin');
    t.equal(await storeSealedChunks(writer, userHash, sealedRows(200), dekId, 2), 200);
    let settled = false;
    const forget = forgetTenant(db.app, userHash).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.equal(settled, false, 'the forget is still waiting while the write is uncommitted');
    await writer.query('commit');
    t.equal(await forget, 201, 'the forget deleted the seeded chunk and the whole batch');
  } finally {
    writer.release();
  }
  t.equal(await chunksOf(userHash), 0, 'nothing of the tenant survives the forget');
  t.equal(await orphans(userHash), 0);
});

t.test(
  'a write that starts after a forget is refused (MV010), not stored under the destroyed key',
  async (t) => {
    const { userHash, dekId } = await tenantWithKey();
    const forgetter = await db.app.connect();
    try {
      // As the daemon does it: the tenant entered with its proof, then forgotten, uncommitted.
      await forgetter.query('begin');
      await forgetter.query('select memory.set_tenant($1::text, $2::text)', [
        userHash,
        tenantProof(userHash),
      ]);
      await forgetter.query('select memory.forget_tenant($1::text)', [userHash]);
      let settled = false;
      const write = storeSealedChunks(db.app, userHash, sealedRows(10), dekId, 2).then(
        () => 'stored',
        (error: unknown) => mapDatabaseError(error),
      );
      void write.finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      t.equal(settled, false, 'the write waits for the forget to finish');
      await forgetter.query('commit');
      t.match(await write, { name: 'StaleDataKeyError', sqlstate: 'MV010' });
    } finally {
      forgetter.release();
    }
    t.equal(await chunksOf(userHash), 0);
  },
);

t.test('set_config between two calls does not let one transaction act for two tenants (MV004)', async (t) => {
  const [a, b] = [randomUserHash(), randomUserHash()];
  for (const rewrite of ['', b]) {
    const client = await db.app.connect();
    try {
      await client.query('begin');
      await tenantStats(client, a);
      await client.query("select set_config('memory.user_hash', $1, true)", [rewrite]);
      const outcome = await tenantStats(client, b).then(
        () => 'acted for b',
        (error: unknown) => mapDatabaseError(error),
      );
      t.match(
        outcome,
        { name: 'TenantContextError', sqlstate: 'MV004' },
        `context rewritten to '${rewrite.slice(0, 8)}'`,
      );
    } finally {
      await client.query('rollback');
      client.release();
    }
  }
  // The same tenant twice, and a fresh transaction for another tenant, still work.
  const client = await db.app.connect();
  try {
    await client.query('begin');
    await tenantStats(client, a);
    await tenantStats(client, a);
    await client.query('commit');
    await tenantStats(client, b);
  } finally {
    client.release();
  }
  t.pass('one tenant per transaction still works');
});

t.test('through the API: a forget racing a 1,000-chunk batch leaves nothing unreadable', async (t) => {
  const api = await startTestDaemon(t, { databaseUrl: db.appUrl });
  const batch = (user: string) => ({
    user_id: user,
    chunks: Array.from({ length: 1000 }, (_, i) => ({
      doc_id: `d${i % 10}`,
      text: `chunk ${i}`,
      embedding: testVector(i + 1),
    })),
  });
  const seed = async (user: string) => {
    const res = await api.request('POST', '/v1/chunks', {
      body: { user_id: user, doc_id: 'seed', text: 'seed', embedding: testVector(1) },
    });
    if (res.status !== 201) throw new Error(`seed failed: ${res.status}`);
  };
  // How long one batch takes here, so the forgets land before, during and after its commit.
  await seed('race-timing');
  let started = performance.now();
  t.equal((await api.request('POST', '/v1/chunks/batch', { body: batch('race-timing') })).status, 201);
  const batchMs = performance.now() - started;

  const rounds = 10;
  let forgotDuringBatch = 0;
  for (let round = 0; round < rounds; round++) {
    const user = `race-${round}`;
    await seed(user);
    started = performance.now();
    const write = api.request('POST', '/v1/chunks/batch', { body: batch(user) });
    await new Promise((resolve) => setTimeout(resolve, (batchMs * (round + 1)) / rounds));
    const forget = await api.request('DELETE', `/v1/users/${user}`);
    const written = await write;
    t.equal(forget.status, 200, `round ${round}: forget`);
    t.equal(
      written.status,
      201,
      `round ${round}: the batch is stored (before the forget, or after it under a new key)`,
    );
    if (forget.json.deleted > 1) forgotDuringBatch++;

    const userHash = hmacUser(user);
    t.equal(await orphans(userHash), 0, `round ${round}: no row under a destroyed key`);
    const remaining = await chunksOf(userHash);
    t.ok(
      remaining === 0 || remaining === 1000,
      `round ${round}: all or nothing of the batch remains (${remaining})`,
    );
    const query = await api.request('POST', '/v1/query', {
      body: { user_id: user, query: 'chunk', embedding: testVector(3), k: 5 },
    });
    t.equal(query.status, 200, `round ${round}: the user can still be queried`);
    t.equal(
      query.json?.results?.length,
      remaining === 0 ? 0 : 5,
      `round ${round}: the query answers from what remains`,
    );
  }
  t.ok(forgotDuringBatch > 0, `some forgets caught the batch's rows (${forgotDuringBatch}/${rounds})`);
});
