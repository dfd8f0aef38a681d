/**
 * Filter suite: do filtered queries keep the ANN suite's recall goal? The ann suite's corpus
 * (large tenants of 10k-50k rows at the default size, searched through the HNSW index), with
 * filter tokens on the large tenants' rows at three selectivities — 1% (`rare`), 10% (`some`) and
 * 50% (`half`) of a tenant's rows — and memory.search_candidates_chunks, the procedure a filtered
 * dense query calls (the narrow halfvec layout, over-fetching 2x as the daemon does, then
 * re-scored by the exact float32 distance and cut to 10, as the daemon's rescore step does), against
 * exact filtered search in the same database (the same filter, the float32 distance `+ 0` so no
 * index serves it). The ciphertexts are fake, so re-scoring reads memory_chunks.embedding, the
 * same values the sealed embedding holds (as the ann suite's re-scored recall does). Iterative scans on (relaxed_order, the default) and off:
 * with them off, HNSW stops after ef_search candidates and a selective filter starves the result.
 * The unfiltered memory.search on the same queries is the latency baseline.
 *
 * The tokens are written directly (the rows are the ann loader's synthetic ciphertexts, which no
 * key opens): what is measured is the database side of a filter, which is all that differs from
 * an unfiltered query once the daemon has keyed the filter (microseconds of HMAC).
 */
import { searchCandidatesChunks } from '../db/filters.js';
import type { Pool } from '../db/pool.js';
import { search, setSetting } from '../db/procedures.js';
import { planTenants, samplePoint, topicCentres, vectorText } from './corpus.js';
import { loadCorpus } from './loader.js';
import { type Metric, ms, ratio } from './result.js';
import { mean, median, percentiles, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;
const K = 10;
/** The daemon's default over-fetch (rescore_overfetch 2): 2 x K dense candidates, re-scored. */
const OVERFETCH = 2;
const SELECTIVITIES = { rare: 0.01, some: 0.1, half: 0.5 } as const;
type Selectivity = keyof typeof SELECTIVITIES;
const TOKENS: Record<Selectivity, string> = { rare: '1001', some: '1002', half: '1003' };
type Mode = 'relaxed_order' | 'off';

export const suite: Suite = {
  name: 'filter',
  options: ['chunks', 'queries', 'seed', 'exact-max-rows'],
  summary:
    'recall@10 and latency of filtered ANN queries (1% / 10% / 50% of a large tenant) vs exact filtered search; iterative scans on/off',
  run: runFilter,
};

interface FilterQuery {
  userHash: string;
  vector: number[];
  exact: string[];
}

interface Run {
  recall: number[];
  latencyMs: number[];
  /** Queries answered with fewer than K rows although the filter matches at least K. */
  short: number;
}

async function runFilter(ctx: SuiteContext) {
  const startedAt = new Date();
  const chunks = intOption(ctx, 'chunks', ctx.quick ? 12_000 : 100_000, 1_000);
  const perSelectivity = intOption(ctx, 'queries', ctx.quick ? 20 : 100, 1);
  const seed = intOption(ctx, 'seed', 1, 0);
  const exactMaxRows =
    ctx.options['exact-max-rows'] === undefined
      ? ctx.quick
        ? 1_000
        : undefined
      : intOption(ctx, 'exact-max-rows', 0, 0, 1_000_000);
  const cluster = await ctx.cluster();
  ctx.progress.stage(`creating a database and loading ${chunks.toLocaleString('en-US')} chunks`);
  const db = await cluster.createDatabase('filter', DIM);
  const pools = db.openPools();
  const { admin, app } = pools;
  try {
    if (exactMaxRows !== undefined) await setSetting(admin, 'ann_exact_max_rows', exactMaxRows);
    const plans = planTenants(chunks, seed);
    const centres = topicCentres(DIM, seed);
    await loadCorpus(admin, plans, centres, ctx.progress, seed);
    const large = plans.filter((p) => p.cls === 'large');

    ctx.progress.stage('tagging the large tenants (1% / 10% / 50% of rows)');
    const tagging = await admin.connect();
    try {
      await tagging.query('select setseed($1)', [((seed % 1000) + 1) / 1001]);
      await tagging.query(
        `update memory.memory_chunks set filter_tokens = array_remove(array[
           case when random() < $2 then ${TOKENS.rare} end,
           case when random() < $3 then ${TOKENS.some} end,
           case when random() < $4 then ${TOKENS.half} end]::bigint[], null)
         where user_hash = any($1::text[])`,
        [large.map((p) => p.userHash), SELECTIVITIES.rare, SELECTIVITIES.some, SELECTIVITIES.half],
      );
      await tagging.query('analyze memory.memory_chunks');
    } finally {
      tagging.release();
    }

    ctx.progress.stage('exact filtered ground truth');
    const random = seededRandom(seed * 31 + 7);
    const queries = {} as Record<Selectivity, FilterQuery[]>;
    let done = 0;
    for (const sel of Object.keys(SELECTIVITIES) as Selectivity[]) {
      queries[sel] = [];
      for (let i = 0; i < perSelectivity; i++) {
        const tenant = large[i % large.length]!;
        const vector = samplePoint(tenant, centres, random);
        const { rows } = await admin.query<{ id: string }>(
          `select id from memory.memory_chunks where user_hash = $1 and filter_tokens && $2::bigint[]
           order by (embedding operator(public.<=>) $3::public.vector) + 0, id limit ${K}`,
          [tenant.userHash, [TOKENS[sel]], vectorText(vector)],
        );
        queries[sel].push({
          userHash: tenant.userHash,
          vector: Array.from(vector),
          exact: rows.map((r) => r.id),
        });
        ctx.progress.tick(++done, perSelectivity * 3, 'exact queries');
      }
    }

    const runs = {} as Record<Mode, Record<Selectivity, Run>>;
    const unfiltered: number[] = [];
    for (const mode of ['relaxed_order', 'off'] as Mode[]) {
      ctx.progress.stage(`memory.search_candidates_chunks with iterative scan ${mode}`);
      await setSetting(admin, 'ann_iterative_scan', mode);
      runs[mode] = {} as Record<Selectivity, Run>;
      // One untimed call: the connection's first plan of the procedure is not what we measure.
      await filtered(app, queries.some[0]!.userHash, queries.some[0]!.vector, { any: [TOKENS.some] });
      for (const sel of Object.keys(SELECTIVITIES) as Selectivity[]) {
        runs[mode][sel] = await measure(
          admin,
          app,
          queries[sel],
          { any: [TOKENS[sel]] },
          mode === 'relaxed_order' ? unfiltered : undefined,
        );
      }
    }

    const p = (values: number[]) => percentiles(values);
    const unfilteredP50 = median(unfiltered);
    const metrics: Metric[] = [];
    for (const mode of ['relaxed_order', 'off'] as Mode[]) {
      const tag = mode === 'off' ? 'iterative_off' : 'iterative_on';
      for (const sel of Object.keys(SELECTIVITIES) as Selectivity[]) {
        const r = runs[mode][sel];
        metrics.push(
          {
            name: `${sel}.${tag}.recall_at_10`,
            value: mean(r.recall),
            unit: '',
            better: 'higher',
            ...(mode === 'relaxed_order' ? { goal: { op: '>=' as const, value: 0.95 } } : {}),
          },
          { name: `${sel}.${tag}.short`, value: r.short, unit: '', better: 'lower' },
          { name: `${sel}.${tag}.p50_ms`, value: median(r.latencyMs), unit: 'ms', better: 'lower' },
        );
      }
    }
    metrics.push({ name: 'unfiltered.p50_ms', value: unfilteredP50, unit: 'ms', better: 'lower' });
    for (const sel of Object.keys(SELECTIVITIES) as Selectivity[])
      metrics.push({
        name: `${sel}.iterative_on.p50_vs_unfiltered`,
        value: median(runs.relaxed_order[sel].latencyMs) / unfilteredP50,
        unit: 'x',
        better: 'lower',
      });

    return buildResult('filter', ctx, startedAt, {
      settings: {
        chunks,
        largeTenantRows: large.map((t) => t.size),
        queriesPerSelectivity: perSelectivity,
        k: K,
        exactMaxRows: exactMaxRows ?? 'database default',
        dim: DIM,
      },
      metrics,
      tables: [
        {
          title: `filter: memory.search_candidates_chunks (${K * OVERFETCH} candidates, re-scored to ${K}) on large tenants of ${large.map((t) => t.size.toLocaleString('en-US')).join(' / ')} rows vs exact filtered search`,
          header: [
            'filter',
            'iterative scan',
            'recall@10',
            'min',
            'short',
            'p50 ms',
            'p95 ms',
            'p50 vs unfiltered',
          ],
          rows: (['relaxed_order', 'off'] as Mode[]).flatMap((mode) =>
            (Object.keys(SELECTIVITIES) as Selectivity[]).map((sel) => {
              const r = runs[mode][sel];
              const lat = p(r.latencyMs);
              return [
                `${sel} (${SELECTIVITIES[sel] * 100}%)`,
                mode,
                mean(r.recall).toFixed(3),
                Math.min(...r.recall).toFixed(2),
                String(r.short),
                ms(lat.p50),
                ms(lat.p95),
                ratio(lat.p50 / unfilteredP50),
              ];
            }),
          ),
          note: `unfiltered memory.search (limit ${K}) on the same queries: p50 ${ms(unfilteredP50)} ms; short = fewer than ${K} rows although the filter matches more; recall = mean over queries`,
        },
      ],
    });
  } finally {
    await pools.end();
    await db.drop();
  }
}

function recall(found: string[], exact: string[]): number {
  if (exact.length === 0) return 1;
  const truth = new Set(exact);
  return found.filter((id) => truth.has(id)).length / exact.length;
}

/** The filtered dense first stage as the daemon calls it (no tokens: dense side only). */
function filtered(app: Pool, userHash: string, vector: number[], filter: unknown) {
  return searchCandidatesChunks(
    app,
    userHash,
    vector,
    [],
    null,
    { denseLimit: K * OVERFETCH, lexicalLimit: K },
    filter,
  );
}

async function measure(
  admin: Pool,
  app: Pool,
  queries: FilterQuery[],
  filter: unknown,
  unfiltered?: number[],
): Promise<Run> {
  const run: Run = { recall: [], latencyMs: [], short: 0 };
  for (const q of queries) {
    if (unfiltered) {
      const t0 = performance.now();
      await search(app, q.userHash, q.vector, { limit: K });
      unfiltered.push(performance.now() - t0);
    }
    const t1 = performance.now();
    const rows = await filtered(app, q.userHash, q.vector, filter);
    run.latencyMs.push(performance.now() - t1);
    // The daemon's re-scoring: exact float32 distance over the candidates, cut to K.
    const { rows: rescored } = await admin.query<{ id: string }>(
      `select id from memory.memory_chunks where user_hash = $1 and id = any($2::uuid[])
       order by (embedding operator(public.<=>) $3::public.vector) + 0, id limit ${K}`,
      [q.userHash, rows.map((r) => r.id), vectorText(Float32Array.from(q.vector))],
    );
    run.recall.push(
      recall(
        rescored.map((r) => r.id),
        q.exact,
      ),
    );
    if (rescored.length < q.exact.length) run.short++;
  }
  return run;
}
