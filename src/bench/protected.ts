/**
 * Protected suite (issue 13): what protected search vectors cost, through the daemon's own write
 * and query paths (memory's indexChunks and queryMemory, in process: HTTP adds the same to both
 * sides), against the clear path of the release before in the same run (MemoryContext
 * protectVectors=false: clear search vectors written, the query searched with the clear embedding
 * by the single-vector procedure). Per tenant size (small and medium tenants take the exact shape,
 * the large one the HNSW shape), a protected tenant and a clear one get the same chunks:
 * - ingest: chunks/s of each side, batch by batch, rounds alternating which side goes first;
 * - recall@10 of the dense query (over-fetched, re-scored from the sealed embeddings, as the daemon
 *   does) against exact float32 search over the tenant's embeddings, for each over-fetch factor;
 * - latency: p50 / p95 of dense and hybrid queries on the large tenant, sides interleaved.
 */
import { randomUUID } from 'node:crypto';

import { configureCrypto, generateKeyBase64, loadCryptoConfig } from '../crypto/index.js';
import { defaultKeyRing } from '../crypto/index.js';
import { TenantKeyStore } from '../keys/tenant-key-store.js';
import {
  applyRetrievalSettings,
  indexChunks,
  type MemoryContext,
  type NewChunk,
  queryMemory,
} from '../memory/index.js';
import { planTenants, samplePoint, type TenantPlan, topicCentres } from './corpus.js';
import { type Metric, ms, ratio, type Table } from './result.js';
import { passage } from './seed.js';
import { mean, median, percentiles, rotated, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;
const K = 10;
/** The over-fetch the clear path ran with before protected vectors (issue 17's default). */
const CLEAR_OVERFETCH = 2;

export const suite: Suite = {
  name: 'protected',
  options: ['large', 'queries', 'batch', 'noise', 'overfetch', 'seed'],
  summary:
    'protected vs clear search vectors through the write and query paths: ingest chunks/s, recall@10 vs exact search, query p50/p95 (same run)',
  run: runProtected,
};

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

interface TenantPair {
  label: string;
  size: number;
  protectedUser: string;
  clearUser: string;
  /** chunk id (either side) -> the index of its embedding */
  embeddings: Float32Array[];
  idsProtected: string[];
  idsClear: string[];
  plan: TenantPlan;
}

async function runProtected(ctx: SuiteContext) {
  const startedAt = new Date();
  const large = intOption(ctx, 'large', 10_000, 100);
  const queryCount = intOption(ctx, 'queries', ctx.quick ? 40 : 100, 1);
  const batch = intOption(ctx, 'batch', 100, 1, 1000);
  const seed = intOption(ctx, 'seed', 1, 0);
  // Latency: the protected side at this over-fetch, the clear side at the release before's default.
  const overfetch = intOption(ctx, 'overfetch', 4, 1, 10);
  const noise = ctx.options.noise === undefined ? 0.25 : Number(ctx.options.noise);
  if (!(noise >= 0 && noise <= 1)) throw new RangeError('--noise must be a number from 0 to 1');
  const sizes: Array<[string, number]> = [
    ['small', Math.max(1, Math.round(large / 20))],
    ['medium', Math.max(1, Math.round(large * 0.3))],
    ['large', large],
  ];
  configureCrypto(
    loadCryptoConfig({
      MEMORY_ENCRYPTION_KEY: generateKeyBase64(),
      MEMORY_TENANT_HMAC_KEY: generateKeyBase64(),
    }),
  );
  applyRetrievalSettings({ vector_noise: noise });
  const cluster = await ctx.cluster();
  const db = await cluster.createDatabase('protected', DIM);
  const pools = db.openPools();
  const { app } = pools;
  try {
    const keys = new TenantKeyStore(app, defaultKeyRing);
    const protectedCtx: MemoryContext = { pool: app, dim: DIM, keys };
    const clearCtx: MemoryContext = { pool: app, dim: DIM, keys, protectVectors: false };
    const centres = topicCentres(DIM, seed);
    const random = seededRandom(seed * 31 + 7);
    const plans = planTenants(1000, seed);

    // Ingest: each tenant pair gets the same chunks, batch by batch, sides alternating.
    const protectedRate: number[] = [];
    const clearRate: number[] = [];
    const ingestRatios: number[] = [];
    const pairs: TenantPair[] = [];
    let round = 0;
    for (const [label, size] of sizes) {
      const plan: TenantPlan = {
        ...plans[0]!,
        size,
        topics: [0, 1, 2, 3, 4, 5].map((t) => (t + pairs.length) % 8),
      };
      const pair: TenantPair = {
        label,
        size,
        protectedUser: `protected-${label}-${randomUUID()}`,
        clearUser: `clear-${label}-${randomUUID()}`,
        embeddings: [],
        idsProtected: [],
        idsClear: [],
        plan,
      };
      ctx.progress.stage(
        `${label} tenant: writing ${size.toLocaleString('en-US')} chunks twice (protected, clear)`,
      );
      for (let done = 0; done < size; done += batch) {
        const n = Math.min(batch, size - done);
        const embeddings = Array.from({ length: n }, () => samplePoint(plan, centres, random));
        const chunks: NewChunk[] = embeddings.map((e, i) => ({
          docId: `doc-${Math.floor((done + i) / 10)}`,
          source: 'bench',
          text: passage(random),
          metadata: { i: done + i },
          embedding: Array.from(e),
        }));
        pair.embeddings.push(...embeddings);
        let p = Number.NaN;
        let c = Number.NaN;
        const sides = [
          async () => {
            const t0 = performance.now();
            pair.idsProtected.push(...(await indexChunks(protectedCtx, pair.protectedUser, chunks)));
            p = n / ((performance.now() - t0) / 1000);
          },
          async () => {
            const t0 = performance.now();
            pair.idsClear.push(...(await indexChunks(clearCtx, pair.clearUser, chunks)));
            c = n / ((performance.now() - t0) / 1000);
          },
        ];
        for (const side of rotated(sides, round++)) await side();
        // The first batch of a tenant creates its data key: not the steady state.
        if (done > 0) {
          protectedRate.push(p);
          clearRate.push(c);
          ingestRatios.push(p / c);
        }
        ctx.progress.tick(Math.min(done + batch, size), size, label);
      }
      pairs.push(pair);
    }

    // Recall@10 against exact float32 search over the tenant's own embeddings.
    const queries = (pair: TenantPair) => {
      const r = seededRandom(seed * 101 + pair.size);
      return Array.from({ length: queryCount }, () => samplePoint(pair.plan, centres, r));
    };
    const exactTop = (pair: TenantPair, q: Float32Array, ids: string[]): Set<string> =>
      new Set(
        pair.embeddings
          .map((e, i) => ({ id: ids[i]!, score: cosine(e, q) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, K)
          .map((x) => x.id),
      );
    const dense = async (
      c: MemoryContext,
      userId: string,
      q: Float32Array,
      mode: 'dense' | 'hybrid' = 'dense',
    ) =>
      queryMemory(c, {
        userId,
        query: mode === 'hybrid' ? passage(random).slice(0, 60) : 'q',
        embedding: Array.from(q),
        k: K,
        mode,
        rerank: false,
      });
    const recallRows: string[][] = [];
    const metrics: Metric[] = [];
    for (const overfetch of [1, 2, 4]) {
      applyRetrievalSettings({ vector_noise: noise, rescore_overfetch: overfetch });
      for (const pair of pairs) {
        ctx.progress.stage(`recall@10: ${pair.label} tenant, over-fetch ${overfetch}`);
        const recalls = { protected: [] as number[], clear: [] as number[] };
        for (const q of queries(pair)) {
          const truthP = exactTop(pair, q, pair.idsProtected);
          const truthC = exactTop(pair, q, pair.idsClear);
          const gotP = (await dense(protectedCtx, pair.protectedUser, q)).results.map((h) => h.id);
          const gotC = (await dense(clearCtx, pair.clearUser, q)).results.map((h) => h.id);
          recalls.protected.push(gotP.filter((id) => truthP.has(id)).length / K);
          recalls.clear.push(gotC.filter((id) => truthC.has(id)).length / K);
        }
        const rp = mean(recalls.protected);
        const rc = mean(recalls.clear);
        recallRows.push([
          pair.label,
          pair.size.toLocaleString('en-US'),
          `x${overfetch}`,
          rc.toFixed(3),
          rp.toFixed(3),
        ]);
        metrics.push({
          name: `${pair.label}.overfetch_${overfetch}.recall_at_10_protected`,
          value: rp,
          unit: 'recall',
          better: 'higher',
          ...(overfetch === 4 ? { goal: { op: '>=' as const, value: 0.98 } } : {}),
        });
        metrics.push({
          name: `${pair.label}.overfetch_${overfetch}.recall_at_10_clear`,
          value: rc,
          unit: 'recall',
          better: 'higher',
        });
      }
    }

    // Latency on the large tenant, sides interleaved per query: protected at `overfetch`, clear at
    // CLEAR_OVERFETCH (what the clear path ran with before protected vectors).
    const at = (f: number) => applyRetrievalSettings({ vector_noise: noise, rescore_overfetch: f });
    const big = pairs[pairs.length - 1]!;
    const latencyRows: string[][] = [];
    for (const mode of ['dense', 'hybrid'] as const) {
      ctx.progress.stage(`latency: ${mode} queries on the large tenant`);
      const lat = { protected: [] as number[], clear: [] as number[] };
      const qs = queries(big);
      for (let i = 0; i < 5; i++) {
        at(overfetch);
        await dense(protectedCtx, big.protectedUser, qs[i]!, mode);
        at(CLEAR_OVERFETCH);
        await dense(clearCtx, big.clearUser, qs[i]!, mode);
      }
      for (let i = 0; i < qs.length * 2; i++) {
        const q = qs[i % qs.length]!;
        const sides = [
          async () => {
            at(overfetch);
            const t0 = performance.now();
            await dense(protectedCtx, big.protectedUser, q, mode);
            lat.protected.push(performance.now() - t0);
          },
          async () => {
            at(CLEAR_OVERFETCH);
            const t0 = performance.now();
            await dense(clearCtx, big.clearUser, q, mode);
            lat.clear.push(performance.now() - t0);
          },
        ];
        for (const side of rotated(sides, i)) await side();
      }
      const p = percentiles(lat.protected);
      const c = percentiles(lat.clear);
      latencyRows.push([
        mode,
        ms(c.p50),
        ms(c.p95),
        ms(p.p50),
        ms(p.p95),
        ratio(p.p50 / c.p50),
        ratio(p.p95 / c.p95),
      ]);
      metrics.push({ name: `large.${mode}.p95_ms_protected`, value: p.p95, unit: 'ms', better: 'lower' });
      metrics.push({ name: `large.${mode}.p95_ms_clear`, value: c.p95, unit: 'ms', better: 'lower' });
      metrics.push({
        name: `large.${mode}.p95_ratio_protected_vs_clear`,
        value: p.p95 / c.p95,
        unit: 'x',
        better: 'lower',
        goal: { op: '<=' as const, value: 1.2 },
      });
    }
    const ingestRatio = median(ingestRatios);
    metrics.push({
      name: 'ingest.ratio_protected_vs_clear',
      value: ingestRatio,
      unit: 'x',
      better: 'higher',
      goal: { op: '>=' as const, value: 0.9 },
    });
    metrics.push({
      name: 'ingest.protected_chunks_per_s',
      value: median(protectedRate),
      unit: 'chunks/s',
      better: 'higher',
    });
    metrics.push({
      name: 'ingest.clear_chunks_per_s',
      value: median(clearRate),
      unit: 'chunks/s',
      better: 'higher',
    });
    const tables: Table[] = [
      {
        title: `protected: ingest through the write path, batches of ${batch} (noise ${noise})`,
        header: ['clear chunks/s', 'protected chunks/s', 'ratio'],
        rows: [
          [
            Math.round(median(clearRate)).toLocaleString('en-US'),
            Math.round(median(protectedRate)).toLocaleString('en-US'),
            ratio(ingestRatio),
          ],
        ],
        note: `medians over ${ingestRatios.length} batches (each tenant's first batch left out: it creates the data key); ratio = median of per-batch ratios; sides alternate which goes first`,
      },
      {
        title: `protected: recall@10 of the dense query vs exact float32 search (noise ${noise}, ${queryCount} queries per tenant)`,
        header: ['tenant', 'chunks', 'over-fetch', 'clear path', 'protected'],
        rows: recallRows,
        note: 'queryMemory mode dense, k 10, 24 candidates over-fetched x F and re-scored from the sealed embeddings; small and medium tenants take the exact shape, the large one HNSW (ann_exact_max_rows 5,000)',
      },
      {
        title: `protected: query latency on the ${large.toLocaleString('en-US')}-chunk tenant (protected over-fetch ${overfetch}, clear ${CLEAR_OVERFETCH}; rerank off, in process)`,
        header: [
          'mode',
          'clear p50',
          'clear p95',
          'protected p50',
          'protected p95',
          'p50 ratio',
          'p95 ratio',
        ],
        rows: latencyRows,
        note: `${queryCount * 2} queries per side after 5 warm-up each, interleaved, alternating which side goes first; ms`,
      },
    ];
    return buildResult('protected', ctx, startedAt, {
      settings: {
        large,
        queries: queryCount,
        batch,
        noise,
        overfetch,
        clearOverfetch: CLEAR_OVERFETCH,
        seed,
        dim: DIM,
      },
      metrics,
      tables,
    });
  } finally {
    applyRetrievalSettings({});
    await pools.end();
    await db.drop();
  }
}
