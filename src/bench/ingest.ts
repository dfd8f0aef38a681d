/**
 * Ingest suite: chunks/s through the real write path (validation, tenant HMAC, three AES-GCM
 * seals per chunk, text analysis and keyed tokens for the lexical index, memory.index_chunks as
 * memory_app under RLS) against (a) the same write path with the lexical index switched off (the
 * write path as it was before the index) and (b) a plain multi-row INSERT of rows of the same
 * shape and sizes into the same table and indexes, as the superuser, with no crypto and no
 * procedure. Rounds rotate which side goes first, and every side writes its own tenant, so all
 * pay the same growing HNSW graph.
 */
import { randomUUID } from 'node:crypto';

import {
  configureCrypto,
  defaultKeyRing,
  generateDataKey,
  generateKeyBase64,
  hmacUser,
  loadCryptoConfig,
} from '../crypto/index.js';
import type { Pool } from '../db/pool.js';
import { TenantKeyStore } from '../keys/tenant-key-store.js';
import { indexChunks, type NewChunk } from '../memory/index.js';
import { sealChunk } from '../memory/seal-chunk.js';
import { planTenants, samplePoint, type TenantPlan, topicCentres, vectorText } from './corpus.js';
import { loadCorpus } from './loader.js';
import { type Metric, ratio, type Table } from './result.js';
import { passage } from './seed.js';
import { median, rotated, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;

export const suite: Suite = {
  name: 'ingest',
  options: ['base', 'batch', 'rounds'],
  summary:
    'chunks/s through the write path (sealing, lexical index, procedure, RLS) vs the same without the lexical index vs a plain multi-row INSERT',
  run: runIngest,
};

interface Case {
  batch: number;
  rounds: number;
}

async function runIngest(ctx: SuiteContext) {
  const startedAt = new Date();
  const base = intOption(ctx, 'base', ctx.quick ? 2_000 : 20_000, 0);
  // --batch N [--rounds R]: one case instead of the preset ones (the CI smoke runs a tiny one).
  const onlyBatch = ctx.options.batch === undefined ? undefined : intOption(ctx, 'batch', 1, 1, 10_000);
  const cases: Case[] = onlyBatch
    ? [{ batch: onlyBatch, rounds: intOption(ctx, 'rounds', ctx.quick ? 4 : 10, 1) }]
    : ctx.quick
      ? [
          { batch: 100, rounds: 6 },
          { batch: 1000, rounds: 2 },
        ]
      : [
          { batch: 1, rounds: 200 },
          { batch: 100, rounds: 20 },
          { batch: 1000, rounds: 8 },
        ];
  configureCrypto(
    loadCryptoConfig({
      MEMORY_ENCRYPTION_KEY: generateKeyBase64(),
      MEMORY_TENANT_HMAC_KEY: generateKeyBase64(),
    }),
  );
  const cluster = await ctx.cluster();
  const db = await cluster.createDatabase('ingest', DIM);
  const pools = db.openPools();
  const { admin, app } = pools;
  try {
    const centres = topicCentres(DIM, 2);
    if (base > 0) {
      ctx.progress.stage(`pre-loading ${base.toLocaleString('en-US')} chunks so the HNSW graph is not empty`);
      await loadCorpus(admin, planTenants(base, 2), centres, ctx.progress, 2);
    }
    const random = seededRandom(99);
    const shape: TenantPlan = { userHash: '', size: 0, cls: 'small', topics: [1, 2, 3] };
    const makeChunks = (n: number, round: number): NewChunk[] =>
      Array.from({ length: n }, (_, i) => ({
        docId: `doc-${round}-${Math.floor(i / 10)}`,
        source: 'bench',
        // ~60 words (~500 characters, the size FAKE_CIPHERS assume elsewhere) of Zipfian text, so
        // the lexical index gets natural numbers of distinct terms per chunk.
        text: passage(random),
        metadata: { round, i, tags: ['bench', 'ingest'] },
        embedding: Array.from(samplePoint(shape, centres, random)),
      }));

    const rows: string[][] = [];
    const metrics: Metric[] = [];
    const keys = new TenantKeyStore(app, defaultKeyRing);
    const ctxMemory = { pool: app, dim: DIM, keys };
    const ctxNoLexical = { pool: app, dim: DIM, keys, indexLexical: false };
    for (const c of cases) {
      ctx.progress.stage(`batches of ${c.batch}: ${c.rounds} interleaved rounds`);
      const ours: number[] = [];
      const noLexical: number[] = [];
      const bare: number[] = [];
      const ratios: number[] = [];
      const lexicalRatios: number[] = [];
      // One tenant per side and case, warmed by an untimed write, so the steady state is measured
      // (a tenant's data key is created on its first write and cached after).
      const userId = `ingest-${c.batch}-${randomUUID()}`;
      await indexChunks(ctxMemory, userId, makeChunks(1, -1));
      await indexChunks(ctxNoLexical, `${userId}-no-lexical`, makeChunks(1, -1));
      await plainInsert(admin, baselineRows(`baseline-${userId}`, makeChunks(1, -1)));
      for (let round = 0; round < c.rounds; round++) {
        const chunks = makeChunks(c.batch, round);
        // The baseline's rows: same sizes as the write path's (sealed here, untimed), another tenant.
        const baseline = baselineRows(`baseline-${userId}`, chunks);
        const sideA = async (): Promise<number> => {
          const t0 = performance.now();
          await indexChunks(ctxMemory, userId, chunks);
          return c.batch / ((performance.now() - t0) / 1000);
        };
        const sideB = async (): Promise<number> => {
          const t0 = performance.now();
          await plainInsert(admin, baseline);
          return c.batch / ((performance.now() - t0) / 1000);
        };
        const sideC = async (): Promise<number> => {
          const t0 = performance.now();
          await indexChunks(ctxNoLexical, `${userId}-no-lexical`, chunks);
          return c.batch / ((performance.now() - t0) / 1000);
        };
        let a = Number.NaN;
        let b = Number.NaN;
        let cNoLex = Number.NaN;
        const sides = [
          async () => (a = await sideA()),
          async () => (b = await sideB()),
          async () => (cNoLex = await sideC()),
        ];
        for (const side of rotated(sides, round)) await side();
        ours.push(a);
        bare.push(b);
        noLexical.push(cNoLex);
        ratios.push(a / b);
        lexicalRatios.push(a / cNoLex);
        ctx.progress.tick(round + 1, c.rounds, `batch ${c.batch}`);
      }
      const r = median(ratios);
      const rLexical = median(lexicalRatios);
      rows.push([
        String(c.batch),
        String(c.rounds),
        Math.round(median(ours)).toLocaleString('en-US'),
        Math.round(median(noLexical)).toLocaleString('en-US'),
        ratio(rLexical),
        Math.round(median(bare)).toLocaleString('en-US'),
        ratio(r),
      ]);
      metrics.push({
        name: `batch_${c.batch}.write_path_without_lexical_chunks_per_s`,
        value: median(noLexical),
        unit: 'chunks/s',
        better: 'higher',
      });
      metrics.push({
        name: `batch_${c.batch}.ratio_vs_write_path_without_lexical`,
        value: rLexical,
        unit: 'x',
        better: 'higher',
        ...(c.batch >= 100 ? { goal: { op: '>=' as const, value: 0.8 } } : {}),
      });
      metrics.push({
        name: `batch_${c.batch}.write_path_chunks_per_s`,
        value: median(ours),
        unit: 'chunks/s',
        better: 'higher',
      });
      metrics.push({
        name: `batch_${c.batch}.plain_insert_rows_per_s`,
        value: median(bare),
        unit: 'rows/s',
        better: 'higher',
      });
      metrics.push({
        name: `batch_${c.batch}.ratio_vs_plain_insert`,
        value: r,
        unit: 'x',
        better: 'higher',
        ...(c.batch >= 100 ? { goal: { op: '>=' as const, value: 0.7 } } : {}),
      });
    }
    const table: Table = {
      title: `ingest: write path vs the same without the lexical index vs plain INSERT into the same table and indexes (table pre-loaded with ${base.toLocaleString('en-US')} chunks, ${DIM} dims)`,
      header: [
        'batch',
        'rounds',
        'write path chunks/s',
        'without lexical index',
        'ratio',
        'plain INSERT rows/s',
        'ratio',
      ],
      rows,
      note: 'medians over rounds; ratios = medians of per-round ratios (write path / the other); write path = validate + HMAC + tenant data key (cached) + 3 seals + analysis and keyed tokens + memory.index_chunks as memory_app; without lexical index = the same with the index switched off (the write path before it); plain = one multi-row INSERT as superuser, pre-sealed bytes',
    };
    return buildResult('ingest', ctx, startedAt, {
      settings: { base, dim: DIM, cases },
      metrics,
      tables: [table],
    });
  } finally {
    await pools.end();
    await db.drop();
  }
}

interface Row {
  userHash: string;
  id: string;
  docId: string;
  source: string;
  text: Buffer;
  meta: Buffer;
  emb: Buffer;
  vector: string;
}

/** Stands in for a tenant's data key: the baseline only needs ciphertexts of the right sizes. */
const baselineKey = generateDataKey(1);

function baselineRows(userId: string, chunks: NewChunk[]): Row[] {
  const userHash = hmacUser(userId);
  return chunks.map((c) => {
    const id = randomUUID();
    const embedding = Float32Array.from(c.embedding as number[]);
    const sealed = sealChunk(
      userHash,
      {
        id,
        docId: c.docId as string,
        source: c.source as string,
        text: c.text as string,
        metadataJson: JSON.stringify(c.metadata),
        embedding,
      },
      baselineKey,
    );
    return {
      userHash,
      id,
      docId: sealed.docId,
      source: sealed.source,
      text: sealed.textCipher,
      meta: sealed.metaCipher,
      emb: sealed.embCipher,
      vector: vectorText(embedding),
    };
  });
}

/** One INSERT ... VALUES (...), (...) statement: the least a hand-written loader would do. */
async function plainInsert(admin: Pool, rows: Row[]): Promise<void> {
  const values: unknown[] = [];
  const tuples = rows.map((r, i) => {
    values.push(r.userHash, r.id, r.docId, r.source, r.text, r.meta, r.emb, r.vector);
    const p = i * 8;
    return `($${p + 1}, $${p + 2}::uuid, $${p + 3}, $${p + 4}, $${p + 5}::bytea, $${p + 6}::bytea, $${p + 7}::bytea, $${p + 8}::public.vector, 1)`;
  });
  await admin.query(
    `insert into memory.memory_chunks (user_hash, id, doc_id, source, text_cipher, meta_cipher, emb_cipher, embedding, key_id) values ${tuples.join(', ')}`,
    values,
  );
}
