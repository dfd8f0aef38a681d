/**
 * ANN suite: recall and latency of memory.search on a synthetic skewed corpus, with pgvector's
 * iterative index scans on (relaxed_order, the default) and off, an ef_search sweep, and the
 * overhead of RLS + the procedure wrapper against the same SQL run by a superuser (RLS bypassed).
 *
 * Ground truth is exact search in the database itself: the same ORDER BY with `+ 0` added to the
 * distance, which no index can serve, so PostgreSQL computes every distance of the tenant and
 * sorts. The suite checks the exact plan really avoids the HNSW index before trusting it.
 */
import { HNSW_INDEX } from '../db/plans.js';
import type { Pool } from '../db/pool.js';
import { indexesInPlan, type PlanNode, search, setSetting } from '../db/procedures.js';
import {
  planTenants,
  samplePoint,
  type TenantClass,
  type TenantPlan,
  topicCentres,
  vectorText,
} from './corpus.js';
import { loadCorpus } from './loader.js';
import type { SweepSeries } from './plots.js';
import { type Metric, ms, ratio, type Table } from './result.js';
import { mean, median, percentiles, rotated, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;
const CLASSES: TenantClass[] = ['small', 'medium', 'large'];
type Mode = 'relaxed_order' | 'off';

interface Query {
  plan: TenantPlan;
  vector: string;
  exact10: string[];
  exact24: string[];
}

interface ClassRun {
  recall10: number[];
  recall24: number[];
  latencyMs: number[];
  /** Queries that got fewer rows than asked although the tenant has enough. */
  short: number;
}

export const suite: Suite = {
  name: 'ann',
  options: ['chunks', 'queries', 'seed', 'exact-max-rows'],
  summary:
    'recall@10/@24 and latency of memory.search vs exact search; iterative scans on/off; ef_search sweep; RLS overhead',
  run: runAnn,
};

async function runAnn(ctx: SuiteContext) {
  const startedAt = new Date();
  const chunks = intOption(ctx, 'chunks', ctx.quick ? 12_000 : 100_000, 1_000);
  const perClass = intOption(ctx, 'queries', ctx.quick ? 20 : 100, 1);
  const seed = intOption(ctx, 'seed', 1, 0);
  // Lowers the tenant size above which memory.search takes the HNSW shape, so a small corpus
  // (the CI smoke) still measures the HNSW path. Unset: the database's own default.
  const exactMaxRows =
    ctx.options['exact-max-rows'] === undefined
      ? undefined
      : intOption(ctx, 'exact-max-rows', 0, 0, 1_000_000);
  const cluster = await ctx.cluster();
  ctx.progress.stage(`creating a database and loading ${chunks.toLocaleString('en-US')} chunks`);
  const db = await cluster.createDatabase('ann', DIM);
  const pools = db.openPools();
  const { admin, app } = pools;
  try {
    // Read before any override: what memory.search uses on a database nobody has tuned.
    const efSearch = await defaultEfSearch(admin);
    if (exactMaxRows !== undefined) await setSetting(admin, 'ann_exact_max_rows', exactMaxRows);
    const plans = planTenants(chunks, seed);
    const centres = topicCentres(DIM, seed);
    const load = await loadCorpus(admin, plans, centres, ctx.progress, seed);

    ctx.progress.stage('exact ground truth');
    const queries = await buildQueries(admin, plans, centres, perClass, seed, ctx);
    const shapes = await shapesByClass(admin, queries);
    // One untimed pass through the index, so the first mode measured does not pay for a cold cache.
    for (const cls of CLASSES) await measureClass(app, queries[cls], ctx, `warm-up ${cls}`, false);

    const runs = {} as Record<Mode, Record<TenantClass, ClassRun>>;
    for (const mode of ['relaxed_order', 'off'] as Mode[]) {
      ctx.progress.stage(`memory.search with iterative scan ${mode}`);
      await setSetting(admin, 'ann_iterative_scan', mode);
      await setSetting(admin, 'ann_ef_search', efSearch);
      runs[mode] = {} as Record<TenantClass, ClassRun>;
      for (const cls of CLASSES)
        runs[mode][cls] = await measureClass(app, queries[cls], ctx, `${mode} ${cls}`);
    }

    ctx.progress.stage("recall@10 after re-scoring (the daemon's over-fetch of 2 x 24 candidates)");
    const rescored = {} as Record<TenantClass, number>;
    for (const cls of CLASSES) rescored[cls] = await rescoredRecall(admin, app, queries[cls]);

    ctx.progress.stage('RLS overhead: memory.search / SQL under RLS / SQL as superuser');
    await setSetting(admin, 'ann_iterative_scan', 'relaxed_order');
    const rls = {} as Record<TenantClass, Overhead>;
    for (const cls of CLASSES) rls[cls] = await measureOverhead(admin, app, queries[cls], efSearch);

    ctx.progress.stage('ef_search sweep');
    const efs = ctx.quick ? [20, 40, 100, 200] : [10, 20, 40, 64, 100, 200, 400];
    const sweep: SweepSeries[] = [];
    for (const [cls, mode] of [
      ['large', 'relaxed_order'],
      ['medium', 'relaxed_order'],
      ['large', 'off'],
    ] as Array<[TenantClass, Mode]>) {
      await setSetting(admin, 'ann_iterative_scan', mode);
      const points: SweepSeries['points'] = [];
      for (const ef of efs) {
        await setSetting(admin, 'ann_ef_search', ef);
        const r = await measureClass(app, queries[cls], ctx, `sweep ${cls} ${mode} ef ${ef}`, false);
        points.push({ x: median(r.latencyMs), y: mean(r.recall10), tag: `ef ${ef}` });
      }
      sweep.push({ label: `${cls}, iterative ${mode}`, points });
    }
    await setSetting(admin, 'ann_iterative_scan', 'relaxed_order');
    await setSetting(admin, 'ann_ef_search', efSearch);

    const sizes = Object.fromEntries(
      CLASSES.map((cls) => [cls, plans.filter((p) => p.cls === cls).map((p) => p.size)]),
    );
    return buildResult('ann', ctx, startedAt, {
      settings: {
        chunks,
        dim: DIM,
        seed,
        queriesPerClass: perClass,
        tenants: Object.fromEntries(
          CLASSES.map((cls) => [
            cls,
            {
              count: sizes[cls]!.length,
              minSize: Math.min(...sizes[cls]!),
              maxSize: Math.max(...sizes[cls]!),
            },
          ]),
        ),
        efSearchDefault: efSearch,
        exactMaxRows: exactMaxRows ?? 'database default',
        searchShapes: shapes,
        candidates: 24,
        load: {
          insertS: round1(load.insertS),
          indexBuildS: round1(load.indexS),
          rowsPerS: Math.round(load.rows / load.insertS),
        },
      },
      metrics: [
        ...annMetrics(runs, rls, load),
        ...CLASSES.map((cls): Metric => ({
          name: `${cls}.iterative_on.recall_at_10_rescored`,
          value: rescored[cls],
          unit: '',
          better: 'higher',
          // Tenants on the exact path must come back exact; HNSW's own misses stay misses.
          ...(cls === 'large' ? {} : { goal: { op: '>=' as const, value: 0.99 } }),
        })),
      ],
      tables: annTables(runs, rls, sweep, plans, load, efSearch, exactMaxRows),
      series: {
        latency: Object.fromEntries(
          CLASSES.flatMap((cls) => [
            [`${cls}, iterative on`, runs.relaxed_order[cls].latencyMs],
            [`${cls}, iterative off`, runs.off[cls].latencyMs],
          ]),
        ),
        sweep,
      },
    });
  } finally {
    await pools.end();
    await db.drop();
  }
}

/** perClass queries per class, spread over that class's tenants, with exact top-10/24 ids. */
async function buildQueries(
  admin: Pool,
  plans: TenantPlan[],
  centres: Float32Array[],
  perClass: number,
  seed: number,
  ctx: SuiteContext,
) {
  const random = seededRandom(seed * 101 + 3);
  const out = {} as Record<TenantClass, Query[]>;
  const exactSql =
    'select id from memory.memory_chunks where user_hash = $1 order by (embedding operator(public.<=>) $2::public.vector) + 0, id limit $3';
  const plan = await admin.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
    `explain (format json) ${exactSql}`,
    [plans[0]!.userHash, vectorText(samplePoint(plans[0]!, centres, random)), 24],
  );
  if (indexesInPlan(plan.rows[0]!['QUERY PLAN'][0]!.Plan).includes(HNSW_INDEX)) {
    throw new Error('the exact-search query uses the HNSW index: ground truth would not be exact');
  }
  let done = 0;
  for (const cls of CLASSES) {
    // Tenants with at least 24 rows, so recall@24 is defined.
    const tenants = plans.filter((p) => p.cls === cls && p.size >= 24);
    out[cls] = [];
    for (let i = 0; i < perClass; i++) {
      const tenant = tenants[Math.floor(random() * tenants.length)]!;
      const vector = vectorText(samplePoint(tenant, centres, random));
      const { rows } = await admin.query<{ id: string }>(exactSql, [tenant.userHash, vector, 24]);
      const ids = rows.map((r) => r.id);
      out[cls].push({ plan: tenant, vector, exact10: ids.slice(0, 10), exact24: ids });
      ctx.progress.tick(++done, perClass * CLASSES.length, 'exact queries');
    }
  }
  return out;
}

function recall(found: string[], exact: string[]): number {
  const truth = new Set(exact);
  return found.filter((id) => truth.has(id)).length / exact.length;
}

async function measureClass(
  app: Pool,
  queries: Query[],
  ctx: SuiteContext,
  label: string,
  both = true,
): Promise<ClassRun> {
  const run: ClassRun = { recall10: [], recall24: [], latencyMs: [], short: 0 };
  // One untimed call first: the connection's first plan of the procedure is not what we measure.
  await search(app, queries[0]!.plan.userHash, vecOf(queries[0]!), { limit: 24 });
  let i = 0;
  for (const q of queries) {
    const t0 = performance.now();
    const rows10 = await search(app, q.plan.userHash, vecOf(q), { limit: 10 });
    const t10 = performance.now() - t0;
    run.recall10.push(
      recall(
        rows10.map((r) => r.id),
        q.exact10,
      ),
    );
    if (both) {
      const t1 = performance.now();
      const rows24 = await search(app, q.plan.userHash, vecOf(q), { limit: 24 });
      run.latencyMs.push(performance.now() - t1);
      run.recall24.push(
        recall(
          rows24.map((r) => r.id),
          q.exact24,
        ),
      );
      if (rows24.length < 24) run.short++;
    } else {
      run.latencyMs.push(t10);
    }
    ctx.progress.tick(++i, queries.length, label);
  }
  return run;
}

/**
 * recall@10 after the daemon's re-scoring step: memory.search fetches 48 candidates (the default
 * over-fetch of 2 for 24 candidates) ranked by halfvec distance, they are re-ranked by the exact
 * float32 distance and cut to 10. The bench's ciphertexts are fake, so the float32 vectors come
 * from memory_chunks.embedding (the same values the sealed embedding would hold).
 */
async function rescoredRecall(admin: Pool, app: Pool, queries: Query[]): Promise<number> {
  const recalls: number[] = [];
  for (const q of queries) {
    const rows = await search(app, q.plan.userHash, vecOf(q), { limit: 48 });
    const { rows: exact } = await admin.query<{ id: string }>(
      `select id from memory.memory_chunks where user_hash = $1 and id = any($2::uuid[])
       order by (embedding operator(public.<=>) $3::public.vector) + 0, id limit 10`,
      [q.plan.userHash, rows.map((r) => r.id), q.vector],
    );
    recalls.push(
      recall(
        exact.map((r) => r.id),
        q.exact10,
      ),
    );
  }
  return mean(recalls);
}

/** search() takes numbers; the corpus keeps vectors as text. Parse once per call (not timed separately: tiny). */
const parsed = new Map<string, number[]>();
function vecOf(q: Query): number[] {
  let v = parsed.get(q.vector);
  if (!v) parsed.set(q.vector, (v = q.vector.slice(1, -1).split(',').map(Number)));
  return v;
}

interface Overhead {
  /** memory.search as memory_app: procedure + tenant context + RLS policy. */
  procedure: number[];
  /** The same SQL as memory_owner (FORCE RLS: the policy applies), no procedure. */
  rls: number[];
  /** The same SQL as the superuser: RLS bypassed, no procedure. */
  bare: number[];
}

/**
 * The same query three ways, rotating the order per repetition so drift hits all alike:
 * memory.search (what the daemon calls), the identical SQL text under the RLS policy as the table
 * owner, and the identical SQL as the superuser with RLS bypassed. rls/bare isolates the policy;
 * procedure/bare adds the plpgsql wrapper (argument checks, set_tenant, settings lookup, EXECUTE).
 * Only the statement is timed; the untimed set_config before it moves the owner's session to the
 * query's tenant (session-level on a throwaway bench connection).
 */
async function measureOverhead(
  admin: Pool,
  app: Pool,
  queries: Query[],
  efSearch: number,
): Promise<Overhead> {
  // The shape memory.search would pick differs by tenant size (exact or HNSW): build both texts and
  // use, per query, the one the procedure would use for that tenant.
  // The dense query text memory.search runs, in the layout it reads (memory.search_layout()).
  const { rows } = await admin.query<{ exact: string; ann: string }>(
    `select memory.dense_search_sql(false, false, true, l.narrow) as exact,
            memory.dense_search_sql(false, false, false, l.narrow) as ann
     from (select memory.search_layout() = 'vectors' as narrow) l`,
  );
  const shapes = rows[0]!;
  const exactFor = new Map<string, boolean>();
  for (const q of queries) {
    if (!exactFor.has(q.plan.userHash)) {
      const r = await admin.query<{ exact: boolean }>('select memory.search_is_exact($1) as exact', [
        q.plan.userHash,
      ]);
      exactFor.set(q.plan.userHash, r.rows[0]!.exact);
    }
  }
  const sqlFor = (q: Query) => (exactFor.get(q.plan.userHash) ? shapes.exact : shapes.ann);
  const bare = await admin.connect();
  const owner = await admin.connect();
  try {
    // The values apply_ann_settings sets per call inside memory.search.
    const ann = `set hnsw.ef_search = ${efSearch}; set hnsw.iterative_scan = 'relaxed_order'`;
    await bare.query(ann);
    await owner.query(`${ann}; set role memory_owner`);
    const timed = async (fn: () => Promise<unknown>): Promise<number> => {
      const t0 = performance.now();
      await fn();
      return performance.now() - t0;
    };
    const sides: Array<[keyof Overhead, (q: Query) => Promise<number>]> = [
      ['procedure', (q) => timed(() => search(app, q.plan.userHash, vecOf(q), { limit: 24 }))],
      [
        'rls',
        async (q) => {
          await owner.query("select set_config('memory.user_hash', $1, false)", [q.plan.userHash]);
          return timed(() => owner.query(sqlFor(q), [q.plan.userHash, q.vector, 24]));
        },
      ],
      ['bare', (q) => timed(() => bare.query(sqlFor(q), [q.plan.userHash, q.vector, 24]))],
    ];
    for (const [, side] of sides) await side(queries[0]!);
    const out: Overhead = { procedure: [], rls: [], bare: [] };
    let rep = 0;
    for (const q of queries) {
      for (let r = 0; r < 3; r++, rep++) {
        for (const [name, side] of rotated(sides, rep)) out[name].push(await side(q));
      }
    }
    return out;
  } finally {
    await owner.query('reset role').catch(() => undefined);
    bare.release();
    // The owner connection changed role and tenant: never hand it back to the pool for reuse.
    owner.release(true);
  }
}

/**
 * The ef_search memory.search applies when no setting overrides it: memory.apply_ann_settings()
 * in a transaction of its own, then the value it set. Read from the database, so the JSON records
 * what the migrated schema does, not what this file believes it does.
 */
async function defaultEfSearch(admin: Pool): Promise<number> {
  const client = await admin.connect();
  try {
    await client.query('begin');
    await client.query('select memory.apply_ann_settings()');
    const { rows } = await client.query<{ ef: string }>("select current_setting('hnsw.ef_search') as ef");
    await client.query('rollback');
    const ef = Number(rows[0]!.ef);
    if (!Number.isInteger(ef) || ef <= 0) throw new Error(`unexpected hnsw.ef_search '${rows[0]!.ef}'`);
    return ef;
  } finally {
    client.release();
  }
}

/** How many of each class's query tenants memory.search serves by the exact shape and by HNSW. */
async function shapesByClass(
  admin: Pool,
  queries: Record<TenantClass, Query[]>,
): Promise<Record<TenantClass, { exactTenants: number; hnswTenants: number }>> {
  const out = {} as Record<TenantClass, { exactTenants: number; hnswTenants: number }>;
  for (const cls of CLASSES) {
    const tenants = [...new Set(queries[cls].map((q) => q.plan.userHash))];
    const { rows } = await admin.query<{ exact: boolean }>(
      'select memory.search_is_exact(t) as exact from unnest($1::text[]) as t',
      [tenants],
    );
    const exact = rows.filter((r) => r.exact).length;
    out[cls] = { exactTenants: exact, hnswTenants: rows.length - exact };
  }
  return out;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function annMetrics(
  runs: Record<Mode, Record<TenantClass, ClassRun>>,
  rls: Record<TenantClass, Overhead>,
  load: { rows: number; insertS: number; indexS: number },
): Metric[] {
  const metrics: Metric[] = [];
  for (const mode of ['relaxed_order', 'off'] as Mode[]) {
    const tag = mode === 'off' ? 'iterative_off' : 'iterative_on';
    for (const cls of CLASSES) {
      const r = runs[mode][cls];
      const goal = mode === 'relaxed_order' ? { goal: { op: '>=' as const, value: 0.95 } } : {};
      metrics.push({
        name: `${cls}.${tag}.recall_at_10`,
        value: mean(r.recall10),
        unit: '',
        better: 'higher',
        ...goal,
      });
      metrics.push({
        name: `${cls}.${tag}.recall_at_24`,
        value: mean(r.recall24),
        unit: '',
        better: 'higher',
      });
      const p = percentiles(r.latencyMs);
      metrics.push({ name: `${cls}.${tag}.p50_ms`, value: p.p50, unit: 'ms', better: 'lower' });
      metrics.push({ name: `${cls}.${tag}.p95_ms`, value: p.p95, unit: 'ms', better: 'lower' });
    }
  }
  for (const cls of CLASSES) {
    const o = rls[cls];
    metrics.push({
      name: `${cls}.rls_overhead`,
      value: median(o.rls) / median(o.bare),
      unit: 'x',
      better: 'lower',
      goal: { op: '<=', value: 1.1 },
    });
    metrics.push({
      name: `${cls}.procedure_overhead`,
      value: median(o.procedure) / median(o.bare),
      unit: 'x',
      better: 'lower',
    });
  }
  metrics.push({
    name: 'load.rows_per_s',
    value: load.rows / load.insertS,
    unit: 'rows/s',
    better: 'higher',
  });
  metrics.push({ name: 'load.index_build_s', value: load.indexS, unit: 's', better: 'lower' });
  return metrics;
}

function annTables(
  runs: Record<Mode, Record<TenantClass, ClassRun>>,
  rls: Record<TenantClass, Overhead>,
  sweep: SweepSeries[],
  plans: TenantPlan[],
  load: { rows: number; insertS: number; indexS: number },
  efSearch: number,
  exactMaxRows: number | undefined,
): Table[] {
  const exactUpTo =
    exactMaxRows === undefined
      ? 'exact shape up to ann_exact_max_rows (database default) rows per tenant'
      : `exact shape up to ${exactMaxRows.toLocaleString('en-US')} rows per tenant (--exact-max-rows)`;
  const sizeRange = (cls: TenantClass): string => {
    const s = plans.filter((p) => p.cls === cls).map((p) => p.size);
    return `${s.length} x ${Math.min(...s) === Math.max(...s) ? Math.min(...s) : `${Math.min(...s)}-${Math.max(...s)}`}`;
  };
  const rows: string[][] = [];
  for (const mode of ['relaxed_order', 'off'] as Mode[]) {
    for (const cls of CLASSES) {
      const r = runs[mode][cls];
      const p = percentiles(r.latencyMs);
      rows.push([
        `${cls} (${sizeRange(cls)})`,
        mode === 'off' ? 'off' : 'on (relaxed)',
        mean(r.recall10).toFixed(3),
        Math.min(...r.recall10).toFixed(2),
        mean(r.recall24).toFixed(3),
        String(r.short),
        ms(p.p50),
        ms(p.p95),
        ms(p.p99),
      ]);
    }
  }
  return [
    {
      title: `ann: memory.search vs exact search, ${load.rows.toLocaleString('en-US')} chunks x ${DIM} dims (load ${round1(load.insertS)} s, HNSW build ${round1(load.indexS)} s)`,
      header: [
        'tenants',
        'iterative scan',
        'recall@10',
        'min',
        'recall@24',
        'short',
        'p50 ms',
        'p95 ms',
        'p99 ms',
      ],
      rows,
      note: `recall = mean over queries; min = worst single query; short = results with fewer than 24 rows; latency of the limit-24 call as memory_app, ef_search ${efSearch}, ${exactUpTo}`,
    },
    {
      title:
        'ann: RLS overhead (same search SQL: as table owner under RLS vs as superuser with RLS bypassed) and whole-procedure overhead',
      header: [
        'tenants',
        'bare SQL p50',
        'SQL under RLS p50',
        'memory.search p50',
        'RLS / bare',
        'memory.search / bare',
      ],
      rows: CLASSES.map((cls) => {
        const o = rls[cls];
        return [
          cls,
          ms(median(o.bare)),
          ms(median(o.rls)),
          ms(median(o.procedure)),
          ratio(median(o.rls) / median(o.bare)),
          ratio(median(o.procedure) / median(o.bare)),
        ];
      }),
      note: `ratios of medians; 3 repetitions per query, order rotated; ef_search ${efSearch}, relaxed iterative scan; memory.search adds set_tenant, checks, the settings lookup and plpgsql EXECUTE`,
    },
    {
      title: 'ann: ef_search sweep (recall@10 / p50 ms of the limit-10 call)',
      header: ['series', ...sweep[0]!.points.map((p) => p.tag ?? '')],
      rows: sweep.map((s) => [s.label, ...s.points.map((p) => `${p.y.toFixed(3)} / ${p.x.toFixed(1)}`)]),
    },
  ];
}
