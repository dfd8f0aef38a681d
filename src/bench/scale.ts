/**
 * Scale suite: what the two ways past one server buy on this machine, through the HTTP API.
 *
 * Part 1, read replica: closed-loop query throughput (`clients` concurrent requests, each sent as
 * soon as the previous one answered) against a daemon on the primary alone and a daemon with
 * MEMVAULT_READ_URL naming a streaming replica of it (pg_basebackup, src/bench/replica.ts), in
 * alternating rounds; medians and the ratio. Both PostgreSQL servers share this machine's cores,
 * so the ratio says what routing costs or gains here, not what a second host would add.
 * Part 2, pgbouncer in transaction mode: one daemon with a large pool (MEMVAULT_DB_POOL_MAX 100)
 * under 4, 16 and 64 concurrent clients, directly and through pgbouncer (default_pool_size
 * `pool-size`); the PostgreSQL backends the daemon's role holds (pg_stat_activity, sampled every
 * 20 ms, peak) and the throughput.
 */
import { samplePoint, type TenantPlan, topicCentres } from './corpus.js';
import { type DaemonChild, spawnDaemon } from './daemon.js';
import { startPgbouncer } from './pgbouncer.js';
import { startReplica } from './replica.js';
import { type Metric, ms, type Table } from './result.js';
import { benchKeys, randomUserId, seedTenant } from './seed.js';
import { median, percentiles, rotated, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;

export const suite: Suite = {
  name: 'scale',
  options: ['clients', 'duration', 'tenants', 'rounds', 'pool-size'],
  summary:
    'query throughput on the primary alone vs primary + streaming replica; PostgreSQL connections held vs clients, direct and through pgbouncer',
  run: runScale,
};

export interface Round {
  qps: number;
  latencies: number[];
  errors: number;
}

export type Users = Array<{ id: string; shape: TenantPlan }>;

/** `clients` workers, each sending its next query as soon as the last one answered, for `seconds`. */
export async function closedLoop(
  daemon: DaemonChild,
  users: Users,
  centres: Float32Array[],
  clients: number,
  seconds: number,
  seed: number,
): Promise<Round> {
  const random = seededRandom(seed);
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const user = users[Math.floor(random() * users.length)]!;
        const res = await daemon.client
          .request('POST', '/v1/query', {
            user_id: user.id,
            query: 'q',
            embedding: Array.from(samplePoint(user.shape, centres, random)),
            k: 8,
            candidates: 24,
            rerank: false,
          })
          .catch(() => undefined);
        if (!res || res.status !== 200) errors++;
        else latencies.push(res.ms);
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  return { qps: latencies.length / elapsedS, latencies, errors };
}

async function routeCounts(daemon: DaemonChild): Promise<Record<string, number>> {
  const res = await daemon.client.request('GET', '/metrics', undefined, { token: null });
  const counts: Record<string, number> = {};
  for (const m of String(res.body).matchAll(
    /^memvault_read_route_total\{target="(\w+)",reason="(\w+)"\} (\d+)/gm,
  )) {
    counts[`${m[1]}/${m[2]}`] = Number(m[3]);
  }
  return counts;
}

async function runScale(ctx: SuiteContext) {
  const startedAt = new Date();
  const clients = intOption(ctx, 'clients', 16, 1, 1000);
  const seconds = intOption(ctx, 'duration', ctx.quick ? 4 : 15, 1);
  const tenantCount = intOption(ctx, 'tenants', ctx.quick ? 20 : 100, 1);
  const rounds = intOption(ctx, 'rounds', ctx.quick ? 2 : 3, 1);
  const poolSize = intOption(ctx, 'pool-size', 8, 1, 1000);
  const cluster = await ctx.cluster();
  const db = await cluster.createDatabase('scale', DIM);
  const pools = db.openPools({ appMax: 2 });
  const teardowns: Array<() => Promise<void> | void> = [];
  const owner = { teardown: (fn: () => Promise<void> | void) => void teardowns.push(fn) };
  const daemons: DaemonChild[] = [];
  try {
    ctx.progress.stage('tenants');
    const centres = topicCentres(DIM, 4);
    const random = seededRandom(16);
    const keys = benchKeys();
    const users: Users = [];
    for (let i = 0; i < tenantCount; i++) {
      const shape: TenantPlan = { userHash: '', size: 50, cls: 'small', topics: [i % 64, (i * 7) % 64] };
      const id = randomUserId(`scale-${i}`);
      await seedTenant(pools.app, DIM, id, shape, 50, centres, random);
      users.push({ id, shape });
      ctx.progress.tick(i + 1, tenantCount, 'tenants seeded');
    }
    await pools.admin.query('analyze memory.memory_chunks');

    // Part 1: primary alone vs primary + replica.
    ctx.progress.stage('streaming replica (pg_basebackup)');
    const replica = await startReplica(owner, { home: cluster.home, database: db.name });
    const primaryOnly = await spawnDaemon({ databaseUrl: db.appUrl, keys });
    daemons.push(primaryOnly);
    const withReplica = await spawnDaemon({
      databaseUrl: db.appUrl,
      keys,
      env: { MEMVAULT_READ_URL: replica.appUrl },
    });
    daemons.push(withReplica);
    const sides = { primary: primaryOnly, 'primary+replica': withReplica } as const;
    const results: Record<keyof typeof sides, Round[]> = { primary: [], 'primary+replica': [] };
    for (const side of Object.keys(sides) as Array<keyof typeof sides>) {
      await closedLoop(sides[side], users, centres, clients, 1, 99); // warm-up: plans, keys, pools
    }
    const routesBefore = await routeCounts(withReplica);
    for (let round = 0; round < rounds; round++) {
      for (const side of rotated(Object.keys(sides) as Array<keyof typeof sides>, round)) {
        ctx.progress.stage(`round ${round + 1}/${rounds}: ${side}, ${clients} clients, ${seconds} s`);
        results[side].push(await closedLoop(sides[side], users, centres, clients, seconds, round));
      }
    }
    const routesAfter = await routeCounts(withReplica);
    const onReplica = (routesAfter['replica/replica'] ?? 0) - (routesBefore['replica/replica'] ?? 0);
    const routed = Object.keys(routesAfter).reduce(
      (n, k) => n + (routesAfter[k] ?? 0) - (routesBefore[k] ?? 0),
      0,
    );
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    const qps = (side: keyof typeof sides) => median(results[side].map((r) => r.qps));
    const lat = (side: keyof typeof sides) => percentiles(results[side].flatMap((r) => r.latencies));
    const errs = (side: keyof typeof sides) => results[side].reduce((n, r) => n + r.errors, 0);
    const replicaTable: Table = {
      title: `scale: closed-loop queries (k=8, 24 candidates, rerank off), ${clients} clients, ${rounds} rounds x ${seconds} s per side, ${tenantCount} tenants x 50 chunks`,
      header: ['daemon', 'median req/s', 'p50 ms', 'p95 ms', 'errors'],
      rows: (Object.keys(sides) as Array<keyof typeof sides>).map((side) => [
        side,
        qps(side).toFixed(1),
        ms(lat(side).p50),
        ms(lat(side).p95),
        String(errs(side)),
      ]),
      note: `primary+replica / primary throughput ${(qps('primary+replica') / qps('primary')).toFixed(2)}x; ${onReplica} of ${routed} reads ran on the replica; both PostgreSQL servers share this machine's cores`,
    };

    // Part 2: connections held vs clients, direct and through pgbouncer.
    ctx.progress.stage('pgbouncer');
    const bouncer = await startPgbouncer(owner, { clusterHome: cluster.home, poolSize });
    // At most 64: the bench's HTTP client keeps 64 sockets per daemon (src/bench/http.ts).
    const levels = [4, 16, 64];
    const poolRows: string[][] = [];
    const poolMetrics: Metric[] = [];
    for (const [via, url] of [
      ['direct', db.appUrl],
      ['pgbouncer', bouncer.url('memory_app', db.name)],
    ] as const) {
      const daemon = await spawnDaemon({
        databaseUrl: url,
        keys,
        env: {
          MEMVAULT_DB_POOL_MAX: '100',
          ...(via === 'pgbouncer' ? { MEMVAULT_LISTEN_URL: db.appUrl } : {}),
        },
      });
      daemons.push(daemon);
      await closedLoop(daemon, users, centres, 4, 1, 98);
      for (const level of levels) {
        ctx.progress.stage(`${via}: ${level} clients`);
        let peak = 0;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const { rows } = await pools.admin.query<{ n: number }>(
              "select count(*)::int as n from pg_stat_activity where datname = $1 and usename = 'memory_app' and application_name <> 'memvault-listener'",
              [db.name],
            );
            peak = Math.max(peak, rows[0]!.n);
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        const round = await closedLoop(daemon, users, centres, level, seconds, level);
        sampling = false;
        await sampler;
        const p = percentiles(round.latencies);
        poolRows.push([
          via,
          String(level),
          String(peak),
          round.qps.toFixed(1),
          ms(p.p50),
          ms(p.p95),
          String(round.errors),
        ]);
        poolMetrics.push({
          name: `pooler.${via}.c${level}.server_connections`,
          value: peak,
          unit: '',
          better: 'lower',
        });
        poolMetrics.push({
          name: `pooler.${via}.c${level}.rps`,
          value: round.qps,
          unit: 'req/s',
          better: 'higher',
        });
      }
      await daemons.pop()!.stop();
    }
    const poolTable: Table = {
      title: `scale: PostgreSQL backends held by memory_app (peak, pg_stat_activity every 20 ms) vs concurrent HTTP clients; daemon pool max 100; pgbouncer transaction mode, default_pool_size ${poolSize}; ${seconds} s per level`,
      header: ['path', 'clients', 'backends', 'req/s', 'p50 ms', 'p95 ms', 'errors'],
      rows: poolRows,
    };

    const metrics: Metric[] = [
      { name: 'replica.primary_rps', value: qps('primary'), unit: 'req/s', better: 'higher' },
      { name: 'replica.primary_replica_rps', value: qps('primary+replica'), unit: 'req/s', better: 'higher' },
      {
        name: 'replica.ratio',
        value: qps('primary+replica') / qps('primary'),
        unit: 'x',
        better: 'higher',
      },
      {
        name: 'replica.share_on_replica',
        value: routed ? onReplica / routed : 0,
        unit: '',
        better: 'higher',
      },
      ...poolMetrics,
    ];
    return buildResult('scale', ctx, startedAt, {
      settings: { clients, seconds, tenants: tenantCount, rounds, poolSize, levels },
      metrics,
      tables: [replicaTable, poolTable],
    });
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    await pools.end();
    await db.drop();
  }
}
