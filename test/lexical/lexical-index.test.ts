/**
 * The encrypted lexical index against a real database: writes index their text in the same call,
 * lexical and hybrid queries find chunks by their words, deletes and forgets take the postings
 * and counts with them, another tenant's context reads none of them, and a pg_dump holds tokens,
 * never terms.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import t from 'tap';

import { configureCrypto, generateKeyBase64, hmacUser } from '../../src/crypto/index.js';
import { findPgBin } from '../../src/db/cluster.js';
import { setSetting } from '../../src/db/procedures.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { defaultAnalyzer } from '../../src/lexical/index.js';
import type { MemoryContext } from '../../src/memory/context.js';
import { forgetDoc, forgetUser, indexChunks, queryMemory } from '../../src/memory/index.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const execFileAsync = promisify(execFile);

const { ring } = configureCrypto({
  MEMORY_ENCRYPTION_KEY: generateKeyBase64(),
  MEMORY_TENANT_HMAC_KEY: generateKeyBase64(),
});
const db = await createTestDatabase(t);
const ctx: MemoryContext = { pool: db.app, dim: 384, keys: new TenantKeyStore(db.app, () => ring) };

// Words that occur nowhere else, so any trace of them in the database can only come from them.
const RARE = ['quetzalcoatlus', 'zymurgical', 'xylophonist'];
const aliceTexts = [
  `The ${RARE[0]} was the largest flying animal`,
  `Notes on ${RARE[1]} chemistry and brewing yeast`,
  `A ${RARE[2]} played at the wedding; the ${RARE[2]} was late`,
  'Shopping list: eggs, flour, and milk',
];
const aliceIds = await indexChunks(
  ctx,
  'alice',
  aliceTexts.map((text, i) => ({ docId: `doc-${i}`, text, embedding: testVector(i + 1) })),
);
await indexChunks(ctx, 'bob', [
  { docId: 'b-1', text: `Bob also met a ${RARE[2]}`, embedding: testVector(9) },
]);
const alice = hmacUser('alice');
const bob = hmacUser('bob');

const lexical = (userId: string, query: string, extra: Record<string, unknown> = {}) =>
  queryMemory(ctx, { userId, query, mode: 'lexical', k: 10, ...extra });

async function count(sql: string, values: unknown[]): Promise<number> {
  return Number((await db.admin.query(sql, values)).rows[0].n);
}

t.test(
  'a write indexes its chunks in the same call: one index row per chunk, postings, tenant counts',
  async (t) => {
    t.equal(await count('select count(*) as n from memory.lexical_chunks where user_hash = $1', [alice]), 4);
    const stats = (await db.admin.query('select * from memory.lexical_stats where user_hash = $1', [alice]))
      .rows[0];
    const lengths = aliceTexts.map((text) => defaultAnalyzer().terms(text).length);
    t.equal(Number(stats.chunks), 4);
    t.equal(
      Number(stats.total_length),
      lengths.reduce((a, b) => a + b, 0),
      'total length = sum of the analysed lengths',
    );
    const distinctTerms = aliceTexts.map((text) => new Set(defaultAnalyzer().terms(text)).size);
    t.equal(
      await count('select count(*) as n from memory.lexical_postings where user_hash = $1', [alice]),
      distinctTerms.reduce((a, b) => a + b, 0),
      'one posting per distinct term of each chunk',
    );
    const tf = await db.admin.query(
      'select max(tf) as tf from memory.lexical_postings where user_hash = $1 and chunk_id = $2',
      [alice, aliceIds[2]],
    );
    t.equal(tf.rows[0].tf, 2, 'the repeated word counts twice');
  },
);

t.test('lexical mode finds a chunk by a rare word, scored by BM25', async (t) => {
  const result = await lexical('alice', `who studies ${RARE[1]} things`);
  t.equal(result.mode, 'lexical');
  t.equal(result.results.length, 1, 'only the chunk holding the word matches');
  t.equal(result.results[0]!.id, aliceIds[1]);
  t.equal(result.results[0]!.scoreKind, 'bm25');
  t.ok(result.results[0]!.score > 0, `BM25 score ${result.results[0]!.score}`);
  t.equal(result.results[0]!.lexicalRank, 1);
  t.equal(result.results[0]!.annRank, null);
  t.type(result.timingsMs.lexical, 'number');
});

t.test('stemming and case folding: "FLYING Animals" matches "flying animal"', async (t) => {
  const result = await lexical('alice', 'FLYING Animals');
  t.equal(result.results[0]?.id, aliceIds[0]);
});

t.test('a query of stop words only, or of unknown words, finds nothing', async (t) => {
  t.same((await lexical('alice', 'the and of')).results, []);
  t.same((await lexical('alice', 'unobtainium')).results, []);
});

t.test("one tenant's words never find another tenant's chunks", async (t) => {
  const result = await lexical('bob', RARE[2]!);
  t.equal(result.results.length, 1);
  t.equal(result.results[0]!.docId, 'b-1');
  t.same((await lexical('carol', RARE[2]!)).results, [], 'a tenant with nothing finds nothing');
});

t.test('hybrid fuses both sides: the rare word wins over the nearest embedding', async (t) => {
  // The embedding points at the shopping list (doc-3); the words at the xylophonist (doc-2).
  const result = await queryMemory(ctx, {
    userId: 'alice',
    query: `${RARE[2]} at a wedding`,
    embedding: testVector(4),
    mode: 'hybrid',
    k: 4,
  });
  t.equal(result.mode, 'hybrid');
  t.equal(result.results[0]!.docId, 'doc-2');
  t.equal(result.results[0]!.scoreKind, 'hybrid');
  t.equal(result.results[0]!.lexicalRank, 1);
  t.type(result.results[0]!.annRank, 'number', 'the ANN side returned it too (small tenant: exact)');
  t.ok(
    result.results.every((hit, i, all) => i === 0 || all[i - 1]!.score >= hit.score),
    'sorted by fused score',
  );
  t.type(result.timingsMs.fuse, 'number');
  t.type(result.timingsMs.search, 'number');
  t.type(result.timingsMs.lexical, 'number');
});

t.test('hybrid without an embedding or an embedder answers lexically; dense refuses', async (t) => {
  const result = await queryMemory(ctx, { userId: 'alice', query: RARE[0]!, mode: 'hybrid' });
  t.equal(result.mode, 'lexical');
  t.equal(result.results[0]!.id, aliceIds[0]);
  await t.rejects(queryMemory(ctx, { userId: 'alice', query: RARE[0]!, mode: 'dense' }), {
    code: 'invalid_input',
    field: 'embedding',
  });
});

t.test('an unknown mode is refused naming the field', async (t) => {
  await t.rejects(queryMemory(ctx, { userId: 'alice', query: 'x', mode: 'fuzzy' }), {
    code: 'invalid_input',
    field: 'mode',
  });
});

t.test('doc_id and source filters apply to lexical results', async (t) => {
  t.same((await lexical('alice', RARE[0]!, { docId: 'doc-1' })).results, []);
  t.equal((await lexical('alice', RARE[0]!, { docId: 'doc-0' })).results.length, 1);
});

t.test('bm25 settings are validated (MV006) and change scores live', async (t) => {
  await t.rejects(setSetting(db.admin, 'bm25_b', 2), { code: 'invalid_setting_value' });
  await t.rejects(setSetting(db.admin, 'retrieval_mode', 'fuzzy'), { code: 'invalid_setting_value' });
  const before = (await lexical('alice', RARE[2]!)).results[0]!.score;
  await setSetting(db.admin, 'bm25_k1', 0.1);
  const after = (await lexical('alice', RARE[2]!)).results[0]!.score;
  await db.admin.query("select memory.reset_setting('bm25_k1')");
  t.not(after, before, `k1 0.1 scores ${after}, the default ${before}`);
});

t.test('another tenant context reads, changes and deletes no postings (RLS)', async (t) => {
  const owner = await db.admin.connect();
  try {
    await owner.query('begin');
    await owner.query('set local role memory_owner');
    await owner.query("select set_config('memory.user_hash', $1, true)", [bob]);
    const seen = await owner.query(
      'select (select count(*) from memory.lexical_postings where user_hash = $1) + (select count(*) from memory.lexical_chunks where user_hash = $1) + (select count(*) from memory.lexical_stats where user_hash = $1) as n',
      [alice],
    );
    t.equal(Number(seen.rows[0].n), 0, "bob's context sees none of alice's index rows");
    const own = await owner.query('select count(*) as n from memory.lexical_postings');
    t.ok(Number(own.rows[0].n) > 0, `bob's context sees bob's own postings (${own.rows[0].n})`);
    const deleted = await owner.query('delete from memory.lexical_postings where user_hash = $1', [alice]);
    t.equal(deleted.rowCount, 0, "bob's context deletes none of alice's postings");
    await owner.query("select set_config('memory.user_hash', '', true)");
    const none = await owner.query('select count(*) as n from memory.lexical_postings');
    t.equal(Number(none.rows[0].n), 0, 'no context sees no postings');
    await owner.query('rollback');
  } finally {
    owner.release();
  }
  await t.rejects(
    db.app.query('select count(*) from memory.lexical_postings'),
    { code: '42501' },
    'the app role has no table access',
  );
});

t.test('a pg_dump holds keyed tokens, never the terms', async (t) => {
  const { stdout } = await execFileAsync(`${findPgBin()}/pg_dump`, ['--data-only', '--dbname', db.adminUrl], {
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'buffer',
  });
  const dump = (stdout as unknown as Buffer).toString('latin1').toLowerCase();
  t.ok(dump.includes('lexical_postings'), 'the postings are in the dump');
  const terms = [
    ...RARE,
    ...RARE.map((w) => defaultAnalyzer().terms(w)[0]!),
    'brewing',
    'shopping',
    'wedding',
  ];
  for (const term of terms) {
    t.equal(dump.indexOf(term), -1, `"${term}" not in the dump`);
    t.equal(dump.indexOf(Buffer.from(term).toString('hex')), -1, `"${term}" not in hex either`);
  }
});

t.test('deleting a document deletes its postings and updates the counts', async (t) => {
  const postings = () =>
    count('select count(*) as n from memory.lexical_postings where user_hash = $1', [alice]);
  const before = await postings();
  t.equal(await forgetDoc(ctx, 'alice', 'doc-2'), 1);
  const after = await postings();
  t.equal(
    before - after,
    new Set(defaultAnalyzer().terms(aliceTexts[2]!)).size,
    "exactly that chunk's postings went",
  );
  const stats = (
    await db.admin.query('select chunks from memory.lexical_stats where user_hash = $1', [alice])
  ).rows[0];
  t.equal(Number(stats.chunks), 3);
  t.same((await lexical('alice', RARE[2]!)).results, [], 'the word finds nothing now');
});

t.test('forgetting a tenant deletes its whole index and its counts', async (t) => {
  t.equal(await forgetUser(ctx, 'alice'), 3);
  for (const table of ['lexical_chunks', 'lexical_postings', 'lexical_stats']) {
    t.equal(await count(`select count(*) as n from memory.${table} where user_hash = $1`, [alice]), 0, table);
  }
  t.ok(
    (await count('select count(*) as n from memory.lexical_postings where user_hash = $1', [bob])) > 0,
    "bob's stay",
  );
});
