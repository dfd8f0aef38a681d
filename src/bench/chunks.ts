/**
 * Chunks suite: reading a tenant's memories back in order, through the product's own routes, on
 * one tenant of 20k sealed chunks (5k with --quick). Per round, interleaved with the order
 * rotated:
 * - `list`: every page of GET /v1/users/{u}/chunks?limit=500 over HTTP, following next_cursor;
 * - `export`: GET /v1/users/{u}/export, the NDJSON stream read as it arrives (never buffered),
 *   with the daemon's resident memory sampled while it streams;
 * - `bare memory.list_chunks`: the same keyset pages of the procedure the routes call, from this
 *   process (sealed rows, nothing opened): the database's share, the baseline of the ratios.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';

import { hmacUser } from '../crypto/index.js';
import { listChunks, type ListPosition } from '../db/procedures.js';
import { planTenants, type TenantPlan, topicCentres } from './corpus.js';
import { type DaemonChild, spawnDaemon } from './daemon.js';
import { loadCorpus } from './loader.js';
import { fmt, type Metric, ms, ratio } from './result.js';
import { benchKeys, randomUserId, seedTenant } from './seed.js';
import { median, rotated, seededRandom } from './stats.js';
import { buildResult, intOption, type Suite, type SuiteContext } from './suite.js';

const DIM = 384;
const PAGE = 500;

export const suite: Suite = {
  name: 'chunks',
  options: ['tenant', 'background', 'rounds'],
  summary: 'list (keyset pages) and NDJSON export throughput over HTTP vs bare memory.list_chunks',
  run: runChunks,
};

type Variant = 'list' | 'export' | 'bare memory.list_chunks';

interface Pass {
  ms: number;
  chunks: number;
  bytes: number;
  /** Per page (list, bare) or per network read (export). */
  pageMs: number[];
  /** The daemon's resident set at the end of the pass (export only), and its peak during it. */
  rssPeakMb?: number;
}

async function runChunks(ctx: SuiteContext) {
  const startedAt = new Date();
  const tenantSize = intOption(ctx, 'tenant', ctx.quick ? 5_000 : 20_000, 1);
  const background = intOption(ctx, 'background', ctx.quick ? 2_000 : 10_000, 0);
  const rounds = intOption(ctx, 'rounds', ctx.quick ? 2 : 5, 1);
  const cluster = await ctx.cluster();
  const db = await cluster.createDatabase('chunks', DIM);
  const pools = db.openPools();
  const { admin, app } = pools;
  let daemon: DaemonChild | undefined;
  try {
    const centres = topicCentres(DIM, 5);
    const random = seededRandom(5);
    if (background > 0) {
      ctx.progress.stage(`other tenants: ${background.toLocaleString('en-US')} chunks`);
      await loadCorpus(admin, planTenants(background, 5), centres, ctx.progress, 5);
    }
    const keys = benchKeys();
    const userId = randomUserId('chunks-bench');
    const shape: TenantPlan = { userHash: '', size: tenantSize, cls: 'large', topics: [2, 11, 23, 37] };
    ctx.progress.stage(
      `seeding the tenant with ${tenantSize.toLocaleString('en-US')} sealed chunks through the write path`,
    );
    await seedTenant(app, DIM, userId, shape, tenantSize, centres, random, ctx.progress);
    await admin.query('analyze memory.memory_chunks');

    ctx.progress.stage('starting the daemon');
    daemon = await spawnDaemon({ databaseUrl: db.appUrl, keys });
    const d = daemon;
    const userHash = hmacUser(userId);
    const userPath = `/v1/users/${encodeURIComponent(userId)}`;

    const passes: Record<Variant, Pass[]> = { list: [], export: [], 'bare memory.list_chunks': [] };
    let errors = 0;
    const variants: Array<[Variant, () => Promise<Pass>]> = [
      ['list', () => listAll(d, userPath)],
      ['export', () => exportAll(d, userPath)],
      ['bare memory.list_chunks', () => bareAll(app, userHash)],
    ];
    const rssBeforeMb = await residentMb(d);
    // Warm-up: one pass each (plans, the tenant's key cache, TCP and page cache).
    for (const [, run] of variants) await run();
    ctx.progress.stage(`${rounds} interleaved rounds`);
    for (let round = 0; round < rounds; round++) {
      for (const [variant, run] of rotated(variants, round)) {
        const pass = await run();
        if (pass.chunks !== tenantSize) errors++;
        passes[variant].push(pass);
      }
      ctx.progress.tick(round + 1, rounds, 'rounds');
    }

    const perSecond = (v: Variant) => median(passes[v].map((p) => (p.chunks / p.ms) * 1000));
    const mbPerSecond = (v: Variant) => median(passes[v].map((p) => p.bytes / 1e6 / (p.ms / 1000)));
    const rate = {
      list: perSecond('list'),
      export: perSecond('export'),
      bare: perSecond('bare memory.list_chunks'),
    };
    const rssPeakMb = Math.max(...passes.export.map((p) => p.rssPeakMb ?? 0));
    const exportMb = median(passes.export.map((p) => p.bytes / 1e6));
    const metrics: Metric[] = [
      { name: 'list.chunks_per_s', value: rate.list, unit: '/s', better: 'higher' },
      { name: 'export.chunks_per_s', value: rate.export, unit: '/s', better: 'higher' },
      { name: 'bare_list_chunks.rows_per_s', value: rate.bare, unit: '/s', better: 'higher' },
      { name: 'list_vs_bare', value: rate.list / rate.bare, unit: 'x', better: 'higher' },
      { name: 'export_vs_bare', value: rate.export / rate.bare, unit: 'x', better: 'higher' },
      { name: 'export.mb_per_s', value: mbPerSecond('export'), unit: 'MB/s', better: 'higher' },
      {
        name: 'list.page_p50_ms',
        value: median(passes.list.flatMap((p) => p.pageMs)),
        unit: 'ms',
        better: 'lower',
      },
      {
        name: 'export.daemon_rss_growth_mb',
        value: rssPeakMb - rssBeforeMb,
        unit: 'MB',
        better: 'lower',
      },
      { name: 'errors', value: errors, unit: '', better: 'lower', goal: { op: '<=', value: 0 } },
    ];
    const row = (v: Variant): string[] => [
      v,
      fmt(perSecond(v)),
      ratio(perSecond(v) / rate.bare),
      ms(median(passes[v].map((p) => p.ms))),
      v === 'export' ? fmt(mbPerSecond(v)) : '-',
    ];
    return buildResult('chunks', ctx, startedAt, {
      settings: {
        tenantChunks: tenantSize,
        otherTenantsChunks: background,
        rounds,
        pageSize: PAGE,
        dim: DIM,
        textBytes: 'about 200 per chunk (bench passages), metadata {"n": i}',
      },
      metrics,
      tables: [
        {
          title: `chunks: every chunk of a ${tenantSize.toLocaleString('en-US')}-chunk tenant, ${rounds} interleaved rounds (medians)`,
          header: ['variant', 'chunks/s', 'vs bare', 'pass ms', 'MB/s'],
          rows: (['list', 'export', 'bare memory.list_chunks'] as Variant[]).map(row),
          note:
            `list: pages of ${PAGE} over HTTP following next_cursor; export: one NDJSON stream of ${fmt(exportMb)} MB ` +
            `read as it arrives; bare: the same pages of the procedure from the bench process, sealed rows ` +
            `(nothing opened, no JSON). Daemon RSS ${fmt(rssBeforeMb)} MB before, peak ${fmt(rssPeakMb)} MB ` +
            `while exporting. Errors (a pass that did not see every chunk once): ${errors}.`,
        },
      ],
      series: { passMs: Object.fromEntries(Object.entries(passes).map(([k, v]) => [k, v.map((p) => p.ms)])) },
    });
  } finally {
    await daemon?.stop();
    await pools.end();
    await db.drop();
  }
}

async function listAll(d: DaemonChild, userPath: string): Promise<Pass> {
  const started = performance.now();
  const pageMs: number[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  let cursor: string | null = null;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const r = await d.client.request('GET', `${userPath}/chunks?limit=${PAGE}${query}`);
    if (r.status !== 200) throw new Error(`list answered ${r.status}: ${JSON.stringify(r.body)}`);
    const page = r.body as { chunks: Array<{ id: string; text: string }>; next_cursor: string | null };
    for (const chunk of page.chunks) {
      seen.add(chunk.id);
      bytes += chunk.text.length;
    }
    pageMs.push(r.ms);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return { ms: performance.now() - started, chunks: seen.size, bytes, pageMs };
}

/** Streams the export, counting lines and bytes, and samples the daemon's RSS meanwhile. */
async function exportAll(d: DaemonChild, userPath: string): Promise<Pass> {
  let rssPeakMb = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      rssPeakMb = Math.max(rssPeakMb, await residentMb(d));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  const started = performance.now();
  const pageMs: number[] = [];
  try {
    const { lines, bytes } = await new Promise<{ lines: number; bytes: number }>((resolve, reject) => {
      const req = http.get(
        `${d.url}${userPath}/export`,
        { headers: { authorization: `Bearer ${d.token}` } },
        (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`export answered ${res.statusCode}`));
            res.resume();
            return;
          }
          let lines = 0;
          let bytes = 0;
          let last = performance.now();
          res.on('data', (piece: Buffer) => {
            bytes += piece.length;
            for (let i = piece.indexOf(10); i !== -1; i = piece.indexOf(10, i + 1)) lines++;
            const now = performance.now();
            pageMs.push(now - last);
            last = now;
          });
          res.on('end', () => resolve({ lines, bytes }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    });
    return { ms: performance.now() - started, chunks: lines, bytes, pageMs, rssPeakMb };
  } finally {
    sampling = false;
    await sampler;
  }
}

async function bareAll(app: Parameters<typeof listChunks>[0], userHash: string): Promise<Pass> {
  const started = performance.now();
  const pageMs: number[] = [];
  let chunks = 0;
  let bytes = 0;
  let before: ListPosition | undefined;
  for (;;) {
    const t0 = performance.now();
    const rows = await listChunks(app, userHash, { limit: PAGE, before });
    pageMs.push(performance.now() - t0);
    chunks += rows.length;
    for (const row of rows) bytes += row.text_cipher.length;
    if (rows.length < PAGE) break;
    before = rows.at(-1)!.position;
  }
  return { ms: performance.now() - started, chunks, bytes, pageMs };
}

/** The daemon's resident set size (Linux /proc), in MB; 0 where it cannot be read. */
async function residentMb(d: DaemonChild): Promise<number> {
  try {
    const status = await readFile(`/proc/${d.child.pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status);
    return kb ? Number(kb[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
