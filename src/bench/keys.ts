/**
 * Keys suite (issue 7): time to rotate the key-encryption key for N tenants (re-wrapping one DEK
 * each) and to re-seal M legacy chunks onto per-tenant DEKs, each while a real daemon (child
 * process) serves a steady `/v1/query` load on the same database; the load's p95 before vs during
 * is the cost users would notice.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import {
  chunkAad,
  EncryptionKey,
  generateDataKey,
  generateKeyBase64,
  KeyRing,
  TenantHmacKey,
} from '../crypto/index.js';
import { createPool } from '../db/pool.js';
import { indexChunks } from '../db/procedures.js';
import { resealChunks } from '../keys/reseal.js';
import { rotateKek } from '../keys/rotate.js';
import { planTenants, samplePoint, type TenantPlan, topicCentres } from './corpus.js';
import { spawnDaemon } from './daemon.js';
import type { HttpClient } from './http.js';
import type { Metric, Table } from './result.js';
import { percentiles, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;
const ratio = (value: number, baseline: number) => value / baseline;

export const suite: Suite = {
  name: 'keys',
  summary: 'KEK rotation for N tenants and re-sealing M chunks, with query p95 before vs during',
  run: runKeys,
};

/** Open-loop query load: one `/v1/query` every `intervalMs` on a rotating user, latencies recorded. */
function queryLoad(
  client: HttpClient,
  users: Array<{ userId: string; plan: TenantPlan }>,
  intervalMs: number,
) {
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const random = seededRandom(5);
  const centres = topicCentres(DIM, 3);
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const { userId, plan } = users[i++ % users.length]!;
    const embedding = Array.from(samplePoint(plan, centres, random));
    const started = performance.now();
    const p = client
      .request('POST', '/v1/query', {
        user_id: userId,
        query: 'what do I remember?',
        embedding,
        k: 8,
        candidates: 24,
        rerank: false,
      })
      .then((res) => {
        if (res.status === 200) latencies.push(performance.now() - started);
        else errors++;
      })
      .catch(() => void errors++)
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, intervalMs);
  return {
    take(): { latencies: number[]; errors: number } {
      const taken = { latencies: latencies.splice(0), errors };
      errors = 0;
      return taken;
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}

async function runKeys(ctx: SuiteContext) {
  const startedAt = new Date();
  const tenantCount = intOption(ctx, 'tenants', ctx.quick ? 1_000 : 10_000);
  const chunkCount = intOption(ctx, 'chunks', ctx.quick ? 5_000 : 100_000);
  const baselineMs = intOption(ctx, 'baseline-ms', ctx.quick ? 3_000 : 10_000);
  const qps = intOption(ctx, 'qps', 20, 1, 500);

  const b64 = [generateKeyBase64(), generateKeyBase64()];
  const hmacB64 = generateKeyBase64();
  const tenantKey = TenantHmacKey.fromBase64(hmacB64, 'bench');
  const ring1 = new KeyRing([EncryptionKey.fromBase64(1, b64[0]!, 'bench')], 1);
  const ring12 = new KeyRing(
    [EncryptionKey.fromBase64(1, b64[0]!, 'bench'), EncryptionKey.fromBase64(2, b64[1]!, 'bench')],
    2,
  );

  const cluster = await ctx.cluster();
  const db = await cluster.createDatabase('keys', DIM);
  const admin = createPool({
    connectionString: db.adminUrl,
    max: 4,
    applicationName: 'memvault-bench',
    statementTimeoutMillis: 600_000,
  });
  const app = createPool({ connectionString: db.appUrl, max: 4, applicationName: 'memvault-bench' });
  let stopDaemon: (() => Promise<unknown>) | undefined;
  try {
    // Users whose hashes the daemon computes with the same HMAC key; each owns a planned tenant.
    const users = planTenants(chunkCount, 7).map((plan, i) => {
      const userId = `keys-user-${i}`;
      return { userId, plan: { ...plan, userHash: tenantKey.hash(userId) } };
    });
    const plans = users.map((u) => u.plan);
    // Tenants with one wrapped DEK each, inserted in bulk as the superuser (setup, not measured).
    const tenants = [...plans.map((p) => p.userHash)];
    while (tenants.length < tenantCount) tenants.push(randomBytes(32).toString('hex'));
    ctx.progress.stage(`creating ${tenants.length.toLocaleString('en-US')} tenant keys wrapped under key 1`);
    for (let start = 0; start < tenants.length; start += 2_000) {
      const slice = tenants.slice(start, start + 2_000);
      const deks = slice.map((_, j) => generateDataKey(start + j + 1));
      await admin.query(
        `insert into memory.tenant_keys (user_hash, dek_id, wrapped_dek, kek_id)
         select * from unnest($1::text[], $2::int[], $3::bytea[], $4::int[])`,
        [
          slice,
          deks.map((d) => d.id),
          deks.map((d, j) => ring1.wrapDataKey(d, slice[j]!)),
          deks.map(() => 1),
        ],
      );
      ctx.progress.tick(Math.min(start + 2_000, tenants.length), tenants.length, 'tenant keys');
    }
    await admin.query("select setval('memory.tenant_key_id_seq', $1)", [tenants.length + 1]);

    // Legacy chunks sealed directly under key 1 (scheme 1), through the real procedure.
    ctx.progress.stage(`writing ${chunkCount.toLocaleString('en-US')} legacy chunks sealed under key 1`);
    const random = seededRandom(11);
    const centres = topicCentres(DIM, 3);
    let written = 0;
    for (const plan of plans) {
      for (let start = 0; start < plan.size; start += 1_000) {
        const n = Math.min(1_000, plan.size - start);
        const chunks = Array.from({ length: n }, (_, i) => {
          const id = randomUUID();
          return {
            id,
            docId: `doc-${(start + i) % 50}`,
            source: 'bench',
            textCipher: ring1.seal(Buffer.alloc(500, 0x61), chunkAad(plan.userHash, id, 'text')),
            metaCipher: ring1.seal(Buffer.from('{"bench":true}'), chunkAad(plan.userHash, id, 'meta')),
            embCipher: ring1.seal(Buffer.alloc(DIM * 4), chunkAad(plan.userHash, id, 'embedding')),
            embedding: samplePoint(plan, centres, random),
          };
        });
        await indexChunks(app, plan.userHash, chunks, 1, 1);
        written += n;
        ctx.progress.tick(written, chunkCount, 'chunks');
      }
    }
    await admin.query('analyze memory.memory_chunks');

    ctx.progress.stage('starting the daemon (memvault serve, child process)');
    const daemon = await spawnDaemon({
      databaseUrl: db.appUrl,
      keys: { MEMORY_ENCRYPTION_KEY: '', MEMORY_TENANT_HMAC_KEY: hmacB64 },
      env: { MEMORY_ENCRYPTION_KEYS: `1:${b64[0]},2:${b64[1]}`, MEMORY_ENCRYPTION_ACTIVE_KEY_ID: '1' },
    });
    stopDaemon = daemon.stop;
    const intervalMs = 1000 / qps;
    // Only users with chunks are queried (the padding tenants hold a DEK but no rows).
    const load = queryLoad(daemon.client, users, intervalMs);
    const phases: Record<string, { latencies: number[]; errors: number }> = {};
    ctx.progress.stage(`query load ${qps}/s: ${baselineMs} ms baseline`);
    await new Promise((r) => setTimeout(r, baselineMs));
    phases.before = load.take();

    ctx.progress.stage(`rotating the KEK for ${tenants.length.toLocaleString('en-US')} tenants`);
    let t0 = performance.now();
    const rewrapped = await rotateKek(admin, ring12, {
      batchSize: 1_000,
      onProgress: (p) => ctx.progress.tick(p.done, p.total, 'rewrap'),
    });
    const rotateS = (performance.now() - t0) / 1000;
    phases.rotate = load.take();

    ctx.progress.stage(`re-sealing ${chunkCount.toLocaleString('en-US')} chunks`);
    t0 = performance.now();
    const resealed = await resealChunks(admin, ring12, {
      batchSize: 1_000,
      total: chunkCount,
      onProgress: (p) => ctx.progress.tick(p.done, p.total, 'reseal'),
    });
    const resealS = (performance.now() - t0) / 1000;
    phases.reseal = load.take();
    await load.stop();

    const stats = Object.fromEntries(
      Object.entries(phases).map(([k, v]) => [k, { ...percentiles(v.latencies), errors: v.errors }]),
    );
    const metrics: Metric[] = [
      { name: 'kek_rotate_s', value: rotateS, unit: 's', better: 'lower' },
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
          ['rotate KEK (re-wrap DEKs)', String(rewrapped), fmt(rotateS), fmt(rewrapped / rotateS)],
          ['re-seal chunks', String(resealed), fmt(resealS), fmt(resealed / resealS)],
        ],
      },
      {
        title: `POST /v1/query (k 8, 24 candidates, rerank off) at ${qps}/s to the daemon, latency in ms`,
        header: ['phase', 'n', 'p50', 'p95', 'p99', 'errors', 'p95 vs before'],
        rows: Object.entries(stats).map(([phase, s]) => [
          phase,
          String(s.n),
          fmt(s.p50),
          fmt(s.p95),
          fmt(s.p99),
          String(s.errors),
          fmt(ratio(s.p95, stats.before!.p95)),
        ]),
        note: 'same database, same run; the job and the load share the 2 cores',
      },
    ];
    return buildResult('keys', ctx, startedAt, {
      settings: { tenants: tenants.length, chunks: chunkCount, qps, baselineMs, batchSize: 1_000 },
      metrics,
      tables,
      series: { latencies: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v.latencies])) },
    });
  } finally {
    await stopDaemon?.();
    await Promise.all([admin.end(), app.end()]);
    await db.drop();
  }
}
