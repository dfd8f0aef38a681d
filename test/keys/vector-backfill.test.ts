/**
 * Moving a database with chunks onto the narrow search layout, online: until `reindex vectors`
 * has given every chunk its search vector, dense search reads memory_chunks and answers completely;
 * the job is resumable (a run that dies keeps its committed batches), idempotent and per tenant,
 * and switches the layout only when no chunk is missing, after which answers are unchanged.
 */
import t from 'tap';

import {
  configureCrypto,
  defaultKeyRing,
  generateKeyBase64,
  hmacUser,
  hmacUserWith,
  loadTenantHmacKey,
} from '../../src/crypto/index.js';
import { searchLayoutCheck } from '../../src/db/doctor.js';
import * as procedures from '../../src/db/procedures.js';
import { vectorCoverage } from '../../src/db/vectors.js';
import { rehashTenants } from '../../src/keys/rehash.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { backfillVectors } from '../../src/keys/vector-backfill.js';
import type { MemoryContext } from '../../src/memory/context.js';
import { indexChunks, queryMemory } from '../../src/memory/index.js';
import { indexClearChunks } from '../helpers/clear-vectors.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const encryptionKey = generateKeyBase64();
const oldHmac = generateKeyBase64();
configureCrypto({ MEMORY_ENCRYPTION_KEY: encryptionKey, MEMORY_TENANT_HMAC_KEY: oldHmac });
const db = await createTestDatabase(t);
const ring = defaultKeyRing();
/** A fresh context per step: no cached data key survives a key change made by a job. */
const ctx = (): MemoryContext => ({
  pool: db.app,
  dim: 384,
  keys: new TenantKeyStore(db.app, defaultKeyRing),
});

// Written as the release before protected vectors wrote them: clear search vectors, and a clear
// copy in memory_chunks.embedding (what a database upgraded from before migration 000011 holds).
await indexClearChunks(
  ctx(),
  db.app,
  'alice',
  Array.from({ length: 30 }, (_, i) => ({
    docId: `a${i % 4}`,
    text: `alice note ${i}`,
    embedding: testVector(i),
  })),
);
await indexClearChunks(
  ctx(),
  db.app,
  'bob',
  Array.from({ length: 5 }, (_, i) => ({
    docId: 'b',
    text: `bob note ${i}`,
    embedding: testVector(100 + i),
  })),
);
const alice = hmacUser('alice');
const bob = hmacUser('bob');

const storedVectors = async (): Promise<string[]> =>
  (
    await db.admin.query<{ v: string }>(
      'select user_hash || id::text || embedding::text as v from memory.chunk_vectors order by user_hash, id',
    )
  ).rows.map((r) => r.v);
const schemes = async (): Promise<Array<{ scheme: number; keyId: number; clearCopy: boolean }>> =>
  (
    await db.admin.query<{ scheme: number; key_id: number; clear_copy: boolean }>(
      `select v.vector_scheme as scheme, v.vector_key_id as key_id, c.embedding is not null as clear_copy
         from memory.chunk_vectors v join memory.memory_chunks c using (user_hash, id)
        order by v.user_hash, v.id`,
    )
  ).rows.map((r) => ({ scheme: r.scheme, keyId: r.key_id, clearCopy: r.clear_copy }));
const ask = async (docId?: string) =>
  (
    await queryMemory(ctx(), {
      userId: 'alice',
      query: 'note',
      embedding: testVector(7),
      k: 6,
      mode: 'dense',
      rerank: false,
      ...(docId ? { docId } : {}),
    })
  ).results.map((h) => `${h.id}:${h.score.toFixed(12)}`);

const written = await storedVectors();
const answer = await ask();
const filtered = await ask('a1');

t.test('a new database searches the narrow layout, and writes fill it', async (t) => {
  t.equal(await procedures.searchLayout(db.app), 'vectors');
  t.equal(written.length, 35);
  t.match(await vectorCoverage(db.admin), { chunks: 35, missing: 0, layout: 'vectors' });
  const client = await db.admin.connect();
  t.teardown(() => client.release());
  t.match(await searchLayoutCheck(client), { ok: true });
});

t.test('as upgraded from before migration 000011: search reads memory_chunks, completely', async (t) => {
  await db.admin.query('delete from memory.chunk_vectors');
  await db.admin.query(`update memory.settings set value = '"chunks"' where key = 'search_layout'`);
  t.equal(await procedures.searchLayout(db.app), 'chunks');
  t.same(await ask(), answer, 'the same answer from the wide layout');
  t.same(await ask('a1'), filtered, 'and with a doc_id filter');
  const client = await db.admin.connect();
  t.teardown(() => client.release());
  const check = await searchLayoutCheck(client);
  t.equal(check.ok, false);
  t.match(check.detail, /35 of 35 chunk\(s\) without a search vector; run `memvault reindex vectors`/);
});

t.test('a chunk written meanwhile gets its vector from the write path', async (t) => {
  await indexChunks(ctx(), 'carol', [{ docId: 'c', text: 'carol', embedding: testVector(200) }]);
  const { rows } = await db.admin.query('select 1 from memory.chunk_vectors where user_hash = $1', [
    hmacUser('carol'),
  ]);
  t.equal(rows.length, 1);
  t.match(await vectorCoverage(db.admin), { chunks: 36, missing: 35, layout: 'chunks' });
});

t.test('one tenant at a time: the layout does not switch while another misses vectors', async (t) => {
  const result = await backfillVectors(db.admin, ring, { tenant: bob });
  t.same(result, { stored: 5, missing: 30, layout: 'chunks' });
});

t.test('a run that dies keeps its committed batches; the next run finishes and switches', async (t) => {
  const progress: number[] = [];
  await t.rejects(
    backfillVectors(db.admin, ring, {
      batchSize: 7,
      onProgress: (p) => {
        progress.push(p.done);
        if (p.done >= 14) throw new Error('worker killed');
      },
    }),
    /worker killed/,
  );
  t.same(progress, [7, 14]);
  t.match(await vectorCoverage(db.admin), { missing: 16, layout: 'chunks' });
  t.equal(await procedures.searchLayout(db.app), 'chunks', 'still the wide layout: 16 chunks miss vectors');

  const seen: number[] = [];
  const result = await backfillVectors(db.admin, ring, {
    batchSize: 7,
    onProgress: (p) => void seen.push(p.done),
  });
  t.same(result, { stored: 16, missing: 0, layout: 'vectors' });
  t.same(seen, [7, 14, 16]);
  t.equal(await procedures.searchLayout(db.app), 'vectors');
  t.same((await backfillVectors(db.admin, ring)).stored, 0, 'a second run finds nothing to do (idempotent)');
});

t.test('the vectors made from the sealed embeddings are protected, and answers are unchanged', async (t) => {
  const now = (await storedVectors()).filter((v) => !v.startsWith(hmacUser('carol')));
  t.equal(now.length, written.length);
  t.equal(now.filter((v) => written.includes(v)).length, 0, 'every clear vector was rewritten (protected)');
  const marks = await schemes();
  t.equal(marks.length, 36);
  t.same(
    marks.filter((m) => m.scheme !== 1 || m.keyId < 1 || m.clearCopy),
    [],
    'each row: scheme 1 under a data key, no clear copy in memory_chunks',
  );
  t.same(await ask(), answer, 'the same answer from the narrow layout');
  t.same(await ask('a1'), filtered, 'and with a doc_id filter');
  const plan = JSON.stringify(await procedures.explainSearch(db.app, alice, testVector(7), 6));
  t.match(plan, /chunk_vectors/, 'search reads the narrow table');
  t.equal(bob.length, 64);
});

t.test('doctor fails a narrow layout with chunks it cannot find (written by older logic)', async (t) => {
  const { rows } = await db.admin.query<{ id: string }>(
    'delete from memory.chunk_vectors where user_hash = $1 and id = (select min(id::text)::uuid from memory.chunk_vectors where user_hash = $1) returning id',
    [alice],
  );
  t.equal(rows.length, 1);
  const client = await db.admin.connect();
  t.teardown(() => client.release());
  const check = await searchLayoutCheck(client);
  t.equal(check.ok, false);
  t.match(check.detail, /1 of 36 chunk\(s\) have no search vector/);
  t.match(check.detail, /reset_setting\('search_layout'\)/);
  // The remedy the check names: back to the complete wide layout, then the backfill switches again.
  await db.admin.query("select memory.reset_setting('search_layout')");
  t.equal(await procedures.searchLayout(db.app), 'chunks');
  t.same(await backfillVectors(db.admin, ring), { stored: 1, missing: 0, layout: 'vectors' });
  t.match(await searchLayoutCheck(client), { ok: true });
});

t.test('forget and delete take the search vectors with the chunks (cascade)', async (t) => {
  await procedures.forgetTenant(db.app, bob);
  await procedures.deleteDoc(db.app, alice, 'a1');
  const { rows } = await db.admin.query<{ n: string }>(
    'select count(*) as n from memory.chunk_vectors v where v.user_hash = $1 or not exists (select from memory.memory_chunks c where c.user_hash = v.user_hash and c.id = v.id)',
    [bob],
  );
  t.equal(Number(rows[0]!.n), 0);
  t.match(await vectorCoverage(db.admin), { missing: 0, layout: 'vectors' });
});

t.test('a tenant rehash moves the search vectors with the chunks', async (t) => {
  const before = await ask();
  const count = async (hash: string) =>
    Number(
      (await db.admin.query('select count(*) as n from memory.chunk_vectors where user_hash = $1', [hash]))
        .rows[0].n,
    );
  const chunks = await count(alice);
  t.ok(chunks > 20, `${chunks} vectors under the old hash`);
  const newHmac = generateKeyBase64();
  const oldKey = loadTenantHmacKey(oldHmac, 'MEMORY_TENANT_HMAC_KEY_OLD');
  const newKey = loadTenantHmacKey(newHmac, 'MEMORY_TENANT_HMAC_KEY');
  t.equal((await rehashTenants(db.admin, ring, { oldKey, newKey }, ['alice'])).moved, 1);
  t.equal(await count(alice), 0, 'none left under the old hash');
  t.equal(await count(hmacUserWith(newKey, 'alice')), chunks, 'all under the new one');
  configureCrypto({ MEMORY_ENCRYPTION_KEY: encryptionKey, MEMORY_TENANT_HMAC_KEY: newHmac });
  t.same(await ask(), before, 'dense search answers as before under the new hash');
});
