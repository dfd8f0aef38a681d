/**
 * Citus suite: write and query throughput through the HTTP API on a Citus coordinator with one
 * worker and with two (src/bench/citus.ts: three PostgreSQL servers on this machine, one database
 * per side registering one or both workers, migrated and distributed by `memvault migrate`'s own
 * code). Each round runs, per side in alternating order, a closed loop of batch writes
 * (`POST /v1/chunks/batch`, 16 chunks each) and one of queries (`POST /v1/query`, k=8, rerank off),
 * `clients` requests in flight; medians over rounds and the 2-worker / 1-worker ratios. Every server
 * shares this machine's cores: the ratio shows what routing and distribution cost or gain here, not
 * what a second host would add. Needs the citus extension (scripts/ensure-citus.sh).
 */
import { join } from 'node:path';

import { migrateDatabase } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { startCitusFormation } from './citus.js';
import { samplePoint, type TenantPlan, topicCentres } from './corpus.js';
import { type DaemonChild, spawnDaemon } from './daemon.js';
import { type Metric, ms, type Table } from './result.js';
import { closedLoop, type Round, type Users } from './scale.js';
import { benchKeys, passage, randomUserId, seedTenant } from './seed.js';
import { median, percentiles, rotated, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;
const BATCH = 16;

export const suite: Suite = {
  name: 'citus',
  options: ['clients', 'duration', 'tenants', 'rounds'],
  summary: 'write and query throughput on a Citus coordinator with 1 worker vs 2 workers (one machine)',
  run: runCitus,
};

/** Closed-loop batch writes for `seconds`: chunks per second. */
async function writeLoop(
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
  let n = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const user = users[Math.floor(random() * users.length)]!;
        const res = await daemon.client
          .request('POST', '/v1/chunks/batch', {
            user_id: user.id,
            chunks: Array.from({ length: BATCH }, () => ({
              doc_id: `w-${seed}-${n++}`,
              text: passage(random),
              embedding: Array.from(samplePoint(user.shape, centres, random)),
            })),
          })
          .catch(() => undefined);
        if (!res || res.status !== 201) errors++;
        else latencies.push(res.ms);
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  return { qps: (latencies.length * BATCH) / elapsedS, latencies, errors };
}

async function runCitus(ctx: SuiteContext) {
  const startedAt = new Date();
  const clients = intOption(ctx, 'clients', 8, 1, 64);
  const seconds = intOption(ctx, 'duration', ctx.quick ? 4 : 10, 1);
  const tenantCount = intOption(ctx, 'tenants', ctx.quick ? 16 : 64, 1);
  const rounds = intOption(ctx, 'rounds', ctx.quick ? 2 : 3, 1);
  const cluster = await ctx.cluster();
  ctx.progress.stage('citus formation: coordinator + 2 workers');
  const formation = await startCitusFormation(join(cluster.home, 'citus'), 2);
  const sides = ['1 worker', '2 workers'] as const;
  type Side = (typeof sides)[number];
  const databases: string[] = [];
  const daemons: Partial<Record<Side, DaemonChild>> = {};
  try {
    const keys = benchKeys();
    const centres = topicCentres(DIM, 4);
    const users: Users = Array.from({ length: tenantCount }, (_, i) => ({
      id: randomUserId(`citus-${i}`),
      shape: { userHash: '', size: 50, cls: 'small', topics: [i % 64, (i * 7) % 64] } as TenantPlan,
    }));
    // The 2-worker database first: the roles `memvault migrate` creates reach every node Citus
    // knows in that database, so both workers have them before the 1-worker database is made.
    for (const [index, side] of [...sides.entries()].reverse()) {
      const name = `bench_citus_${index + 1}w`;
      ctx.progress.stage(`${side}: database, migrate, ${tenantCount} tenants x 50 chunks`);
      await formation.dropDatabase(name);
      await formation.createDatabase(name, index + 1);
      databases.push(name);
      await migrateDatabase(formation.adminUrl(name), { embeddingDim: DIM, quiet: true });
      const pool = createPool({ connectionString: formation.appUrl(name), max: 2 });
      try {
        const random = seededRandom(16);
        for (const [i, user] of users.entries()) {
          await seedTenant(pool, DIM, user.id, user.shape, 50, centres, random);
          ctx.progress.tick(i + 1, tenantCount, 'tenants seeded');
        }
      } finally {
        await pool.end();
      }
      daemons[side] = await spawnDaemon({ databaseUrl: formation.appUrl(name), keys });
    }
    const writes: Record<Side, Round[]> = { '1 worker': [], '2 workers': [] };
    const queries: Record<Side, Round[]> = { '1 worker': [], '2 workers': [] };
    for (const side of sides) {
      await writeLoop(daemons[side]!, users, centres, clients, 1, 97); // warm-up: plans, keys, pools
      await closedLoop(daemons[side]!, users, centres, clients, 1, 98);
    }
    for (let round = 0; round < rounds; round++) {
      for (const side of rotated([...sides], round)) {
        ctx.progress.stage(`round ${round + 1}/${rounds}: ${side}, ${clients} clients, ${seconds} s each`);
        writes[side].push(await writeLoop(daemons[side]!, users, centres, clients, seconds, round));
        queries[side].push(await closedLoop(daemons[side]!, users, centres, clients, seconds, round));
      }
    }
    const rate = (r: Record<Side, Round[]>, side: Side) => median(r[side].map((x) => x.qps));
    const row = (r: Record<Side, Round[]>, side: Side) => {
      const p = percentiles(r[side].flatMap((x) => x.latencies));
      return [
        side,
        rate(r, side).toFixed(1),
        ms(p.p50),
        ms(p.p95),
        String(r[side].reduce((n, x) => n + x.errors, 0)),
      ];
    };
    const ratio = (r: Record<Side, Round[]>) => rate(r, '2 workers') / rate(r, '1 worker');
    const setting = `${clients} clients, ${rounds} rounds x ${seconds} s per side, ${tenantCount} tenants`;
    const tables: Table[] = [
      {
        title: `citus: batch writes (${BATCH} chunks per request), ${setting}`,
        header: ['formation', 'median chunks/s', 'p50 ms', 'p95 ms', 'errors'],
        rows: sides.map((side) => row(writes, side)),
        note: `2 workers / 1 worker write throughput ${ratio(writes).toFixed(2)}x; coordinator and workers share this machine's cores`,
      },
      {
        title: `citus: closed-loop queries (k=8, 24 candidates, rerank off), ${setting}`,
        header: ['formation', 'median req/s', 'p50 ms', 'p95 ms', 'errors'],
        rows: sides.map((side) => row(queries, side)),
        note: `2 workers / 1 worker query throughput ${ratio(queries).toFixed(2)}x`,
      },
    ];
    const metrics: Metric[] = [
      {
        name: 'citus.write_1w_chunks_per_s',
        value: rate(writes, '1 worker'),
        unit: 'chunks/s',
        better: 'higher',
      },
      {
        name: 'citus.write_2w_chunks_per_s',
        value: rate(writes, '2 workers'),
        unit: 'chunks/s',
        better: 'higher',
      },
      { name: 'citus.write_ratio', value: ratio(writes), unit: 'x', better: 'higher' },
      { name: 'citus.query_1w_rps', value: rate(queries, '1 worker'), unit: 'req/s', better: 'higher' },
      { name: 'citus.query_2w_rps', value: rate(queries, '2 workers'), unit: 'req/s', better: 'higher' },
      { name: 'citus.query_ratio', value: ratio(queries), unit: 'x', better: 'higher' },
    ];
    return buildResult('citus', ctx, startedAt, {
      settings: { clients, seconds, tenants: tenantCount, rounds, batch: BATCH, shardCount: 8 },
      metrics,
      tables,
    });
  } finally {
    await Promise.all(Object.values(daemons).map((d) => d?.stop()));
    for (const name of databases) await formation.dropDatabase(name).catch(() => undefined);
    await formation.stop();
  }
}
