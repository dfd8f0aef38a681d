/**
 * Protected search vectors through the daemon's own write and query paths (issue 13,
 * docs/CRYPTO.md "Protected vectors"), on a real PostgreSQL with pgvector:
 * - a stolen database (every row of every table, read as the superuser) gives neither the nearest
 *   neighbours of a query embedded with the public model nor the embeddings themselves, while the
 *   same attack on the clear vectors of the release before works;
 * - two tenants' vectors of the same texts are unrelated (their keys are separate);
 * - queries stay exact (re-scored from the sealed embeddings), also for a tenant whose rows are
 *   half migrated: clear rows beside protected ones, and rows under a replaced data key beside
 *   rows under the new one (`reseal --tenant` interrupted);
 * - `memvault reindex vectors` protects every clear row, is resumable and idempotent, and doctor
 *   counts what is still clear.
 */
import t from 'tap';

import { cosine, linkage, thiefSearch, VectorTable } from '../../src/bench/vector-attacks.js';
import {
  configureCrypto,
  DEFAULT_VECTOR_NOISE,
  defaultKeyRing,
  generateKeyBase64,
  hmacUser,
} from '../../src/crypto/index.js';
import { vectorProtectionCheck } from '../../src/db/doctor.js';
import * as procedures from '../../src/db/procedures.js';
import { vectorProtection } from '../../src/db/vectors.js';
import { replaceTenantKey, resealChunks } from '../../src/keys/reseal.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { backfillVectors } from '../../src/keys/vector-backfill.js';
import type { MemoryContext } from '../../src/memory/context.js';
import { applyRetrievalSettings, indexChunks, queryMemory } from '../../src/memory/index.js';
import { indexClearChunks } from '../helpers/clear-vectors.js';
import { createTestDatabase } from '../helpers/db.js';

configureCrypto({ MEMORY_ENCRYPTION_KEY: generateKeyBase64(), MEMORY_TENANT_HMAC_KEY: generateKeyBase64() });
const db = await createTestDatabase(t);
const ring = defaultKeyRing();
/** A fresh context per step: no cached data key survives a key change made by a job. */
const ctx = (): MemoryContext => ({
  pool: db.app,
  dim: 384,
  keys: new TenantKeyStore(db.app, defaultKeyRing),
});

// A topical corpus standing in for a public embedder's output: 8 topic directions in 384-d, each
// text its topic plus noise of the same norm (so a topic's texts sit at cosine ~0.5 of each other
// and ~0 of other topics'), and each query its topic plus smaller noise.
const DIM = 384;
const TOPICS = 8;
let seed = 12345;
const uniform = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return (seed + 1) / 2147483649;
};
const gaussian = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
const unit = (v: number[]): number[] => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const centres = Array.from({ length: TOPICS }, () => unit(Array.from({ length: DIM }, gaussian)));
const near = (topic: number, spread: number): number[] =>
  unit(centres[topic]!.map((c) => c + (spread / Math.sqrt(DIM)) * gaussian()));
const docs = Array.from({ length: 80 }, (_, i) => ({ topic: i % TOPICS, embedding: near(i % TOPICS, 1) }));
const queries = Array.from({ length: 24 }, (_, i) => ({
  topic: i % TOPICS,
  embedding: near(i % TOPICS, 0.5),
}));
const asChunks = (prefix: string) =>
  docs.map((d, i) => ({
    docId: `${prefix}-${d.topic}`,
    text: `${prefix} text ${i}`,
    embedding: d.embedding,
  }));

/**
 * Every stored search vector and clear copy, as a thief reading the tables sees them, with the index
 * of the text it holds (known to the test, not the thief), for alice's and bob's rows.
 */
async function dump(): Promise<
  Array<{ userHash: string; doc: number; stored: number[]; copy: string | null }>
> {
  const { rows } = await db.admin.query<{
    user_hash: string;
    id: string;
    embedding: string;
    copy: string | null;
  }>(
    `select v.user_hash, v.id, v.embedding::text as embedding, c.embedding::text as copy
       from memory.chunk_vectors v join memory.memory_chunks c using (user_hash, id)
      where v.user_hash = any ($1)`,
    [[hmacUser('alice'), hmacUser('bob')]],
  );
  const docOf = new Map([
    ...aliceIds.map((id, i) => [id, i] as const),
    ...bobIds.map((id, i) => [id, i] as const),
  ]);
  return rows
    .map((r) => ({
      userHash: r.user_hash,
      doc: docOf.get(r.id)!,
      stored: JSON.parse(r.embedding) as number[],
      copy: r.copy,
    }))
    .sort((a, b) => (a.userHash < b.userHash ? -1 : a.userHash > b.userHash ? 1 : a.doc - b.doc));
}

/** The exact top k of a tenant's texts for a query, by cosine of the clear embeddings. */
function exactTop(embeddings: Map<string, number[]>, query: number[], k: number): string[] {
  return [...embeddings.entries()]
    .map(([id, e]) => ({ id, score: cosine(e, query) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, k)
    .map((x) => x.id);
}

async function denseIds(userId: string, query: number[], k = 10): Promise<string[]> {
  const result = await queryMemory(ctx(), {
    userId,
    query: 'q',
    embedding: query,
    k,
    candidates: 40,
    mode: 'dense',
    rerank: false,
  });
  return result.results.map((h) => h.id);
}

const aliceIds = await indexChunks(ctx(), 'alice', asChunks('alice'));
const bobIds = await indexChunks(ctx(), 'bob', asChunks('bob'));
const aliceEmbeddings = new Map(aliceIds.map((id, i) => [id, docs[i]!.embedding]));

t.test('a stolen database: no search, no embeddings, where the clear column gave both', async (t) => {
  const rows = await dump();
  t.equal(rows.length, 160);
  t.same(
    rows.filter((r) => r.copy !== null),
    [],
    'memory_chunks.embedding holds no clear copy of any protected chunk',
  );
  t.same(
    rows.map((r) => r.doc),
    [...docs.keys(), ...docs.keys()],
    'each tenant holds every text once',
  );
  const isRelevant = (q: number, row: number): boolean => queries[q]!.topic === docs[rows[row]!.doc]!.topic;
  const queryVectors = queries.map((q) => Float32Array.from(q.embedding));
  // The release before stored the embeddings themselves: the thief's search works there.
  const clear = thiefSearch(
    queryVectors,
    new VectorTable([...docs, ...docs].map((d) => d.embedding)),
    isRelevant,
  );
  t.ok(clear.precision > 0.9, `clear column: thief precision@10 ${clear.precision.toFixed(3)}`);
  t.equal(clear.chance, 1 / TOPICS);
  // Protected: the same search over the dump is at chance (1 in 8; 24 queries x 10 rows: sd ~0.02).
  const stolen = thiefSearch(queryVectors, new VectorTable(rows.map((r) => r.stored)), isRelevant);
  t.ok(
    stolen.precision < clear.chance + 0.1,
    `protected column: thief precision@10 ${stolen.precision.toFixed(3)} (chance ${clear.chance})`,
  );
  // Read as embeddings, the stored vectors say nothing about the texts: a stored row is no closer to
  // its own embedding than to any other direction (mean |cos| of unrelated 384-d vectors ~0.04).
  const own = rows.map((r) => cosine(r.stored, docs[r.doc]!.embedding));
  const meanAbs = own.reduce((a, c) => a + Math.abs(c), 0) / own.length;
  t.ok(meanAbs < 0.1, `stored row vs its own embedding: mean |cos| ${meanAbs.toFixed(3)}`);
});

t.test('two tenants, one set of texts: unrelated vectors under separate keys', async (t) => {
  const rows = await dump();
  const alice = rows.filter((r) => r.userHash === hmacUser('alice')).map((r) => Float32Array.from(r.stored));
  const bob = rows.filter((r) => r.userHash === hmacUser('bob')).map((r) => Float32Array.from(r.stored));
  t.equal(alice.length, 80);
  const link = linkage(alice, bob);
  t.ok(link.meanAbsCosine < 0.1, `same text, two tenants: mean |cos| ${link.meanAbsCosine.toFixed(3)}`);
  t.ok(link.matched < 0.1, `a row's nearest row in the other tenant is its twin: ${link.matched.toFixed(3)}`);
  const { rows: keys } = await db.admin.query<{ user_hash: string; key_id: number }>(
    'select distinct user_hash, vector_key_id as key_id from memory.chunk_vectors where vector_scheme = 1',
  );
  t.equal(keys.length, 2, 'one vector key per tenant');
  t.not(keys[0]!.key_id, keys[1]!.key_id, 'each tenant its own data key');
  // Within a tenant nearness is kept on purpose: bob's query finds bob's texts, exactly ranked.
  const bobEmbeddings = new Map(bobIds.map((id, i) => [id, docs[i]!.embedding]));
  t.same(await denseIds('bob', queries[3]!.embedding), exactTop(bobEmbeddings, queries[3]!.embedding, 10));
});

t.test('queries return the exact top k, re-scored from the sealed embeddings', async (t) => {
  for (const q of queries.slice(0, 6)) {
    t.same(await denseIds('alice', q.embedding), exactTop(aliceEmbeddings, q.embedding, 10));
  }
  const hit = await queryMemory(ctx(), {
    userId: 'alice',
    query: 'q',
    embedding: docs[5]!.embedding,
    k: 1,
    mode: 'dense',
    rerank: false,
  });
  t.equal(hit.results[0]!.id, aliceIds[5], 'a text is its own nearest neighbour');
  t.ok(
    Math.abs(hit.results[0]!.score - 1) < 1e-6,
    `exact cosine, not the protected one: ${hit.results[0]!.score}`,
  );
});

t.test('a tenant in migration: clear and protected rows, then old and new keys, all found', async (t) => {
  // Dave has 40 rows from the release before (clear) and 40 from this one (protected).
  const half = asChunks('dave');
  const clearIds = await indexClearChunks(ctx(), db.app, 'dave', half.slice(0, 40));
  const protectedIds = await indexChunks(ctx(), 'dave', half.slice(40));
  const dave = new Map([
    ...clearIds.map((id, i) => [id, docs[i]!.embedding] as const),
    ...protectedIds.map((id, i) => [id, docs[40 + i]!.embedding] as const),
  ]);
  const counts = await vectorProtection(db.admin);
  t.match(counts, { chunks: 240, clear: 40, clearCopies: 40, staleKey: 0, missing: 0 });
  const client = await db.admin.connect();
  t.teardown(() => client.release());
  const check = await vectorProtectionCheck(client);
  t.equal(check.ok, false);
  t.match(check.detail, /^40 of 240 chunk\(s\) have their embedding in clear/);
  t.match(check.detail, /memvault reindex vectors/);

  const mixed = async () => {
    for (const q of queries.slice(0, 4)) {
      const got = await denseIds('dave', q.embedding);
      t.same(got, exactTop(dave, q.embedding, 10), `topic ${q.topic}: exact across schemes`);
    }
  };
  await mixed();
  const both = await denseIds('dave', queries[0]!.embedding, 20);
  t.ok(
    both.some((id) => clearIds.includes(id)) && both.some((id) => protectedIds.includes(id)),
    'the answer holds clear and protected rows',
  );

  // reindex, interrupted after its first batch: still exact while half done.
  await t.rejects(
    backfillVectors(db.admin, ring, {
      tenant: hmacUser('dave'),
      batchSize: 15,
      onProgress: () => {
        throw new Error('worker killed');
      },
    }),
    /worker killed/,
  );
  t.match(await vectorProtection(db.admin), { clear: 25, clearCopies: 25 });
  await mixed();
  const rest = await backfillVectors(db.admin, ring, { tenant: hmacUser('dave') });
  t.equal(rest.stored, 25, 'the next run protects the rest');
  t.equal(
    (await backfillVectors(db.admin, ring)).stored,
    0,
    'and a run after that finds nothing (idempotent)',
  );
  t.match(await vectorProtection(db.admin), { clear: 0, clearCopies: 0, staleKey: 0 });
  t.match(await vectorProtectionCheck(client), { ok: true });
  await mixed();

  // reseal --tenant (a new data key), interrupted: rows under the old and the new key.
  await t.rejects(
    replaceTenantKey(db.admin, ring, hmacUser('dave'), {
      batchSize: 30,
      onProgress: () => {
        throw new Error('worker killed');
      },
    }),
    /worker killed/,
  );
  const { rows: keyIds } = await db.admin.query<{ key_id: number; n: string }>(
    'select vector_key_id as key_id, count(*) as n from memory.chunk_vectors where user_hash = $1 group by 1 order by 2',
    [hmacUser('dave')],
  );
  t.same(
    keyIds.map((k) => Number(k.n)),
    [30, 50],
    'two vector keys: 30 rows moved to the new one, 50 left under the old',
  );
  t.match(await vectorProtection(db.admin), { staleKey: 50 });
  await mixed();
  await resealChunks(db.admin, ring, { tenant: hmacUser('dave') });
  t.match(await vectorProtection(db.admin), { clear: 0, staleKey: 0 });
  await mixed();
});

t.test('the setting vector_noise is validated', async (t) => {
  await t.rejects(db.admin.query(`select memory.set_setting('vector_noise', '1.5')`), { code: 'MV006' });
  await t.rejects(db.admin.query(`select memory.set_setting('vector_noise', '"a"')`), { code: 'MV006' });
  await db.admin.query(`select memory.set_setting('vector_noise', '0.5')`);
  t.teardown(() => db.admin.query("select memory.reset_setting('vector_noise')").then(() => undefined));
  // What the daemon's settings listener applies (src/memory/retrieval-settings.ts).
  const stored = await procedures.getSettings(db.app);
  t.equal(applyRetrievalSettings(stored).vectorNoise, 0.5, 'the stored value is applied');
  t.equal(
    applyRetrievalSettings({ vector_noise: 'x' }).vectorNoise,
    DEFAULT_VECTOR_NOISE,
    'a bad one falls back',
  );
  t.equal(DEFAULT_VECTOR_NOISE, 0.1);
});
