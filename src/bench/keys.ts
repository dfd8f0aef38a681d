/**
 * Keys suite (issue 7): time to rotate the key-encryption key for N tenants (re-wrapping one DEK
 * each) and to re-seal the legacy share of M chunks onto per-tenant DEKs, each while a real daemon
 * (child process) serves a steady `/v1/query` load on the same database; the load's p95 before vs
 * during is the cost users would notice.
 *
 * The corpus is what a daemon that has run for a while holds: most chunks sealed under their
 * tenant's DEK (envelope v2, written through the daemon's own TenantKeyStore), the oldest share
 * still legacy (v1, sealed directly under key 1) so re-sealing has work. The daemon's DEK cache
 * is kept short (1 s by default) so queries keep fetching and unwrapping DEKs — some under key 1,
 * some under key 2 — while rotation rewrites them. One rotation of N tenants is over in well
 * under a second, so rotation runs in rounds (1→2, 2→1, …, ending on 2) until the load has
 * answered enough queries for its p95 to mean something.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import {
  chunkAad,
  EncryptionKey,
  generateDataKey,
  generateKeyBase64,
  KeyRing,
  sealWithDataKey,
  TenantHmacKey,
} from '../crypto/index.js';
import type { Pool } from '../db/pool.js';
import { storeSealedChunks } from '../db/procedures.js';
import { resealChunks } from '../keys/reseal.js';
import { rotateKek } from '../keys/rotate.js';
import { TenantKeyStore } from '../keys/tenant-key-store.js';
import { planTenants, samplePoint, type TenantPlan, topicCentres } from './corpus.js';
import { spawnDaemon } from './daemon.js';
import type { HttpClient } from './http.js';
import { startOpenLoop } from './open-loop.js';
import type { Progress } from './progress.js';
import type { Metric, Table } from './result.js';
import { percentiles, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;
const ratio = (value: number, baseline: number) => value / baseline;

export const suite: Suite = {
  name: 'keys',
  options: ['tenants', 'chunks', 'baseline-ms', 'qps', 'legacy-pct', 'rotate-samples', 'dek-cache-ttl-ms'],
  summary:
    'KEK rotation for N tenants (in rounds) and re-sealing legacy chunks, with query p95 before vs during',
  run: runKeys,
};

interface QuerySample {
  scheduledAt: number;
  latencyMs: number;
  lateMs: number;
  ok: boolean;
}

/**
 * Open-loop query load (src/bench/open-loop.ts): one `/v1/query` due every 1/qps s on a rotating
 * user, each timed from when it was due. The rotation's re-wrapping runs on this process's event
 * loop and delays sends; that delay counts as latency (and is shown apart as the generator's
 * lateness) instead of turning into queries never sent. Samples belong to the phase in which
 * they were due.
 */
function queryLoad(client: HttpClient, users: Array<{ userId: string; plan: TenantPlan }>, qps: number) {
  const samples: QuerySample[] = [];
  const random = seededRandom(5);
  const centres = topicCentres(DIM, 3);
  const loop = startOpenLoop({
    ratePerS: qps,
    send: (i) => {
      const { userId, plan } = users[i % users.length]!;
      return client.request('POST', '/v1/query', {
        user_id: userId,
        query: 'what do I remember?',
        embedding: Array.from(samplePoint(plan, centres, random)),
        k: 8,
        candidates: 24,
        rerank: false,
      });
    },
    onSettled: ({ scheduledAt, latencyMs, lateMs, value }) =>
      samples.push({ scheduledAt, latencyMs, lateMs, ok: value?.status === 200 }),
  });
  return {
    /** Queries due from `from` on that have answered (or failed). */
    settledSince(from: number): number {
      return samples.reduce((n, s) => n + (s.scheduledAt >= from ? 1 : 0), 0);
    },
    /** The queries due in [from, to): latencies of the answered ones, errors, generator lateness. */
    between(from: number, to: number): { latencies: number[]; errors: number; lateMs: number[] } {
      const due = samples.filter((s) => s.scheduledAt >= from && s.scheduledAt < to);
      return {
        latencies: due.filter((s) => s.ok).map((s) => s.latencyMs),
        errors: due.filter((s) => !s.ok).length,
        lateMs: due.map((s) => s.lateMs),
      };
    },
    /** Sends what is already due, then waits for every answer. */
    stop: () => loop.stop(),
  };
}

/** Seals one chunk's three fields with `seal` (a DEK for v2 rows, the key ring for legacy v1 rows). */
function benchChunk(
  userHash: string,
  seal: (plain: Buffer, aad: Buffer) => Buffer,
  docId: string,
  embedding: Float32Array | number[],
) {
  const id = randomUUID();
  return {
    id,
    docId,
    source: 'bench',
    textCipher: seal(Buffer.alloc(500, 0x61), chunkAad(userHash, id, 'text')),
    metaCipher: seal(Buffer.from('{"bench":true}'), chunkAad(userHash, id, 'meta')),
    embCipher: seal(Buffer.alloc(DIM * 4), chunkAad(userHash, id, 'embedding')),
    embedding,
  };
}

/**
 * The daemon's DEK cache misses so far (each one fetches and unwraps a tenant's DEKs), read from
 * its `/metrics`: shows that the daemon was unwrapping DEKs during each phase. NaN if unreadable.
 */
async function dekFetches(client: HttpClient): Promise<number> {
  const res = await client.request('GET', '/metrics').catch(() => undefined);
  if (res?.status !== 200 || typeof res.body !== 'string') return NaN;
  const match = /^memvault_tenant_key_cache_events_total\{event="miss"\} (\d+)/m.exec(res.body);
  return match ? Number(match[1]) : 0;
}

/** The suite's options (`memvault bench keys --name value`), with their quick and full defaults. */
function keysOptions(ctx: SuiteContext) {
  return {
    tenantCount: intOption(ctx, 'tenants', ctx.quick ? 1_000 : 10_000),
    chunkCount: intOption(ctx, 'chunks', ctx.quick ? 5_000 : 100_000),
    baselineMs: intOption(ctx, 'baseline-ms', ctx.quick ? 3_000 : 10_000),
    qps: intOption(ctx, 'qps', 20, 1, 500),
    legacyPct: intOption(ctx, 'legacy-pct', 20, 0, 100),
    rotateSamples: intOption(ctx, 'rotate-samples', ctx.quick ? 200 : 400, 1, 100_000),
    dekCacheTtlMs: intOption(ctx, 'dek-cache-ttl-ms', 1_000, 1_000, 86_400_000),
  };
}
type KeysOptions = ReturnType<typeof keysOptions>;

/**
 * Fresh key material: keys 1 and 2 as base64 (for the daemon's environment), the rings the jobs
 * use (1 alone, then 1+2 with 2 or 1 active), and the tenant HMAC key.
 */
function benchKeyMaterial() {
  const b64 = [generateKeyBase64(), generateKeyBase64()] as const;
  const hmacB64 = generateKeyBase64();
  const ring1 = new KeyRing([EncryptionKey.fromBase64(1, b64[0], 'bench')], 1);
  const ring12 = new KeyRing(
    [EncryptionKey.fromBase64(1, b64[0], 'bench'), EncryptionKey.fromBase64(2, b64[1], 'bench')],
    2,
  );
  return {
    b64,
    hmacB64,
    tenantKey: TenantHmacKey.fromBase64(hmacB64, 'bench'),
    ring1,
    ring12,
    ring21: ring12.withActiveKey(1),
  };
}
type KeyMaterial = ReturnType<typeof benchKeyMaterial>;

/**
 * Padding tenants (a DEK under key 1, no chunks) that bring the tenant count to N; inserted in bulk
 * as the superuser (setup, not measured). Returns their hashes.
 */
async function createPaddingTenants(
  admin: Pool,
  ring1: KeyRing,
  count: number,
  progress: Progress,
): Promise<string[]> {
  const padding = Array.from({ length: Math.max(0, count) }, () => randomBytes(32).toString('hex'));
  progress.stage(`creating ${padding.length.toLocaleString('en-US')} padding tenant keys under key 1`);
  for (let start = 0; start < padding.length; start += 2_000) {
    const slice = padding.slice(start, start + 2_000);
    const deks = slice.map((_, j) => generateDataKey(start + j + 1));
    await admin.query(
      `insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id)
       select * from unnest($1::text[], $2::int[], $3::bytea[], $4::int[])`,
      [slice, deks.map((d) => d.id), deks.map((d, j) => ring1.wrapDataKey(d, slice[j]!)), deks.map(() => 1)],
    );
    progress.tick(Math.min(start + 2_000, padding.length), padding.length, 'tenant keys');
  }
  if (padding.length) await admin.query("select setval('memory.tenant_key_id_seq', $1)", [padding.length]);
  return padding;
}

/**
 * Writes the planned tenants' chunks: each tenant's oldest `legacyPct`% are legacy (v1, sealed
 * directly under key 1, as before per-tenant keys); the rest are sealed under the tenant's DEK,
 * which the daemon's TenantKeyStore creates on the tenant's first v2 write (memory.add_tenant_key,
 * wrapped under 1). Returns how many legacy chunks were written.
 */
async function writeTenantChunks(
  app: Pool,
  plans: TenantPlan[],
  ring1: KeyRing,
  options: Pick<KeysOptions, 'chunkCount' | 'legacyPct'>,
  progress: Progress,
): Promise<number> {
  const { chunkCount, legacyPct } = options;
  const legacyTotal = plans.reduce((n, p) => n + Math.round((p.size * legacyPct) / 100), 0);
  progress.stage(
    `writing ${chunkCount.toLocaleString('en-US')} chunks: ${legacyTotal.toLocaleString('en-US')} legacy (v1), the rest under tenant DEKs (v2)`,
  );
  const store = new TenantKeyStore(app, () => ring1);
  const random = seededRandom(11);
  const centres = topicCentres(DIM, 3);
  let written = 0;
  for (const plan of plans) {
    const legacy = Math.round((plan.size * legacyPct) / 100);
    for (let start = 0; start < plan.size; start += 1_000) {
      const end = Math.min(start + 1_000, plan.size);
      const v1 = Array.from({ length: Math.max(0, Math.min(end, legacy) - start) }, (_, i) =>
        benchChunk(
          plan.userHash,
          (plain, aad) => ring1.seal(plain, aad),
          `doc-${(start + i) % 50}`,
          samplePoint(plan, centres, random),
        ),
      );
      if (v1.length) await storeSealedChunks(app, plan.userHash, v1, 1, 1);
      const v2Count = end - start - v1.length;
      if (v2Count > 0) {
        const dek = await store.activeKey(plan.userHash);
        const v2 = Array.from({ length: v2Count }, (_, i) =>
          benchChunk(
            plan.userHash,
            (plain, aad) => sealWithDataKey(dek, plain, aad),
            `doc-${(start + v1.length + i) % 50}`,
            samplePoint(plan, centres, random),
          ),
        );
        await storeSealedChunks(app, plan.userHash, v2, dek.id, 2);
      }
      written += end - start;
      progress.tick(written, chunkCount, 'chunks');
    }
    // A tenant made only of legacy rows still holds a DEK, as every tenant does once it has
    // written since per-tenant keys: rotation has one DEK per tenant to re-wrap.
    if (legacy === plan.size) await store.activeKey(plan.userHash);
  }
  return legacyTotal;
}

/**
 * Splits the run into phases: each is the span [its start, the next one's start), and queries
 * belong to the phase in which they were due, whenever they were sent or answered. `end(name)`
 * closes the current phase (noting the daemon's DEK fetches during it) and returns its end time.
 */
async function phaseClock(client: HttpClient) {
  const boundaries: Array<{ name: string; from: number; dekFetches: number }> = [];
  let fetchesSoFar = await dekFetches(client);
  let phaseFrom = Number.NEGATIVE_INFINITY;
  return {
    boundaries,
    async end(name: string): Promise<number> {
      const to = performance.now();
      const now = await dekFetches(client);
      boundaries.push({ name, from: phaseFrom, dekFetches: now - fetchesSoFar });
      fetchesSoFar = now;
      phaseFrom = to;
      return to;
    },
  };
}

/**
 * Rotates the KEK in rounds that alternate the target key and end on key 2 (an odd count), until
 * `rotateSamples` queries due since `from` have answered, or after three times the time that
 * should take (a stalled daemon must not hang the suite).
 */
async function rotateInRounds(
  admin: Pool,
  keys: KeyMaterial,
  load: ReturnType<typeof queryLoad>,
  from: number,
  options: Pick<KeysOptions, 'rotateSamples' | 'qps'>,
  progress: Progress,
): Promise<{ rounds: number; rewrapped: number; seconds: number }> {
  const { rotateSamples, qps } = options;
  const deadline = performance.now() + (3_000 * rotateSamples) / qps;
  let rounds = 0;
  let rewrapped = 0;
  const t0 = performance.now();
  const answered = () => load.settledSince(from);
  while (rounds % 2 === 0 || (answered() < rotateSamples && performance.now() < deadline)) {
    rounds++;
    rewrapped += await rotateKek(admin, rounds % 2 === 1 ? keys.ring12 : keys.ring21, { batchSize: 1_000 });
    progress.tick(Math.min(answered(), rotateSamples), rotateSamples, `queries (round ${rounds})`);
  }
  return { rounds, rewrapped, seconds: (performance.now() - t0) / 1000 };
}

async function runKeys(ctx: SuiteContext) {
  const startedAt = new Date();
  const options = keysOptions(ctx);
  const { chunkCount, baselineMs, qps, legacyPct, rotateSamples, dekCacheTtlMs } = options;
  const keys = benchKeyMaterial();

  const cluster = await ctx.cluster();
  const db = await cluster.createDatabase('keys', DIM);
  const pools = db.openPools({ adminMax: 4, appMax: 4 });
  const { admin, app } = pools;
  let stopDaemon: (() => Promise<unknown>) | undefined;
  try {
    // Users whose hashes the daemon computes with the same HMAC key; each owns a planned tenant.
    const users = planTenants(chunkCount, 7).map((plan, i) => {
      const userId = `keys-user-${i}`;
      return { userId, plan: { ...plan, userHash: keys.tenantKey.hash(userId) } };
    });
    const plans = users.map((u) => u.plan);
    // The tenants with chunks get their DEKs the daemon's way, in writeTenantChunks.
    const padding = await createPaddingTenants(
      admin,
      keys.ring1,
      options.tenantCount - plans.length,
      ctx.progress,
    );
    const legacyTotal = await writeTenantChunks(app, plans, keys.ring1, options, ctx.progress);
    await admin.query('analyze memory.memory_chunks');

    ctx.progress.stage('starting the daemon (memvault serve, child process)');
    const daemon = await spawnDaemon({
      databaseUrl: db.appUrl,
      keys: { MEMORY_ENCRYPTION_KEY: '', MEMORY_TENANT_HMAC_KEY: keys.hmacB64 },
      env: {
        MEMORY_ENCRYPTION_KEYS: `1:${keys.b64[0]},2:${keys.b64[1]}`,
        MEMORY_ENCRYPTION_ACTIVE_KEY_ID: '1',
        MEMVAULT_DEK_CACHE_TTL_MS: String(dekCacheTtlMs),
      },
    });
    stopDaemon = daemon.stop;
    // Only users with chunks are queried (the padding tenants hold a DEK but no rows).
    const load = queryLoad(daemon.client, users, qps);
    const phases = await phaseClock(daemon.client);
    ctx.progress.stage(`query load ${qps}/s: ${baselineMs} ms baseline`);
    await new Promise((r) => setTimeout(r, baselineMs));
    const rotateFrom = await phases.end('before');

    const tenants = plans.length + padding.length;
    ctx.progress.stage(
      `rotating the KEK for ${tenants.toLocaleString('en-US')} tenants in rounds until ${rotateSamples} queries are answered`,
    );
    const rotation = await rotateInRounds(admin, keys, load, rotateFrom, options, ctx.progress);
    await phases.end('rotate');

    ctx.progress.stage(`re-sealing ${legacyTotal.toLocaleString('en-US')} legacy chunks`);
    const t0 = performance.now();
    const resealed = await resealChunks(admin, keys.ring12, {
      batchSize: 1_000,
      total: legacyTotal,
      onProgress: (p) => ctx.progress.tick(p.done, p.total, 'reseal'),
    });
    const resealS = (performance.now() - t0) / 1000;
    const loadEnd = await phases.end('reseal');
    await load.stop();
    const byPhase = Object.fromEntries(
      phases.boundaries.map((b, i) => [
        b.name,
        { ...load.between(b.from, phases.boundaries[i + 1]?.from ?? loadEnd), dekFetches: b.dekFetches },
      ]),
    );
    return buildResult('keys', ctx, startedAt, {
      settings: {
        tenants,
        chunks: chunkCount,
        legacyChunks: legacyTotal,
        legacyPct,
        qps,
        baselineMs,
        rotateSamples,
        rotateRounds: rotation.rounds,
        dekCacheTtlMs,
        batchSize: 1_000,
      },
      ...keysReport(byPhase, { ...rotation, tenants }, { resealed, seconds: resealS }, options),
    });
  } finally {
    await stopDaemon?.();
    await pools.end();
    await db.drop();
  }
}

type PhaseSamples = ReturnType<ReturnType<typeof queryLoad>['between']> & { dekFetches: number };

/** The suite's metrics, tables and series from the per-phase query samples and the jobs' counts. */
function keysReport(
  phases: Record<string, PhaseSamples>,
  rotation: { rounds: number; rewrapped: number; seconds: number; tenants: number },
  reseal: { resealed: number; seconds: number },
  options: KeysOptions,
): { metrics: Metric[]; tables: Table[]; series: Record<string, unknown> } {
  const { rounds, rewrapped, tenants } = rotation;
  const rotateS = rotation.seconds;
  const { resealed } = reseal;
  const resealS = reseal.seconds;
  const { chunkCount, legacyPct, qps, dekCacheTtlMs } = options;
  const stats = Object.fromEntries(
    Object.entries(phases).map(([k, v]) => [
      k,
      {
        ...percentiles(v.latencies),
        errors: v.errors,
        dekFetches: v.dekFetches,
        lateP99: percentiles(v.lateMs).p99,
      },
    ]),
  );
  const metrics: Metric[] = [
    // One rotation of every tenant (the mean over the rounds), comparable with one `keys rotate`.
    { name: 'kek_rotate_s', value: rotateS / rounds, unit: 's', better: 'lower' },
    { name: 'kek_rotate_tenants_per_s', value: rewrapped / rotateS, unit: 'tenants/s', better: 'higher' },
    { name: 'reseal_s', value: resealS, unit: 's', better: 'lower' },
    { name: 'reseal_chunks_per_s', value: resealed / resealS, unit: 'chunks/s', better: 'higher' },
    { name: 'query_p95_before_ms', value: stats.before!.p95, unit: 'ms', better: 'lower' },
    {
      name: 'query_p95_during_rotate_ratio',
      value: ratio(stats.rotate!.p95, stats.before!.p95),
      unit: 'x',
      better: 'lower',
    },
    {
      name: 'query_p95_during_reseal_ratio',
      value: ratio(stats.reseal!.p95, stats.before!.p95),
      unit: 'x',
      better: 'lower',
    },
  ];
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  const tables: Table[] = [
    {
      title: 'key jobs',
      header: ['job', 'items', 'seconds', 'items/s'],
      rows: [
        [
          `rotate KEK (re-wrap DEKs), ${rounds} rounds of ${tenants}`,
          String(rewrapped),
          fmt(rotateS),
          fmt(rewrapped / rotateS),
        ],
        [
          `re-seal legacy chunks (${legacyPct}% of ${chunkCount})`,
          String(resealed),
          fmt(resealS),
          fmt(resealed / resealS),
        ],
      ],
      note: `one rotation of ${tenants} tenants takes ${fmt(rotateS / rounds)} s on average`,
    },
    {
      title: `POST /v1/query (k 8, 24 candidates, rerank off) at ${qps}/s to the daemon, latency in ms`,
      header: ['phase', 'n', 'p50', 'p95', 'p99', 'errors', 'p95 vs before', 'DEK fetches', 'sent late p99'],
      rows: Object.entries(stats).map(([phase, s]) => [
        phase,
        String(s.n),
        fmt(s.p50),
        fmt(s.p95),
        fmt(s.p99),
        String(s.errors),
        fmt(ratio(s.p95, stats.before!.p95)),
        String(s.dekFetches),
        fmt(s.lateP99),
      ]),
      note: `open loop: n = queries due in the phase (answered), each timed from when it was due, so a send delayed by the rotation's work on this process's event loop counts as latency; sent late = how long after that the generator sent it (included in the latency); DEK fetches = the daemon's DEK cache misses (fetch + unwrap), frequent because its cache lasts ${dekCacheTtlMs} ms, so it keeps unwrapping DEKs under whichever key the rotation has reached; same database, same run; the jobs and the load share the 2 cores`,
    },
  ];
  return {
    metrics,
    tables,
    series: {
      samples: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v.latencies.length])),
      dekFetches: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v.dekFetches])),
      latencies: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v.latencies])),
      sentLateMs: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v.lateMs])),
    },
  };
}
