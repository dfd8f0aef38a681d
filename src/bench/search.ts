/**
 * Search-layout suite (issue 17): the narrow halfvec layout (memory.chunk_vectors) with exact
 * re-scoring against the wide layout it replaces (memory_chunks' float32 column), in one run on
 * one database, through the product's own paths: POST /v1/query on a real daemon (embedder on,
 * rerank off), memory.search_layout switched between blocks of requests.
 *
 * - 5k-chunk tenant (exact path): /v1/query p50 and timings_ms.search per layout, against a bare
 *   halfvec scan of the same vectors in a narrow table without RLS or procedure (superuser SQL),
 *   and against the procedure's own dense query run as superuser SQL (the scan plus the
 *   candidates' ciphertexts, which the daemon needs and the bare scan does not return);
 * - recall@10 of /v1/query (re-scored) against exact float32 search in SQL, on the exact path and
 *   on the HNSW path of a large tenant, per ef_search, so the layouts compare at equal recall;
 * - storage per chunk: the wide table alone (before), with the narrow table (this release), and
 *   without memory_chunks.embedding and its HNSW index (the contract release that drops them).
 *
 * "Before" is the wide layout with re-scoring left on at an over-fetch of 1 (the candidates the
 * daemon asked for before, plus their sealed embeddings and an exact re-sort): the code of the
 * previous release is not run, so the wide path pays a few microseconds it did not pay then.
 */
import { hmacUser } from '../crypto/index.js';
import type { Pool } from '../db/pool.js';
import { setSetting } from '../db/procedures.js';
import { bundledModelDir } from '../models/repo-paths.js';
import { planTenants, samplePoint, type TenantPlan, topicCentres, vectorText } from './corpus.js';
import { spawnDaemon } from './daemon.js';
import type { HttpClient } from './http.js';
import { loadCorpus } from './loader.js';
import { type Metric, ms, ratio, type Table } from './result.js';
import { benchKeys, passage, randomUserId, seedTenant } from './seed.js';
import { mean, median, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

/** USE-lite's dimension: the daemon embeds the query text (embedder on). */
const DIM = 512;
type Layout = 'chunks' | 'vectors';
const LAYOUTS: Layout[] = ['chunks', 'vectors'];
const LABEL: Record<Layout, string> = { chunks: 'wide (before)', vectors: 'narrow halfvec + re-scoring' };

export const suite: Suite = {
  name: 'search',
  options: ['tenant', 'hnsw-tenant', 'background', 'rounds', 'queries'],
  summary:
    'narrow halfvec search layout + re-scoring vs the wide layout: /v1/query p50, search stage vs a bare halfvec scan, HNSW at equal recall, recall@10, storage per chunk',
  run: runSearch,
};

async function runSearch(ctx: SuiteContext) {
  const startedAt = new Date();
  const tenantSize = intOption(ctx, 'tenant', 5_000, 24);
  const hnswSize = intOption(ctx, 'hnsw-tenant', ctx.quick ? 8_000 : 50_000, 0);
  const background = intOption(ctx, 'background', ctx.quick ? 3_000 : 20_000, 0);
  const rounds = intOption(ctx, 'rounds', ctx.quick ? 40 : 200, 4);
  const queries = intOption(ctx, 'queries', ctx.quick ? 20 : 50, 2);
  const embedModel = bundledModelDir('universal-sentence-encoder-lite');
  if (!embedModel)
    throw new Error('the bundled USE-lite model is missing (models/universal-sentence-encoder-lite)');
  const cluster = await ctx.cluster();
  const db = await cluster.createDatabase('search', DIM);
  const pools = db.openPools();
  const { admin, app } = pools;
  let daemon: Awaited<ReturnType<typeof spawnDaemon>> | undefined;
  try {
    const centres = topicCentres(DIM, 5);
    const random = seededRandom(5);
    if (background > 0) {
      ctx.progress.stage(`other tenants: ${background.toLocaleString('en-US')} chunks`);
      await loadCorpus(admin, planTenants(background, 5), centres, ctx.progress, 5);
    }
    const keys = benchKeys();
    const small = randomUserId('search-5k');
    const large = randomUserId('search-hnsw');
    const shape = (topics: number[]): TenantPlan => ({ userHash: '', size: 0, cls: 'large', topics });
    const smallShape = shape([2, 7, 11, 19, 23]);
    const largeShape = shape([3, 9, 17, 25, 33, 41, 49, 57]);
    ctx.progress.stage(`seeding ${tenantSize.toLocaleString('en-US')} sealed chunks through the write path`);
    await seedInSmallBatches(app, small, smallShape, tenantSize, centres, random, ctx);
    if (hnswSize > 0) {
      ctx.progress.stage(`seeding ${hnswSize.toLocaleString('en-US')} sealed chunks (HNSW tenant)`);
      await seedInSmallBatches(app, large, largeShape, hnswSize, centres, random, ctx);
    }
    // What autovacuum does soon after a bulk load: statistics and the visibility map.
    await admin.query('vacuum (analyze) memory.memory_chunks, memory.chunk_vectors, memory.lexical_postings');
    const smallHash = hmacUser(small);
    const largeHash = hmacUser(large);

    // The bare scan: the same halfvec vectors in a narrow table of their own, no tenant column,
    // no RLS, no procedure, superuser SQL from this process.
    await admin.query('drop table if exists public.bench_bare_halfvec');
    // CREATE TABLE AS takes no parameters; the hash is our own HMAC output (64 hex characters).
    if (!/^[0-9a-f]{64}$/.test(smallHash)) throw new Error('unexpected tenant hash');
    await admin.query(
      `create table public.bench_bare_halfvec as select id, embedding from memory.chunk_vectors where user_hash = '${smallHash}'`,
    );
    await admin.query('vacuum (analyze) public.bench_bare_halfvec');
    const storage = await storagePerChunk(admin);

    ctx.progress.stage('starting the daemon (USE-lite embedder, rerank off)');
    daemon = await spawnDaemon({
      databaseUrl: db.appUrl,
      keys,
      env: { MEMVAULT_EMBED_MODEL: embedModel, MEMVAULT_EMBED_DEVICE: 'cpu' },
    });
    const client = daemon.client;
    const useLayout = async (layout: Layout): Promise<void> => {
      await admin.query(`update memory.settings set value = to_jsonb($1::text) where key = 'search_layout'`, [
        layout,
      ]);
      await setSetting(admin, 'rescore_overfetch', layout === 'chunks' ? 1 : 2);
      // The over-fetch is a live setting: give the daemon's listener time to apply it.
      await new Promise((r) => setTimeout(r, 300));
    };

    // 1. The 5k tenant: /v1/query (text, embedder on) per layout in alternating blocks.
    const latency: Record<Layout, number[]> = { chunks: [], vectors: [] };
    const searchStage: Record<Layout, number[]> = { chunks: [], vectors: [] };
    const embedStage: Record<Layout, number[]> = { chunks: [], vectors: [] };
    const hybrid: Record<Layout, number[]> = { chunks: [], vectors: [] };
    const bare: number[] = [];
    // The bare scan plus what the daemon must get back for each candidate (its text, metadata and
    // sealed float32 embedding): the dense query the procedure runs, as superuser SQL without the
    // procedure, RLS or a transaction. The search stage's distance to this is the per-call cost of
    // the procedure path; its distance to the bare scan is the cost of returning the candidates.
    const bareWithCiphertexts: number[] = [];
    const denseSql = (
      await admin.query<{ q: string }>(
        "select replace(memory.dense_search_sql(false, false, true, true), '$2', '$2::public.halfvec') as q",
      )
    ).rows[0]!.q;
    let errors = 0;
    const blocks = 4;
    const perBlock = Math.max(1, Math.round(rounds / blocks));
    const text = () => passage(random).slice(0, 80);
    for (const layout of LAYOUTS) {
      await useLayout(layout);
      for (let i = 0; i < 5; i++) await queryText(client, small, text(), 'dense');
    }
    ctx.progress.stage(`${blocks * 2} alternating blocks of ${perBlock} queries`);
    let done = 0;
    for (let block = 0; block < blocks; block++) {
      for (const layout of block % 2 ? [...LAYOUTS].reverse() : LAYOUTS) {
        await useLayout(layout);
        for (let i = 0; i < perBlock; i++) {
          const r = await queryText(client, small, text(), 'dense');
          if (!r.ok) errors++;
          latency[layout].push(r.ms);
          searchStage[layout].push(r.timings.search ?? Number.NaN);
          embedStage[layout].push(r.timings.embed ?? Number.NaN);
          const h = await queryText(client, small, text(), 'hybrid');
          if (!h.ok) errors++;
          hybrid[layout].push(h.ms);
          // The bare scan, interleaved with the daemon's calls.
          const v = vectorText(samplePoint(smallShape, centres, random));
          const t0 = performance.now();
          await admin.query(
            'select id, (embedding operator(public.<=>) $1::public.halfvec) + 0 as d from public.bench_bare_halfvec order by d limit 48',
            [v],
          );
          bare.push(performance.now() - t0);
          const t1 = performance.now();
          await admin.query(denseSql, [smallHash, v, 48]);
          bareWithCiphertexts.push(performance.now() - t1);
          ctx.progress.tick(++done, blocks * 2 * perBlock, 'queries');
        }
      }
    }

    // 2. Recall@10 of /v1/query against exact float32 search, exact path (5k) and HNSW path.
    ctx.progress.stage('recall@10 against exact float32 search');
    const smallQueries = await exactQueries(admin, smallHash, smallShape, centres, random, queries);
    const recallSmall: Record<Layout, number> = { chunks: 0, vectors: 0 };
    for (const layout of LAYOUTS) {
      await useLayout(layout);
      const recalls: number[] = [];
      for (const q of smallQueries) recalls.push((await queryVector(client, small, q)).recall);
      recallSmall[layout] = mean(recalls);
    }
    const efs = ctx.quick ? [40, 100, 400] : [40, 100, 200, 400];
    const sweep: Array<{ layout: Layout; ef: number; recall: number; p50: number; search: number }> = [];
    if (hnswSize > 0) {
      ctx.progress.stage(
        `HNSW path on the ${hnswSize.toLocaleString('en-US')}-chunk tenant: ef_search sweep`,
      );
      const largeQueries = await exactQueries(admin, largeHash, largeShape, centres, random, queries);
      for (const ef of efs) {
        await setSetting(admin, 'ann_ef_search', ef);
        for (const layout of LAYOUTS) {
          await useLayout(layout);
          await queryVector(client, large, largeQueries[0]!);
          const runs: Array<{ recall: number; ms: number; search: number }> = [];
          for (const q of largeQueries) runs.push(await queryVector(client, large, q));
          sweep.push({
            layout,
            ef,
            recall: mean(runs.map((r) => r.recall)),
            p50: median(runs.map((r) => r.ms)),
            search: median(runs.map((r) => r.search)),
          });
        }
      }
      await admin.query("select memory.reset_setting('ann_ef_search')");
    }
    await useLayout('vectors');
    await admin.query("select memory.reset_setting('rescore_overfetch')");

    const p50 = (layout: Layout) => median(latency[layout]);
    const stage = (layout: Layout) => median(searchStage[layout]);
    const bareP50 = median(bare);
    const bareWithCiphertextsP50 = median(bareWithCiphertexts);
    // At equal recall: today's default ef (400) on the wide layout, against the cheapest ef at
    // which the narrow layout reaches at least that recall.
    const wideAt400 = sweep.find((s) => s.layout === 'chunks' && s.ef === 400);
    const narrowMatch = sweep
      .filter((s) => s.layout === 'vectors' && wideAt400 && s.recall >= wideAt400.recall - 1e-9)
      .sort((a, b) => a.search - b.search)[0];
    const metrics: Metric[] = [
      { name: 'exact.query_p50_ms.before', value: p50('chunks'), unit: 'ms', better: 'lower' },
      { name: 'exact.query_p50_ms.after', value: p50('vectors'), unit: 'ms', better: 'lower' },
      {
        name: 'exact.query_p50_after_vs_before',
        value: p50('vectors') / p50('chunks'),
        unit: 'x',
        better: 'lower',
        goal: { op: '<=', value: 0.6 },
      },
      { name: 'exact.search_stage_p50_ms.before', value: stage('chunks'), unit: 'ms', better: 'lower' },
      { name: 'exact.search_stage_p50_ms.after', value: stage('vectors'), unit: 'ms', better: 'lower' },
      { name: 'exact.bare_halfvec_scan_p50_ms', value: bareP50, unit: 'ms', better: 'lower' },
      {
        name: 'exact.search_stage_vs_bare_halfvec_scan',
        value: stage('vectors') / bareP50,
        unit: 'x',
        better: 'lower',
        goal: { op: '<=', value: 1.5 },
      },
      {
        name: 'exact.bare_scan_with_ciphertexts_p50_ms',
        value: bareWithCiphertextsP50,
        unit: 'ms',
        better: 'lower',
      },
      {
        name: 'exact.search_stage_vs_bare_scan_with_ciphertexts',
        value: stage('vectors') / bareWithCiphertextsP50,
        unit: 'x',
        better: 'lower',
      },
      {
        name: 'exact.recall_at_10_rescored',
        value: recallSmall.vectors,
        unit: '',
        better: 'higher',
        goal: { op: '>=', value: 0.99 },
      },
      ...sweep.map((s): Metric => ({
        name: `hnsw.${s.layout}.ef${s.ef}.recall_at_10`,
        value: s.recall,
        unit: '',
        better: 'higher',
      })),
      ...sweep.map((s): Metric => ({
        name: `hnsw.${s.layout}.ef${s.ef}.search_stage_p50_ms`,
        value: s.search,
        unit: 'ms',
        better: 'lower',
      })),
      ...(wideAt400 && narrowMatch
        ? [
            {
              name: 'hnsw.speedup_at_equal_recall',
              value: wideAt400.search / narrowMatch.search,
              unit: 'x',
              better: 'higher' as const,
              goal: { op: '>=' as const, value: 2 },
            },
          ]
        : []),
      { name: 'storage.bytes_per_chunk.before', value: storage.before, unit: 'B', better: 'lower' },
      { name: 'storage.bytes_per_chunk.after', value: storage.after, unit: 'B', better: 'lower' },
      { name: 'storage.bytes_per_chunk.contract', value: storage.contract, unit: 'B', better: 'lower' },
      { name: 'errors', value: errors, unit: '', better: 'lower', goal: { op: '<=', value: 0 } },
    ];
    const tables: Table[] = [
      {
        title: `search: POST /v1/query (k=8, 24 candidates, embedder on, rerank off) on a ${tenantSize.toLocaleString('en-US')}-chunk tenant (exact path)`,
        header: [
          'layout',
          'dense p50 ms',
          'search stage p50 ms',
          'embed p50 ms',
          'hybrid p50 ms',
          'recall@10',
        ],
        rows: LAYOUTS.map((l) => [
          LABEL[l],
          ms(p50(l)),
          ms(stage(l)),
          ms(median(embedStage[l])),
          ms(median(hybrid[l])),
          recallSmall[l].toFixed(3),
        ]),
        note:
          `bare halfvec scan of the same ${tenantSize} vectors (narrow table, no RLS, superuser) p50 ${ms(bareP50)} ms; ` +
          `search stage / bare = ${ratio(stage('vectors') / bareP50)} (before: ${ratio(stage('chunks') / bareP50)}); ` +
          `the same scan returning the 48 candidates' ciphertexts (the procedure's dense query as superuser SQL) p50 ${ms(bareWithCiphertextsP50)} ms, ` +
          `search stage / that = ${ratio(stage('vectors') / bareWithCiphertextsP50)}; ` +
          `dense p50 after / before = ${ratio(p50('vectors') / p50('chunks'))}; ${blocks * 2} alternating blocks of ${perBlock}; ` +
          `recall@10 of ${queries} queries (embedding given) against exact float32 search in SQL; errors ${errors}`,
      },
      ...(sweep.length
        ? [
            {
              title: `search: HNSW path, ${hnswSize.toLocaleString('en-US')}-chunk tenant, /v1/query dense k=10 (embedding given), ef_search sweep`,
              header: ['ef_search', ...LAYOUTS.flatMap((l) => [`${l} recall@10`, `${l} search p50 ms`])],
              rows: efs.map((ef) => [
                String(ef),
                ...LAYOUTS.flatMap((l) => {
                  const s = sweep.find((x) => x.layout === l && x.ef === ef)!;
                  return [s.recall.toFixed(3), ms(s.search)];
                }),
              ]),
              note:
                wideAt400 && narrowMatch
                  ? `equal recall: wide at ef 400 (recall ${wideAt400.recall.toFixed(3)}, ${ms(wideAt400.search)} ms) vs narrow at ef ${narrowMatch.ef} (recall ${narrowMatch.recall.toFixed(3)}, ${ms(narrowMatch.search)} ms): ${ratio(wideAt400.search / narrowMatch.search)} faster; recall vs exact float32 over the tenant, after re-scoring`
                  : 'the narrow layout did not reach the wide layout’s recall at ef 400 at any ef tried',
            },
          ]
        : []),
      {
        title: 'search: storage per chunk (all tenants, heap + TOAST + indexes)',
        header: ['layout', 'bytes per chunk'],
        rows: [
          [
            'before: memory_chunks alone (wide rows, float32 vector, its HNSW)',
            String(Math.round(storage.before)),
          ],
          [
            'this release: + memory.chunk_vectors (halfvec, primary key, HNSW)',
            String(Math.round(storage.after)),
          ],
          [
            'contract release: without memory_chunks.embedding and its HNSW index',
            String(Math.round(storage.contract)),
          ],
        ],
        note: `${storage.chunks} chunks; the lexical index is not counted (unchanged by this layout)`,
      },
    ];
    return buildResult('search', ctx, startedAt, {
      settings: {
        tenantChunks: tenantSize,
        hnswTenantChunks: hnswSize,
        otherTenantsChunks: background,
        rounds: blocks * perBlock,
        queries,
        dim: DIM,
        embedder: 'USE-lite, CPU',
        overfetch: { before: 1, after: 2 },
      },
      metrics,
      tables,
      series: { latency, searchStage, bare, bareWithCiphertexts, hnswSweep: sweep },
    });
  } finally {
    await daemon?.stop();
    await pools.end();
    await db.drop();
  }
}

/**
 * seedTenant in calls of 250 chunks: each batch is one statement that inserts into two HNSW
 * indexes, and on a busy shared machine a batch of 1,000 can outlast the statement timeout.
 */
async function seedInSmallBatches(
  app: Pool,
  userId: string,
  shape: TenantPlan,
  size: number,
  centres: Float32Array[],
  random: () => number,
  ctx: SuiteContext,
): Promise<void> {
  for (let done = 0; done < size; done += 250) {
    await seedTenant(app, DIM, userId, shape, Math.min(250, size - done), centres, random);
    ctx.progress.tick(Math.min(done + 250, size), size, `seeding ${userId.slice(0, 14)}`);
  }
}

interface ExactQuery {
  vector: number[];
  exact10: string[];
}

/** Query vectors near the tenant's topics, with their exact float32 top 10 (superuser SQL). */
async function exactQueries(
  admin: Pool,
  userHash: string,
  plan: TenantPlan,
  centres: Float32Array[],
  random: () => number,
  n: number,
): Promise<ExactQuery[]> {
  const out: ExactQuery[] = [];
  for (let i = 0; i < n; i++) {
    const vector = Array.from(samplePoint(plan, centres, random));
    const { rows } = await admin.query<{ id: string }>(
      'select id from memory.memory_chunks where user_hash = $1 order by (embedding operator(public.<=>) $2::public.vector) + 0, id limit 10',
      [userHash, vectorText(Float32Array.from(vector))],
    );
    out.push({ vector, exact10: rows.map((r) => r.id) });
  }
  return out;
}

async function queryText(client: HttpClient, userId: string, query: string, mode: 'dense' | 'hybrid') {
  const r = await client.request('POST', '/v1/query', {
    user_id: userId,
    query,
    k: 8,
    candidates: 24,
    rerank: false,
    mode,
  });
  const body = r.body as { timings_ms?: Record<string, number> };
  return { ok: r.status === 200, ms: r.ms, timings: body.timings_ms ?? {} };
}

async function queryVector(client: HttpClient, userId: string, q: ExactQuery) {
  const r = await client.request('POST', '/v1/query', {
    user_id: userId,
    query: 'recall probe',
    embedding: q.vector,
    k: 10,
    candidates: 24,
    rerank: false,
    mode: 'dense',
  });
  const body = r.body as { results?: Array<{ id: string }>; timings_ms?: Record<string, number> };
  const truth = new Set(q.exact10);
  const found = (body.results ?? []).map((h) => h.id);
  return {
    recall: found.filter((id) => truth.has(id)).length / q.exact10.length,
    ms: r.ms,
    search: body.timings_ms?.search ?? Number.NaN,
  };
}

/** Bytes per chunk of each layout, from relation sizes (heap, TOAST and indexes). */
async function storagePerChunk(admin: Pool) {
  const { rows } = await admin.query<{
    chunks: string;
    wide: string;
    narrow: string;
    wide_hnsw: string;
    embedding_bytes: string;
  }>(
    `select (select count(*) from memory.memory_chunks) as chunks,
            pg_total_relation_size('memory.memory_chunks') as wide,
            pg_total_relation_size('memory.chunk_vectors') as narrow,
            pg_relation_size('memory.memory_chunks_embedding_hnsw_idx') as wide_hnsw,
            (select coalesce(sum(pg_column_size(embedding)), 0) from memory.memory_chunks) as embedding_bytes`,
  );
  const r = rows[0]!;
  const chunks = Number(r.chunks);
  const per = (bytes: number) => bytes / Math.max(chunks, 1);
  return {
    chunks,
    before: per(Number(r.wide)),
    after: per(Number(r.wide) + Number(r.narrow)),
    contract: per(Number(r.wide) + Number(r.narrow) - Number(r.wide_hnsw) - Number(r.embedding_bytes)),
  };
}
