/**
 * Exact final order over the halfvec search layout: dense search ranks by halfvec distances, which
 * keep about three significant digits, and the query path re-scores the over-fetched candidates
 * from their sealed float32 embeddings (src/memory/rescore.ts) before fusion and rerank. The
 * fixture's chunks all lie within about 1e-4 of the query's direction, so halfvec rounding
 * scrambles their order; what a query returns must still be the exact float32 order.
 */
import t from 'tap';

import { gaussian, seededRandom } from '../../src/bench/stats.js';
import { configureCrypto, generateKeyBase64, hmacUser, InvalidTag } from '../../src/crypto/index.js';
import * as procedures from '../../src/db/procedures.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import type { MemoryContext } from '../../src/memory/context.js';
import { tenantKeys } from '../../src/memory/context.js';
import { applyRetrievalSettings, indexChunks, queryMemory } from '../../src/memory/index.js';
import { overfetchLimit, rescore } from '../../src/memory/rescore.js';
import { dataKeyIds } from '../../src/memory/seal-chunk.js';
import { createTestDatabase } from '../helpers/db.js';

const { ring } = configureCrypto({
  MEMORY_ENCRYPTION_KEY: generateKeyBase64(),
  MEMORY_TENANT_HMAC_KEY: generateKeyBase64(),
});
const db = await createTestDatabase(t);
const ctx: MemoryContext = { pool: db.app, dim: 384, keys: new TenantKeyStore(db.app, () => ring) };
const DIM = 384;
const CHUNKS = 40;

const random = seededRandom(17);
const unit = (v: number[]): Float32Array => {
  const norm = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / norm);
};
const query = unit(Array.from({ length: DIM }, () => gaussian(random)));
// Each chunk: the query's direction plus noise of norm ~0.01, so cosines sit within ~1e-4 of 1
// and differ from each other by ~1e-5, below halfvec's rounding of the stored vectors.
const embeddings = Array.from({ length: CHUNKS }, () =>
  unit(Array.from(query, (x) => x + (0.01 / Math.sqrt(DIM)) * gaussian(random))),
);
const cosine = (a: Float32Array, b: Float32Array): number => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
};

const ids = await indexChunks(
  ctx,
  'alice',
  embeddings.map((embedding, i) => ({
    docId: `d${i}`,
    text: `note ${i} about lanterns`,
    embedding: [...embedding],
  })),
);
const exact = ids
  .map((id, i) => ({ id, score: cosine(query, embeddings[i]!) }))
  .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
const exactOrder = exact.map((e) => e.id);
const alice = hmacUser('alice');

t.teardown(() => void applyRetrievalSettings({}));

t.test('precondition: the halfvec layout alone orders these chunks differently from float32', async (t) => {
  const rows = await procedures.search(db.app, alice, [...query], { limit: CHUNKS });
  t.equal(rows.length, CHUNKS);
  t.not(
    rows.map((r) => r.id).join(),
    exactOrder.join(),
    'SQL order (halfvec distances) differs from the exact order, so the re-scoring is what the tests below see',
  );
  const sqlTop5 = rows.slice(0, 5).map((r) => r.id);
  t.not(sqlTop5.join(), exactOrder.slice(0, 5).join(), 'even the top 5 differ');
});

t.test('dense: the top k is the exact float32 top k, with exact cosine scores', async (t) => {
  applyRetrievalSettings({ rescore_overfetch: 10 });
  const result = await queryMemory(ctx, {
    userId: 'alice',
    query: 'lanterns',
    embedding: [...query],
    k: 5,
    candidates: 5,
    mode: 'dense',
    rerank: false,
  });
  t.same(
    result.results.map((h) => h.id),
    exactOrder.slice(0, 5),
  );
  result.results.forEach((hit, i) => {
    t.ok(
      Math.abs(hit.score - exact[i]!.score) < 1e-9,
      `score ${hit.score} is the exact cosine ${exact[i]!.score}`,
    );
    t.equal(hit.annRank, i + 1);
    t.equal(hit.scoreKind, 'cosine');
  });
  t.type(result.timingsMs.rescore, 'number', 'the re-scoring stage is timed');
});

t.test('without over-fetch the fetched candidates are still returned in exact order', async (t) => {
  applyRetrievalSettings({ rescore_overfetch: 1 });
  const result = await queryMemory(ctx, {
    userId: 'alice',
    query: 'lanterns',
    embedding: [...query],
    k: 10,
    candidates: 10,
    mode: 'dense',
    rerank: false,
  });
  const scores = result.results.map((h) => h.score);
  t.same(
    scores,
    [...scores].sort((a, b) => b - a),
    'sorted by exact score',
  );
  const rank = new Map(exactOrder.map((id, i) => [id, i]));
  const positions = result.results.map((h) => rank.get(h.id)!);
  t.same(
    positions,
    [...positions].sort((a, b) => a - b),
    'in the exact relative order',
  );
});

t.test('hybrid: the dense side is re-scored before fusion (annRank is the exact rank)', async (t) => {
  applyRetrievalSettings({ rescore_overfetch: 10, hybrid_lexical_weight: 0.1 });
  const result = await queryMemory(ctx, {
    userId: 'alice',
    query: 'lanterns',
    embedding: [...query],
    k: 8,
    candidates: 8,
    mode: 'hybrid',
    rerank: false,
  });
  t.equal(result.mode, 'hybrid');
  t.equal(result.results.length, 8);
  // Chunks only the lexical side found have no annRank; the dense ones carry their exact rank.
  const dense = result.results.filter((hit) => hit.annRank !== null);
  t.ok(dense.length >= 5, `${dense.length} of the hits came from the dense side`);
  for (const hit of dense) {
    t.equal(hit.id, exactOrder[hit.annRank! - 1], `annRank ${hit.annRank} is the exact rank of ${hit.id}`);
  }
});

t.test('rescore() refuses an embedding sealed for another row, and the over-fetch is bounded', async (t) => {
  const rows = await procedures.searchCandidates(db.app, alice, [...query], [], null, {
    denseLimit: 2,
    lexicalLimit: 2,
  });
  t.equal(rows.length, 2);
  t.ok(rows.every((r) => r.side === 'dense' && Buffer.isBuffer(r.emb_cipher)));
  const keys = await tenantKeys(ctx).lookup(alice, dataKeyIds([rows[0]!.text_cipher]));
  const swapped = [{ ...rows[0]!, emb_cipher: rows[1]!.emb_cipher }];
  t.throws(() => rescore(alice, query, swapped, keys, 1), InvalidTag);
  t.throws(() => rescore(hmacUser('bob'), query, rows, keys, 1), InvalidTag, 'nor under another tenant');
  t.equal(overfetchLimit(24, 2), 48);
  t.equal(overfetchLimit(24, 1.5), 36);
  t.equal(overfetchLimit(600, 10), 1000, 'never above the database limit');
  t.equal(overfetchLimit(5, 1), 5);
});
