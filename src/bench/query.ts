/**
 * Query suite: end-to-end POST /v1/query over HTTP against a real daemon (child process, fixture
 * cross-encoder) on one tenant of 10k sealed chunks, k=8 from 24 candidates: dense with rerank on
 * and off, hybrid (ANN + BM25 over the lexical index, fused) with rerank off, and the bare
 * memory.search call the dense requests make (same database, same vector, from this process). The
 * four are interleaved per round with the order rotated.
 */
import { hmacUser } from '../crypto/index.js';
import { search } from '../db/procedures.js';
import { ensureFixtureModel } from '../models/fixture.js';
import { planTenants, samplePoint, type TenantPlan, topicCentres } from './corpus.js';
import { spawnDaemon } from './daemon.js';
import { loadCorpus } from './loader.js';
import { type Metric, ms, ratio } from './result.js';
import { benchKeys, passage, randomUserId, seedTenant } from './seed.js';
import { median, percentiles, rotated, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;

export const suite: Suite = {
  name: 'query',
  options: ['tenant', 'background', 'rounds', 'rerank-circuit-ms'],
  summary:
    'end-to-end /v1/query p50/p95/p99 on a 10k-chunk tenant: dense rerank on vs off, hybrid vs dense, vs bare memory.search',
  run: runQuery,
};

type Variant = 'rerank on' | 'rerank off' | 'hybrid' | 'bare memory.search';

async function runQuery(ctx: SuiteContext) {
  const startedAt = new Date();
  const tenantSize = intOption(ctx, 'tenant', ctx.quick ? 2_000 : 10_000, 24);
  const background = intOption(ctx, 'background', ctx.quick ? 3_000 : 20_000, 0);
  const rounds = intOption(ctx, 'rounds', ctx.quick ? 40 : 200, 5);
  // The daemon's rerank budget (RERANK_CIRCUIT_MS) when given; else the daemon's default. The smoke
  // test raises it: it checks that reranking happens, and a busy CI machine can miss 250 ms.
  const circuitMs =
    ctx.options['rerank-circuit-ms'] === undefined ? undefined : intOption(ctx, 'rerank-circuit-ms', 250);
  const cluster = await ctx.cluster();
  const db = await cluster.createDatabase('query', DIM);
  const pools = db.openPools();
  const { admin, app } = pools;
  let daemon: Awaited<ReturnType<typeof spawnDaemon>> | undefined;
  try {
    const centres = topicCentres(DIM, 3);
    const random = seededRandom(3);
    if (background > 0) {
      ctx.progress.stage(`other tenants: ${background.toLocaleString('en-US')} chunks`);
      await loadCorpus(admin, planTenants(background, 3), centres, ctx.progress, 3);
    }
    const keys = benchKeys();
    const userId = randomUserId('query-bench');
    const shape: TenantPlan = {
      userHash: '',
      size: tenantSize,
      cls: 'large',
      topics: [3, 9, 17, 25, 33, 41, 49, 57],
    };
    ctx.progress.stage(
      `seeding the tenant with ${tenantSize.toLocaleString('en-US')} sealed chunks through the write path`,
    );
    await seedTenant(app, DIM, userId, shape, tenantSize, centres, random, ctx.progress);
    await admin.query('analyze memory.memory_chunks');
    // What autovacuum does to an insert-only table soon after a bulk load: the visibility map lets
    // BM25 read postings by index-only scans (docs/RETRIEVAL.md).
    await admin.query('vacuum (analyze) memory.lexical_postings');

    ctx.progress.stage('starting the daemon (fixture reranker)');
    daemon = await spawnDaemon({
      databaseUrl: db.appUrl,
      rerankModel: await ensureFixtureModel(),
      keys,
      ...(circuitMs === undefined ? {} : { env: { RERANK_CIRCUIT_MS: String(circuitMs) } }),
    });
    const userHash = hmacUser(userId);
    const body = (embedding: number[], rerank: boolean, mode: 'dense' | 'hybrid' = 'dense') => ({
      user_id: userId,
      query: passage(random).slice(0, 80),
      embedding,
      k: 8,
      candidates: 24,
      rerank,
      mode,
    });
    const samples: Record<Variant, number[]> = {
      'rerank on': [],
      'rerank off': [],
      hybrid: [],
      'bare memory.search': [],
    };
    const stages: Record<string, number[]> = {};
    let reranked = 0;
    let errors = 0;
    const d = daemon;
    const variants: Array<[Variant, (e: number[]) => Promise<void>]> = [
      [
        'rerank on',
        async (e) => {
          const r = await d.client.request('POST', '/v1/query', body(e, true));
          if (r.status !== 200) errors++;
          const out = r.body as { reranked?: boolean; timings_ms?: Record<string, number> };
          if (out.reranked) reranked++;
          for (const [k, v] of Object.entries(out.timings_ms ?? {})) (stages[`on.${k}`] ??= []).push(v);
          samples['rerank on'].push(r.ms);
        },
      ],
      [
        'rerank off',
        async (e) => {
          const r = await d.client.request('POST', '/v1/query', body(e, false));
          if (r.status !== 200) errors++;
          const out = r.body as { timings_ms?: Record<string, number> };
          for (const [k, v] of Object.entries(out.timings_ms ?? {})) (stages[`off.${k}`] ??= []).push(v);
          samples['rerank off'].push(r.ms);
        },
      ],
      [
        'hybrid',
        async (e) => {
          const r = await d.client.request('POST', '/v1/query', body(e, false, 'hybrid'));
          if (r.status !== 200 || (r.body as { mode?: string }).mode !== 'hybrid') errors++;
          const out = r.body as { timings_ms?: Record<string, number> };
          for (const [k, v] of Object.entries(out.timings_ms ?? {})) (stages[`hybrid.${k}`] ??= []).push(v);
          samples.hybrid.push(r.ms);
        },
      ],
      [
        'bare memory.search',
        async (e) => {
          const t0 = performance.now();
          await search(app, userHash, e, { limit: 24 });
          samples['bare memory.search'].push(performance.now() - t0);
        },
      ],
    ];
    // Warm-up: the model loads lazily on the first rerank; plans and caches warm up too.
    for (let i = 0; i < 5; i++)
      for (const [, run] of variants) await run(Array.from(samplePoint(shape, centres, random)));
    for (const key of Object.keys(samples) as Variant[]) samples[key] = [];
    for (const key of Object.keys(stages)) delete stages[key];
    reranked = 0;
    errors = 0;
    ctx.progress.stage(`${rounds} interleaved rounds`);
    for (let round = 0; round < rounds; round++) {
      const e = Array.from(samplePoint(shape, centres, random));
      for (const [, run] of rotated(variants, round)) await run(e);
      ctx.progress.tick(round + 1, rounds, 'rounds');
    }

    const p = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, percentiles(v)])) as Record<
      Variant,
      ReturnType<typeof percentiles>
    >;
    const offVsBare = p['rerank off'].p95 / p['bare memory.search'].p95;
    const hybridVsDense = p.hybrid.p95 / p['rerank off'].p95;
    const metrics: Metric[] = [
      ...(['rerank on', 'rerank off', 'hybrid', 'bare memory.search'] as Variant[]).flatMap((v): Metric[] => {
        const key = v.replace(/[ .]/g, '_');
        return [
          { name: `${key}.p50_ms`, value: p[v].p50, unit: 'ms', better: 'lower' },
          { name: `${key}.p95_ms`, value: p[v].p95, unit: 'ms', better: 'lower' },
          { name: `${key}.p99_ms`, value: p[v].p99, unit: 'ms', better: 'lower' },
        ];
      }),
      {
        name: 'rerank_off_p95_vs_bare_search_p95',
        value: offVsBare,
        unit: 'x',
        better: 'lower',
        goal: { op: '<=', value: 2 },
      },
      {
        name: 'hybrid_p95_vs_dense_p95',
        value: hybridVsDense,
        unit: 'x',
        better: 'lower',
        goal: { op: '<=', value: 1.5 },
      },
      { name: 'rerank_on.reranked_fraction', value: reranked / rounds, unit: '', better: 'higher' },
      { name: 'errors', value: errors, unit: '', better: 'lower', goal: { op: '<=', value: 0 } },
    ];
    const stageRow = (mode: 'on' | 'off' | 'hybrid') =>
      ['lexical', 'search', 'fuse', 'open_text', 'rerank', 'open_metadata', 'total'].map((s) =>
        stages[`${mode}.${s}`] ? ms(median(stages[`${mode}.${s}`]!)) : '-',
      );
    return buildResult('query', ctx, startedAt, {
      settings: {
        tenantChunks: tenantSize,
        otherTenantsChunks: background,
        rounds,
        k: 8,
        candidates: 24,
        dim: DIM,
        model: 'synthetic TinyBERT-L-2 fixture, CPU',
      },
      metrics,
      tables: [
        {
          title: `query: POST /v1/query over HTTP (k=8, 24 candidates) on a ${tenantSize.toLocaleString('en-US')}-chunk tenant, ${rounds} interleaved rounds`,
          header: ['variant', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
          rows: (Object.keys(p) as Variant[]).map((v) => [
            v,
            ms(p[v].p50),
            ms(p[v].p95),
            ms(p[v].p99),
            ms(p[v].max),
          ]),
          note: `rerank on/off: mode dense; hybrid: rerank off; rerank off p95 / bare p95 = ${ratio(offVsBare)}; hybrid p95 / dense (rerank off) p95 = ${ratio(hybridVsDense)}; reranked ${reranked}/${rounds}; errors ${errors}; client and daemon and PostgreSQL share this machine's cores`,
        },
        {
          title: 'query: server-side stage medians (timings_ms)',
          header: ['mode', 'lexical', 'search', 'fuse', 'open_text', 'rerank', 'open_metadata', 'total'],
          rows: [
            ['dense, rerank on', ...stageRow('on')],
            ['dense, rerank off', ...stageRow('off')],
            ['hybrid, rerank off', ...stageRow('hybrid')],
          ],
        },
      ],
      series: { latency: samples },
    });
  } finally {
    await daemon?.stop();
    await pools.end();
    await db.drop();
  }
}
