/**
 * Load suite: open-loop load against one daemon over loopback. Requests are scheduled at fixed
 * intervals (1/rate) and sent at their scheduled time whether or not earlier ones have answered;
 * latency counts from the scheduled time, so a stalled server shows up as latency instead of
 * silently lowering the offered rate (the coordinated-omission trap of closed-loop testers); the
 * schedule is src/bench/open-loop.ts, shared with the keys suite.
 *
 * Phase 1: the spec's guardrail, 100 RPS mixed (80% queries with rerank off, 20% single-chunk
 * writes) over many tenants, with the database pool sampled from /metrics/memory (busy / max).
 * Phase 2: rerank on, rising rates, each held for a short step; the highest rate whose p95 stays
 * within the latency budget with no errors and at least 95% of queries actually reranked.
 */
import { ensureFixtureModel } from '../models/fixture.js';
import { planTenants, samplePoint, type TenantPlan, topicCentres } from './corpus.js';
import { type DaemonChild, spawnDaemon } from './daemon.js';
import { loadCorpus } from './loader.js';
import { startOpenLoop } from './open-loop.js';
import { type Metric, ms, type Table } from './result.js';
import { benchKeys, passage, randomUserId, seedTenant } from './seed.js';
import { percentiles, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;
const WRITE_SHARE = 0.2;

export const suite: Suite = {
  name: 'load',
  options: ['rate', 'duration', 'tenants', 'chunks-per-tenant', 'step', 'budget-ms', 'pool-max'],
  summary:
    'open-loop 100 RPS mixed queries+writes over many tenants: p50/p95/p99, errors, DB pool use; max sustainable rate with rerank on',
  run: runLoad,
};

interface StepResult {
  rate: number;
  durationS: number;
  sent: number;
  queries: number[];
  writes: number[];
  errors: number;
  statuses: Record<string, number>;
  reranked: number;
  queryCount: number;
  /** busy / max samples of the daemon's pool. */
  poolUse: number[];
  poolWaiting: number;
  /** How late the generator itself fired requests (ms): large values mean the client saturated. */
  lateness: number[];
}

async function runLoad(ctx: SuiteContext) {
  const startedAt = new Date();
  const rate = intOption(ctx, 'rate', 100, 1, 10_000);
  const durationS = intOption(ctx, 'duration', ctx.quick ? 10 : 60, 1);
  const tenants = intOption(ctx, 'tenants', ctx.quick ? 40 : 200, 1);
  const perTenant = intOption(ctx, 'chunks-per-tenant', ctx.quick ? 25 : 50, 24);
  const stepS = intOption(ctx, 'step', ctx.quick ? 4 : 15, 1);
  const budgetMs = intOption(ctx, 'budget-ms', 250, 1);
  const poolMax = intOption(ctx, 'pool-max', 10, 1);
  const cluster = await ctx.cluster();
  const db = await cluster.createDatabase('load', DIM);
  const pools = db.openPools({ appMax: 2 });
  const { admin, app } = pools;
  let daemon: DaemonChild | undefined;
  try {
    const centres = topicCentres(DIM, 4);
    const random = seededRandom(4);
    ctx.progress.stage('background corpus and tenants');
    await loadCorpus(admin, planTenants(ctx.quick ? 3_000 : 20_000, 4), centres, ctx.progress, 4);
    const keys = benchKeys();
    const users: Array<{ id: string; shape: TenantPlan }> = [];
    for (let i = 0; i < tenants; i++) {
      const shape: TenantPlan = {
        userHash: '',
        size: perTenant,
        cls: 'small',
        topics: [i % 64, (i * 7) % 64],
      };
      const id = randomUserId(`load-${i}`);
      await seedTenant(app, DIM, id, shape, perTenant, centres, random);
      users.push({ id, shape });
      ctx.progress.tick(i + 1, tenants, 'tenants seeded');
    }
    await admin.query('analyze memory.memory_chunks');
    daemon = await spawnDaemon({
      databaseUrl: db.appUrl,
      rerankModel: await ensureFixtureModel(),
      keys,
      env: { MEMVAULT_DB_POOL_MAX: String(poolMax) },
    });

    const step = (r: number, seconds: number, rerank: boolean, label: string) =>
      openLoop(daemon!, users, centres, random, r, seconds, rerank, (done, total) =>
        ctx.progress.tick(done, total, label),
      );

    // Warm-up (model load, plans), not reported.
    await step(10, 2, true, 'warm-up');
    ctx.progress.stage(`${rate} RPS for ${durationS} s, rerank off`);
    const main = await step(rate, durationS, false, `${rate} RPS rerank off`);

    ctx.progress.stage('rerank on: rising rates');
    const rates = ctx.quick ? [5, 10, 20] : [5, 10, 15, 20, 30, 40, 60, 80, 100];
    const steps: StepResult[] = [];
    let sustainable = 0;
    for (const r of rates) {
      const s = await step(r, stepS, true, `${r} RPS rerank on`);
      steps.push(s);
      if (!withinBudget(s, budgetMs)) break;
      sustainable = r;
    }

    const all = [...main.queries, ...main.writes];
    const pAll = percentiles(all);
    const pQ = percentiles(main.queries);
    const pW = percentiles(main.writes);
    const pool = percentiles(main.poolUse);
    const metrics: Metric[] = [
      { name: 'mixed.p50_ms', value: pAll.p50, unit: 'ms', better: 'lower' },
      {
        name: 'mixed.p95_ms',
        value: pAll.p95,
        unit: 'ms',
        better: 'lower',
        goal: { op: '<=', value: budgetMs },
      },
      { name: 'mixed.p99_ms', value: pAll.p99, unit: 'ms', better: 'lower' },
      { name: 'mixed.query_p95_ms', value: pQ.p95, unit: 'ms', better: 'lower' },
      { name: 'mixed.write_p95_ms', value: pW.p95, unit: 'ms', better: 'lower' },
      { name: 'mixed.errors', value: main.errors, unit: '', better: 'lower', goal: { op: '<=', value: 0 } },
      { name: 'mixed.achieved_rps', value: main.sent / main.durationS, unit: 'req/s', better: 'higher' },
      {
        name: 'mixed.pool_use_p95',
        value: pool.p95,
        unit: '',
        better: 'lower',
        goal: { op: '<=', value: 0.8 },
      },
      { name: 'mixed.pool_use_max', value: pool.max, unit: '', better: 'lower' },
      { name: 'rerank_on.max_sustainable_rps', value: sustainable, unit: 'req/s', better: 'higher' },
    ];
    const mainTable: Table = {
      title: `load: open loop ${rate} RPS for ${durationS} s, ${Math.round(WRITE_SHARE * 100)}% writes, ${tenants} tenants, rerank off, daemon pool max ${poolMax}`,
      header: ['requests', 'count', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      rows: [
        ['all', String(all.length), ms(pAll.p50), ms(pAll.p95), ms(pAll.p99), ms(pAll.max)],
        [
          'queries (k=8, 24 cand.)',
          String(main.queries.length),
          ms(pQ.p50),
          ms(pQ.p95),
          ms(pQ.p99),
          ms(pQ.max),
        ],
        ['writes (1 chunk)', String(main.writes.length), ms(pW.p50), ms(pW.p95), ms(pW.p99), ms(pW.max)],
      ],
      note: `errors ${main.errors} ${JSON.stringify(main.statuses)}; pool busy/max p50 ${fmtPct(percentiles(main.poolUse).p50)}, p95 ${fmtPct(pool.p95)}, max ${fmtPct(pool.max)} (${main.poolUse.length} samples, 10/s), waiting max ${main.poolWaiting}; generator lateness p99 ${ms(percentiles(main.lateness).p99)} ms`,
    };
    const stepTable: Table = {
      title: `load: rerank on, ${stepS} s per step, budget p95 <= ${budgetMs} ms, no errors, >= 95% reranked`,
      header: ['rate', 'p50 ms', 'p95 ms', 'p99 ms', 'reranked', 'errors', 'statuses', 'pool p95', 'ok'],
      rows: steps.map((s) => {
        const p = percentiles([...s.queries, ...s.writes]);
        const statuses =
          Object.entries(s.statuses)
            .filter(([code]) => code !== '200' && code !== '201')
            .map(([code, n]) => `${code}x${n}`)
            .join(' ') || '-';
        return [
          String(s.rate),
          ms(p.p50),
          ms(p.p95),
          ms(p.p99),
          `${s.reranked}/${s.queryCount}`,
          String(s.errors),
          statuses,
          fmtPct(percentiles(s.poolUse).p95),
          withinBudget(s, budgetMs) ? 'yes' : 'no',
        ];
      }),
      note: `highest sustainable rate with rerank on: ${sustainable} RPS (steps stop at the first failure)`,
    };
    return buildResult('load', ctx, startedAt, {
      settings: {
        rate,
        durationS,
        writeShare: WRITE_SHARE,
        tenants,
        chunksPerTenant: perTenant,
        stepS,
        budgetMs,
        poolMax,
        rates,
      },
      metrics,
      tables: [mainTable, stepTable],
      series: {
        latency: {
          [`${rate} RPS rerank off, queries`]: main.queries,
          [`${rate} RPS rerank off, writes`]: main.writes,
          ...Object.fromEntries(steps.map((s) => [`${s.rate} RPS rerank on`, [...s.queries, ...s.writes]])),
        },
      },
    });
  } finally {
    await daemon?.stop();
    await pools.end();
    await db.drop();
  }
}

function fmtPct(x: number): string {
  return Number.isFinite(x) ? `${Math.round(x * 100)}%` : '-';
}

function withinBudget(s: StepResult, budgetMs: number): boolean {
  const p = percentiles([...s.queries, ...s.writes]);
  return s.errors === 0 && p.p95 <= budgetMs && s.reranked >= 0.95 * s.queryCount;
}

async function openLoop(
  daemon: DaemonChild,
  users: Array<{ id: string; shape: TenantPlan }>,
  centres: Float32Array[],
  random: () => number,
  rate: number,
  seconds: number,
  rerank: boolean,
  tick: (done: number, total: number) => void,
): Promise<StepResult> {
  const total = Math.max(1, Math.round(rate * seconds));
  const result: StepResult = {
    rate,
    durationS: seconds,
    sent: 0,
    queries: [],
    writes: [],
    errors: 0,
    statuses: {},
    reranked: 0,
    queryCount: 0,
    poolUse: [],
    poolWaiting: 0,
    lateness: [],
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const r = await daemon.client.request('GET', '/metrics/memory').catch(() => undefined);
      const pool = (
        r?.body as { pool?: { total: number; idle: number; waiting: number; max: number } } | undefined
      )?.pool;
      if (pool) {
        result.poolUse.push((pool.total - pool.idle) / pool.max);
        result.poolWaiting = Math.max(result.poolWaiting, pool.waiting);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  let done = 0;
  await startOpenLoop({
    ratePerS: rate,
    count: total,
    send: (i) => {
      const user = users[Math.floor(random() * users.length)]!;
      const embedding = Array.from(samplePoint(user.shape, centres, random));
      const isWrite = random() < WRITE_SHARE;
      result.sent++;
      const request = isWrite
        ? daemon.client.request('POST', '/v1/chunks', {
            user_id: user.id,
            doc_id: `load-${i}`,
            text: passage(random),
            metadata: { i },
            embedding,
          })
        : daemon.client.request('POST', '/v1/query', {
            user_id: user.id,
            query: passage(random).slice(0, 80),
            embedding,
            k: 8,
            candidates: 24,
            rerank,
          });
      return request.then((response) => ({ isWrite, response }));
    },
    onSettled: ({ latencyMs, lateMs, value, error }) => {
      result.lateness.push(lateMs);
      if (error !== undefined || !value) {
        result.errors++;
        result.statuses.network = (result.statuses.network ?? 0) + 1;
      } else {
        // From the scheduled time, not the send time (see the module comment).
        const { isWrite, response } = value;
        (isWrite ? result.writes : result.queries).push(latencyMs);
        result.statuses[response.status] = (result.statuses[response.status] ?? 0) + 1;
        if (response.status >= 400) result.errors++;
        if (!isWrite) {
          result.queryCount++;
          if ((response.body as { reranked?: boolean }).reranked) result.reranked++;
        }
      }
      tick(++done, total);
    },
  }).finished;
  sampling = false;
  await sampler;
  return result;
}
