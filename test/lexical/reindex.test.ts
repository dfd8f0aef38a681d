/**
 * Keeping the lexical index consistent with the chunks: `reindex lexical` fills in chunks written
 * without an index and re-analyses stale ones (resumably, idempotently); `reseal --tenant`
 * re-tokenises under the new data key's term key; a tenant rehash moves the index with its chunks.
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
import { lexicalCoverage } from '../../src/db/lexical.js';
import { reindexLexical } from '../../src/keys/lexical-reindex.js';
import { rehashTenants } from '../../src/keys/rehash.js';
import { replaceTenantKey } from '../../src/keys/reseal.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { ANALYZER_VERSION } from '../../src/lexical/index.js';
import type { MemoryContext } from '../../src/memory/context.js';
import { indexChunks, queryMemory } from '../../src/memory/index.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const encryptionKey = generateKeyBase64();
const oldHmac = generateKeyBase64();
const newHmac = generateKeyBase64();
configureCrypto({ MEMORY_ENCRYPTION_KEY: encryptionKey, MEMORY_TENANT_HMAC_KEY: oldHmac });
const db = await createTestDatabase(t);
const ring = defaultKeyRing();
/** A fresh context per step: no cached data key survives a key change made by a job. */
const ctx = (): MemoryContext => ({
  pool: db.app,
  dim: 384,
  keys: new TenantKeyStore(db.app, defaultKeyRing),
});

const words = ['aardvark', 'bassoon', 'cormorant', 'dulcimer', 'egret', 'flugelhorn'];
const ids = await indexChunks(
  ctx(),
  'alice',
  words.map((word, i) => ({ docId: `d${i}`, text: `a note about the ${word}`, embedding: testVector(i) })),
);
const alice = hmacUser('alice');

const find = async (word: string, context = ctx()) =>
  (await queryMemory(context, { userId: 'alice', query: word, mode: 'lexical' })).results.map(
    (hit) => hit.id,
  );
const coverage = () => lexicalCoverage(db.admin, ANALYZER_VERSION);
const postingCount = async (hash: string) =>
  Number(
    (await db.admin.query('select count(*) as n from memory.lexical_postings where user_hash = $1', [hash]))
      .rows[0].n,
  );

t.test('chunks written without an index are reported missing, then indexed by reindex', async (t) => {
  const full = await postingCount(alice);
  // As if written before the index existed (or by an older daemon): drop three chunks' index rows.
  await db.admin.query(
    'delete from memory.lexical_chunks where user_hash = $1 and chunk_id = any($2::uuid[])',
    [alice, ids.slice(0, 3)],
  );
  t.match(await coverage(), { chunks: 6, current: 3, missing: 3, stale: 0 });
  t.same(await find(words[0]!), [], 'a chunk without an index row is not found lexically');

  const progress: number[] = [];
  t.equal(
    await reindexLexical(db.admin, ring, { batchSize: 2, onProgress: (p) => void progress.push(p.done) }),
    3,
  );
  t.same(progress, [2, 3], 'progress per batch');
  t.match(await coverage(), { chunks: 6, current: 6, missing: 0, stale: 0 });
  t.equal(await postingCount(alice), full, 'the same postings as the write path made');
  t.same(await find(words[0]!), [ids[0]]);
  t.equal(await reindexLexical(db.admin, ring), 0, 'a second run finds nothing to do (idempotent)');
});

t.test('rows of an older analyzer version are stale and re-analysed', async (t) => {
  await db.admin.query(
    'update memory.lexical_chunks set analyzer_version = 0 where user_hash = $1 and chunk_id = $2',
    [alice, ids[1]],
  );
  t.match(await coverage(), { stale: 1, missing: 0 });
  t.equal(await reindexLexical(db.admin, ring, { tenant: alice }), 1);
  t.match(await coverage(), { current: 6, stale: 0 });
});

t.test('reseal --tenant re-tokenises the index under the new data key', async (t) => {
  const before = (
    await db.admin.query('select distinct term_key_id from memory.lexical_chunks where user_hash = $1', [
      alice,
    ])
  ).rows;
  t.equal(before.length, 1);
  const tokensBefore = (
    await db.admin.query('select token from memory.lexical_postings where user_hash = $1 order by 1', [alice])
  ).rows;
  const { resealed, destroyed } = await replaceTenantKey(db.admin, ring, alice);
  t.equal(resealed, 6);
  t.equal(destroyed, 1);
  const after = (
    await db.admin.query('select distinct term_key_id from memory.lexical_chunks where user_hash = $1', [
      alice,
    ])
  ).rows;
  t.equal(after.length, 1);
  t.not(after[0].term_key_id, before[0].term_key_id, 'keyed under the new data key');
  const tokensAfter = (
    await db.admin.query('select token from memory.lexical_postings where user_hash = $1 order by 1', [alice])
  ).rows;
  t.equal(tokensAfter.length, tokensBefore.length, 'as many postings');
  t.notSame(tokensAfter, tokensBefore, 'other tokens: the old term key is gone with the old data key');
  t.match(await coverage(), { current: 6, missing: 0, stale: 0 });
  t.same(await find(words[2]!), [ids[2]], 'still found, with the new term key');
});

t.test('a tenant rehash moves the index with the chunks', async (t) => {
  const postings = await postingCount(alice);
  const oldKey = loadTenantHmacKey(oldHmac, 'MEMORY_TENANT_HMAC_KEY_OLD');
  const newKey = loadTenantHmacKey(newHmac, 'MEMORY_TENANT_HMAC_KEY');
  const report = await rehashTenants(db.admin, ring, { oldKey, newKey }, ['alice']);
  t.equal(report.moved, 1);
  const moved = hmacUserWith(newKey, 'alice');
  t.equal(await postingCount(alice), 0, 'nothing left under the old hash');
  t.equal(await postingCount(moved), postings, 'every posting under the new hash');
  const stats = (
    await db.admin.query('select chunks from memory.lexical_stats where user_hash = any($1::text[])', [
      [alice, moved],
    ])
  ).rows;
  t.same(
    stats.map((r) => Number(r.chunks)),
    [6],
    'one stats row, the new tenant, 6 chunks',
  );
  configureCrypto({ MEMORY_ENCRYPTION_KEY: encryptionKey, MEMORY_TENANT_HMAC_KEY: newHmac });
  t.same(await find(words[3]!), [ids[3]], 'found under the new hash with the same term key');
  t.match(await coverage(), { current: 6, missing: 0, stale: 0 });
});
