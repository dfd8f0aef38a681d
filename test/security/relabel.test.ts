/**
 * doc_id and source are bound into the sealed blobs' AAD (issue 11, item 9). Before, AAD bound the
 * tenant, row and column only: a superuser's `update ... set doc_id = ...` was served normally and
 * moved the chunk out of reach of `DELETE .../docs/{original}`. Now a relabelled row fails closed
 * (500 integrity_error) like any other tampering.
 *
 * Migration path: rows sealed before (envelope version 2) still open, labels unbound, until
 * `memvault reseal` (or a PATCH of the chunk) moves them to version 3; after that a relabel fails
 * closed there too.
 */
import { randomUUID } from 'node:crypto';

import t from 'tap';

import {
  chunkAad,
  type ChunkField,
  defaultKeyRing,
  embeddingToBytes,
  hmacUser,
  InvalidTag,
  sealWithDataKey,
} from '../../src/crypto/index.js';
import * as procedures from '../../src/db/procedures.js';
import { resealChunks } from '../../src/keys/reseal.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, randomUserHash, testVector } from '../helpers/db.js';
import { openAll, ringOf, writeVersion2Chunks } from '../keys/fixtures.js';

const db = await createTestDatabase(t);

async function envelopeVersions(ids: string[]): Promise<number[]> {
  const { rows } = await db.admin.query<{ v: number }>(
    `select distinct get_byte(text_cipher, 0) as v from memory.memory_chunks where id = any ($1::uuid[])
     union select distinct get_byte(meta_cipher, 0) from memory.memory_chunks where id = any ($1::uuid[])
     union select distinct get_byte(emb_cipher, 0) from memory.memory_chunks where id = any ($1::uuid[])`,
    [ids],
  );
  return rows.map((r) => r.v).sort();
}

/**
 * What memory_owner (the tables' owner, under FORCE RLS: it sets the tenant context first) can do
 * with the database credentials alone: relabel one of the tenant's rows in place.
 */
async function relabelAsOwner(id: string, column: 'doc_id' | 'source', value: string): Promise<void> {
  const client = await db.admin.connect();
  try {
    await client.query('begin');
    // The tenant hash is not secret from the database: read it as the superuser here.
    const owner = await client.query<{ user_hash: string }>(
      'select user_hash from memory.memory_chunks where id = $1',
      [id],
    );
    await client.query('set local role memory_owner');
    await client.query(`select set_config('memory.user_hash', $1, true)`, [owner.rows[0]!.user_hash]);
    const { rowCount } = await client.query(`update memory.memory_chunks set ${column} = $2 where id = $1`, [
      id,
      value,
    ]);
    if (rowCount !== 1) throw new Error(`relabel of ${id} as memory_owner matched ${rowCount} rows`);
    await client.query('commit');
  } catch (thrown) {
    await client.query('rollback');
    throw thrown;
  } finally {
    client.release();
  }
}

/** What a superuser (or anyone who can write the table) does: relabel one row in place. */
async function relabel(id: string, column: 'doc_id' | 'source', value: string): Promise<void> {
  const { rowCount } = await db.admin.query(`update memory.memory_chunks set ${column} = $2 where id = $1`, [
    id,
    value,
  ]);
  if (rowCount !== 1) throw new Error(`relabel of ${id} matched ${rowCount} rows`);
}

t.test('through the API: a relabelled doc_id or source fails closed', async (t) => {
  const api = await startTestDaemon(t, { databaseUrl: db.appUrl });
  const user = `relabel-${randomUserHash().slice(0, 8)}`;
  const write = await api.request('POST', '/v1/chunks', {
    body: {
      user_id: user,
      doc_id: 'keep',
      source: 'notes',
      text: 'the vault code is 4711',
      embedding: testVector(7),
    },
  });
  t.equal(write.status, 201);
  const id: string = write.json.id;
  t.same(await envelopeVersions([id]), [3], 'a new write is sealed as envelope version 3');
  const query = () =>
    api.request('POST', '/v1/query', {
      body: { user_id: user, query: 'vault code', embedding: testVector(7), k: 3 },
    });

  const before = await query();
  t.equal(before.status, 200);
  t.same(
    before.json.results.map((r: { doc_id: string; source: string }) => [r.doc_id, r.source]),
    [['keep', 'notes']],
  );

  await relabel(id, 'doc_id', 'moved');
  const moved = await query();
  t.equal(moved.status, 500, 'a row whose doc_id was rewritten is not served');
  t.equal(moved.json?.error?.code, 'integrity_error');
  t.notOk(JSON.stringify(moved.json).includes('4711'), 'nothing of the text leaks in the error');

  await relabel(id, 'doc_id', 'keep');
  t.equal(
    (await query()).status,
    200,
    'with its own label back, the row opens again (the label was the cause)',
  );

  await relabel(id, 'source', 'elsewhere');
  const resourced = await query();
  t.equal(resourced.status, 500, 'a row whose source was rewritten is not served');
  t.equal(resourced.json?.error?.code, 'integrity_error');
  await relabel(id, 'source', 'notes');

  // The relabel that used to hide a chunk from its document's delete: now it cannot be served, and
  // with its label back, the delete finds it.
  const deleted = await api.request('DELETE', `/v1/users/${user}/docs/keep`);
  t.equal(deleted.status, 200);
  t.equal(deleted.json.deleted, 1);
});

t.test('the chunk API: GET and PATCH of a relabelled row fail closed, PATCH does not launder', async (t) => {
  const api = await startTestDaemon(t, { databaseUrl: db.appUrl });
  const user = `relabel-api-${randomUserHash().slice(0, 8)}`;
  const write = await api.request('POST', '/v1/chunks', {
    body: { user_id: user, doc_id: 'keep', source: 'notes', text: 'locker 12', embedding: testVector(3) },
  });
  t.equal(write.status, 201);
  const id: string = write.json.id;
  const get = () => api.request('GET', `/v1/users/${user}/chunks/${id}`);

  // The table's owner, with the tenant hash and no key of the daemon, relabels the row.
  await relabelAsOwner(id, 'doc_id', 'moved');
  const got = await get();
  t.equal(got.status, 500, 'GET of a row relabelled by memory_owner is refused');
  t.equal(got.json?.error?.code, 'integrity_error');
  t.notOk(JSON.stringify(got.json).includes('locker'), 'nothing of the text leaks');

  // A PATCH that replaces every field must not re-seal the row under its forged label.
  const patched = await api.request('PATCH', `/v1/users/${user}/chunks/${id}`, {
    body: { text: 'laundered', metadata: { x: 1 }, embedding: testVector(4) },
  });
  t.equal(patched.status, 500, 'a PATCH of a relabelled row is refused');
  t.equal(patched.json?.error?.code, 'integrity_error');
  await relabelAsOwner(id, 'doc_id', 'keep');
  const restored = await get();
  t.equal(restored.status, 200);
  t.equal(restored.json.text, 'locker 12', 'the refused PATCH wrote nothing');
  t.equal(restored.json.version, 1);

  await relabelAsOwner(id, 'source', 'elsewhere');
  t.equal((await get()).status, 500, 'a row whose source memory_owner rewrote is refused');
  const list = await api.request('GET', `/v1/users/${user}/chunks?source=elsewhere`);
  t.equal(list.status, 500, 'listing it under the forged source is refused');
  await relabelAsOwner(id, 'source', 'notes');
  t.equal((await get()).status, 200);
});

t.test('a PATCH moves a version-2 row to version 3, all three fields', async (t) => {
  const api = await startTestDaemon(t, { databaseUrl: db.appUrl });
  const user = `relabel-v2-${randomUserHash().slice(0, 8)}`;
  // The daemon runs in this process: its tenant hash and key ring are the process's.
  const userHash = hmacUser(user);
  const store = new TenantKeyStore(db.app, () => defaultKeyRing());
  const dek = await store.activeKey(userHash);
  const place = { id: randomUUID(), docId: 'old', source: 'import' };
  const seal = (plain: Buffer, field: ChunkField) =>
    sealWithDataKey(dek, plain, chunkAad(userHash, place.id, field));
  const embedding = testVector(9);
  await procedures.storeSealedChunks(
    db.app,
    userHash,
    [
      {
        ...place,
        textCipher: seal(Buffer.from('written before item 9'), 'text'),
        metaCipher: seal(Buffer.from('{"k":"v"}'), 'meta'),
        embCipher: seal(embeddingToBytes(embedding), 'embedding'),
        embedding,
      },
    ],
    dek.id,
    2,
  );
  t.same(await envelopeVersions([place.id]), [2]);
  const before = await api.request('GET', `/v1/users/${user}/chunks/${place.id}`);
  t.equal(before.status, 200, 'a version-2 row opens');
  t.equal(before.json.text, 'written before item 9');

  const patched = await api.request('PATCH', `/v1/users/${user}/chunks/${place.id}`, {
    body: { metadata: { k: 'w' } },
  });
  t.equal(patched.status, 200);
  t.same(await envelopeVersions([place.id]), [3], 'text, metadata and embedding are all version 3 now');
  const after = await api.request('GET', `/v1/users/${user}/chunks/${place.id}`);
  t.equal(after.json.text, 'written before item 9', 'the text it did not name is kept');
  t.same(after.json.metadata, { k: 'w' });

  await relabel(place.id, 'doc_id', 'elsewhere');
  t.equal(
    (await api.request('GET', `/v1/users/${user}/chunks/${place.id}`)).status,
    500,
    'after the PATCH a relabel fails closed',
  );
});

t.test(
  'rows sealed before (version 2) still open; reseal moves them to version 3, then a relabel fails',
  async (t) => {
    const ring = ringOf([1], 1);
    const store = new TenantKeyStore(db.app, () => ring);
    const tenant = randomUserHash();
    const ids = await writeVersion2Chunks(db, store, tenant, 4, 'v2');
    t.same(await envelopeVersions(ids), [2], 'written as before item 9: version 2');
    t.same(
      (await openAll(db, ring, tenant, ids)).sort(),
      ['text v2 0', 'text v2 1', 'text v2 2', 'text v2 3'],
      'version-2 rows open',
    );

    // Labels are not bound in version 2: this relabel is the residual risk until the reseal.
    await relabel(ids[0]!, 'doc_id', 'relabelled-before-reseal');
    t.equal((await openAll(db, ring, tenant, ids)).length, 4, 'a version-2 row still opens after a relabel');

    const resealed = await resealChunks(db.admin, ring, { tenant });
    t.equal(resealed, 4, 'reseal claims every version-2 row of the tenant');
    t.same(await envelopeVersions(ids), [3], 'now version 3');
    t.equal(await resealChunks(db.admin, ring, { tenant }), 0, 'a second pass finds nothing left');
    t.equal((await openAll(db, ring, tenant, ids)).length, 4, 'every row opens (with the labels it has now)');

    await relabel(ids[1]!, 'source', 'elsewhere');
    await t.rejects(openAll(db, ring, tenant, ids), InvalidTag, 'a relabel after the reseal fails closed');
  },
);
