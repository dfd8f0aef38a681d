/**
 * Smoke tests of `memvault bench` from the built package (npm test builds first): a tiny run of
 * every suite that fits in CI — crypto, vectors, ann (on the HNSW shape), ingest, rerank, query,
 * chunks and filter, each database suite on its own private PostgreSQL under a temporary home, never
 * the shared test cluster — their JSON, and `bench compare` gating on a regression, a crashed suite and a quick
 * vs full mix. Asserts shapes, exit codes and sane values; timings only against generous bounds.
 * keys and load are left out: even their smallest runs take minutes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import t, { type Test } from 'tap';

import type { BenchFile, Metric, SuiteResult } from '../../src/bench/result.js';
import { repoRoot } from '../../src/models/repo-paths.js';

const run = promisify(execFile);
const cli = path.join(repoRoot(), 'dist', 'cli', 'main.js');
const dir = await mkdtemp(path.join(tmpdir(), 'memvault-bench-test-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'bench', ...args], {
      timeout: 240_000,
      maxBuffer: 16 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (thrown) {
    const e = thrown as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Runs one suite, asserts exit 0 and returns its single result. */
async function suite(t: Test, name: string, args: string[]): Promise<SuiteResult> {
  const out = path.join(dir, `${name}.json`);
  const r = await bench([name, '--quick', '--json', out, ...args]);
  t.equal(r.code, 0, r.stderr.slice(-2000));
  const file = JSON.parse(await readFile(out, 'utf8')) as BenchFile;
  t.equal(file.format, 'memvault-bench/1');
  t.equal(file.results.length, 1);
  const result = file.results[0]!;
  t.equal(result.suite, name);
  t.equal(result.quick, true);
  return result;
}

function metric(result: SuiteResult, name: string): number {
  const found = result.metrics.find((m: Metric) => m.name === name);
  if (!found)
    throw new Error(
      `${result.suite}: no metric ${name} (has ${result.metrics.map((m) => m.name).join(', ')})`,
    );
  return found.value;
}

const positive = (x: number): boolean => Number.isFinite(x) && x > 0;

t.test('bench crypto --quick prints a table with ratios and writes JSON', async (t) => {
  const out = path.join(dir, 'crypto.json');
  const r = await bench(['crypto', '--quick', '--json', out, '--no-plots']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /seal 1 KiB/);
  t.match(r.stdout, /\d\.\d\dx/);
  const file = JSON.parse(await readFile(out, 'utf8')) as BenchFile;
  t.equal(file.format, 'memvault-bench/1');
  t.ok(file.results[0]!.metrics.some((m) => m.name === 'seal_1_KiB.ratio_vs_node_crypto' && m.value > 0));
});

t.test(
  'bench vectors --quick: the thief finds topics in the clear column and chance in the protected one',
  async (t) => {
    const result = await suite(t, 'vectors', [
      '--queries',
      '20',
      '--noise',
      '0,0.25',
      '--known',
      '16',
      '--factors',
      '1,4',
      '--no-plots',
    ]);
    const clear = metric(result, 'thief_precision10_clear');
    t.ok(clear > 0.5, `clear column: precision@10 ${clear}`);
    for (const tag of ['noise_0', 'noise_0.25']) {
      t.ok(metric(result, `thief_precision10_${tag}`) < 0.15, `${tag}: at chance (64 topics)`);
      t.ok(metric(result, `linkage_twin_found_${tag}`) < 0.1, `${tag}: twins not found across tenants`);
    }
    t.equal(metric(result, 'linkage_twin_found_clear'), 1);
    t.ok(
      metric(result, 'recall10_rescored_x4_noise_0.25') >= metric(result, 'recall10_rescored_x1_noise_0.25'),
    );
    t.ok(positive(metric(result, 'known_plaintext_cos_procrustes_m16_noise_0.25')));
    t.ok(positive(metric(result, 'rotation_speedup_vs_dense')));
    t.same(
      result.tables.map((table) => table.title.split(':')[0]!.split(' (')[0]),
      ["Thief's search across tenants", 'Known plaintext', 'Cost', 'Transform cost per vector, 384-d'],
    );
  },
);

t.test(
  'bench ann on a tiny corpus takes the HNSW shape for large tenants: recall in [0, 1], plots written',
  async (t) => {
    // 2,000 chunks put every tenant under the default ann_exact_max_rows (5,000): lower it so the
    // large tenants (200-1,000 rows here) are searched through the HNSW index, as at full size.
    const result = await suite(t, 'ann', [
      '--chunks',
      '2000',
      '--queries',
      '4',
      '--exact-max-rows',
      '100',
      '--plots',
      dir,
    ]);
    const settings = result.settings as {
      efSearchDefault: number;
      exactMaxRows: number;
      searchShapes: Record<'small' | 'medium' | 'large', { exactTenants: number; hnswTenants: number }>;
    };
    t.equal(
      settings.efSearchDefault,
      400,
      "memory.search's ef_search default (migration 000003), read from the database",
    );
    t.equal(settings.exactMaxRows, 100);
    t.ok(settings.searchShapes.large.hnswTenants > 0, 'large tenants searched by HNSW');
    t.equal(settings.searchShapes.large.exactTenants, 0);
    t.ok(settings.searchShapes.medium.exactTenants > 0, 'tenants under the threshold stay exact');
    const recalls = result.metrics.filter((m) => m.name.includes('recall'));
    t.ok(recalls.length >= 6);
    t.ok(recalls.every((m) => m.value >= 0 && m.value <= 1));
    t.match(await readFile(path.join(dir, 'ann-recall-vs-latency.svg'), 'utf8'), /<svg/);
  },
);

t.test('bench ingest with one tiny batch case: both sides measured, ratio sane', async (t) => {
  const result = await suite(t, 'ingest', ['--base', '0', '--batch', '20', '--rounds', '2', '--no-plots']);
  t.same(result.settings.cases, [{ batch: 20, rounds: 2 }]);
  t.ok(positive(metric(result, 'batch_20.write_path_chunks_per_s')));
  t.ok(positive(metric(result, 'batch_20.plain_insert_rows_per_s')));
  const r = metric(result, 'batch_20.ratio_vs_plain_insert');
  t.ok(r > 0.05 && r < 20, `ratio ${r}`);
});

t.test(
  'bench rerank with 4 rounds: latency and pairs/s against bare session.run, nothing skipped',
  async (t) => {
    const result = await suite(t, 'rerank', ['--rounds', '4', '--no-plots']);
    t.equal(result.settings.rounds, 4);
    const key = '1workerx2threads';
    const p50 = metric(result, `${key}.single_p50_ms`);
    t.ok(positive(p50) && p50 < 10_000, `p50 ${p50} ms`);
    for (const q of ['p95', 'p99']) {
      const v = metric(result, `${key}.single_${q}_ms`);
      t.ok(positive(v) && v < 10_000, `${q} ${v} ms`);
    }
    const samples = result.series?.samples as Record<string, { single: number; concurrent: number }>;
    t.equal(samples['1 worker x 2 threads']?.single, 4, 'one timed call per latency round');
    t.equal(
      samples['1 worker x 2 threads']?.concurrent,
      4 * (result.settings.throughputRounds as number),
      'and each of the 4 callers once per throughput round (4 latency rounds make 1 call each)',
    );
    t.ok(positive(metric(result, `${key}.pairs_per_s`)));
    t.ok(positive(metric(result, `${key}.bare_pairs_per_s`)));
    const ratio = metric(result, `${key}.pairs_per_s_ratio_vs_bare_run`);
    t.ok(ratio > 0.05 && ratio < 20, `throughput ratio ${ratio}`);
    const overhead = metric(result, `${key}.overhead_vs_bare_run`);
    t.ok(overhead > 0.05 && overhead < 20, `latency ratio ${overhead}`);
    t.equal(result.tables[0]!.rows[0]!.at(-1), '0', 'no call fell back to ANN order');
  },
);

t.test(
  'bench query against a real daemon on a tiny tenant: every call answered, every rerank done',
  async (t) => {
    const result = await suite(t, 'query', [
      '--tenant',
      '60',
      '--background',
      '0',
      '--rounds',
      '5',
      // Every rerank must happen: a budget a busy machine cannot miss (the rerank suite measures it).
      '--rerank-circuit-ms',
      '20000',
      '--no-plots',
    ]);
    t.equal(metric(result, 'errors'), 0);
    t.equal(metric(result, 'rerank_on.reranked_fraction'), 1);
    for (const variant of ['rerank_on', 'rerank_off', 'bare_memory_search']) {
      const p50 = metric(result, `${variant}.p50_ms`);
      t.ok(positive(p50) && p50 < 10_000, `${variant} p50 ${p50} ms`);
      const p95 = metric(result, `${variant}.p95_ms`);
      t.ok(positive(p95) && p95 < 10_000, `${variant} p95 ${p95} ms`);
    }
    const latency = result.series?.latency as Record<string, number[]>;
    for (const variant of ['rerank on', 'rerank off', 'bare memory.search'])
      t.equal(latency[variant]?.length, 5, `${variant}: one sample per round`);
  },
);

t.test('bench chunks lists and exports every chunk of a tenant over several pages', async (t) => {
  // 1,200 chunks: three list pages of 500, so the cursor is followed twice.
  const result = await suite(t, 'chunks', [
    '--tenant',
    '1200',
    '--background',
    '0',
    '--rounds',
    '2',
    '--no-plots',
  ]);
  t.equal(metric(result, 'errors'), 0, 'each pass saw every chunk exactly once');
  for (const name of ['list.chunks_per_s', 'export.chunks_per_s', 'bare_list_chunks.rows_per_s']) {
    const value = metric(result, name);
    t.ok(positive(value) && value < 1e7, `${name} ${value}`);
  }
  t.ok(positive(metric(result, 'export_vs_bare')), 'a ratio against the baseline of the same run');
  const passMs = result.series?.passMs as Record<string, number[]>;
  for (const variant of ['list', 'export', 'bare memory.list_chunks'])
    t.equal(passMs[variant]?.length, 2, `${variant}: one pass per round`);
});

t.test('bench filter measures filtered ANN recall against exact filtered search', async (t) => {
  // 3,000 chunks with the exact shape capped at 100 rows, so the large tenants take the HNSW path.
  const result = await suite(t, 'filter', [
    '--chunks',
    '3000',
    '--queries',
    '3',
    '--exact-max-rows',
    '100',
    '--no-plots',
  ]);
  for (const sel of ['rare', 'some', 'half']) {
    const on = metric(result, `${sel}.iterative_on.recall_at_10`);
    t.ok(on >= 0 && on <= 1, `${sel} recall@10 ${on}`);
    t.ok(positive(metric(result, `${sel}.iterative_on.p50_ms`)), `${sel} latency`);
  }
  t.equal(metric(result, 'some.iterative_on.short'), 0, 'a 10% filter fills every result');
});

t.test('bench exits 2 naming an option no chosen suite takes, before running anything', async (t) => {
  const typo = await bench(['ingest', '--quick', '--chunk', '5', '--no-plots']);
  t.equal(typo.code, 2);
  t.match(typo.stderr, /unknown option --chunk for ingest \(its options: --base, --batch, --rounds;/);
  t.notMatch(typo.stderr, /wrote /, 'no suite ran, no JSON written');
  // Under `all`, an option that any suite takes is accepted; one that none takes is not.
  const all = await bench(['all', '--quick', '--tenantz', '3']);
  t.equal(all.code, 2);
  t.match(all.stderr, /unknown option --tenantz for all/);
});

t.test('bench compare exits 1 on a regression beyond the tolerance, 0 otherwise', async (t) => {
  const a = path.join(dir, 'crypto.json');
  const file = JSON.parse(await readFile(a, 'utf8')) as BenchFile;
  const same = await bench(['compare', a, a]);
  t.equal(same.code, 0);
  for (const m of file.results[0]!.metrics) m.value = m.better === 'higher' ? m.value * 0.5 : m.value * 2;
  const b = path.join(dir, 'worse.json');
  await writeFile(b, JSON.stringify(file));
  const worse = await bench(['compare', a, b, '--tolerance', '0.1']);
  t.equal(worse.code, 1);
  t.match(worse.stdout, /REGRESSION/);
  t.equal((await bench(['compare', a])).code, 2, 'usage error');
});

t.test('bench compare fails a candidate whose suite crashed or wrote non-finite values', async (t) => {
  const a = path.join(dir, 'crypto.json');
  const file = JSON.parse(await readFile(a, 'utf8')) as BenchFile;
  // `bench all` keeps going when a suite throws and writes the others: the crashed one is absent.
  const crashed = path.join(dir, 'crashed.json');
  await writeFile(crashed, JSON.stringify({ format: 'memvault-bench/1', results: [] }));
  const missing = await bench(['compare', a, crashed]);
  t.equal(missing.code, 1);
  t.match(missing.stdout, /MISSING/);
  t.match(missing.stderr, /missing from candidate.*crypto\.seal_1_KiB\.ratio_vs_node_crypto/);
  // JSON.stringify writes NaN as null.
  file.results[0]!.metrics[0]!.value = Number.NaN;
  const nan = path.join(dir, 'nan.json');
  await writeFile(nan, JSON.stringify(file));
  const notFinite = await bench(['compare', a, nan]);
  t.equal(notFinite.code, 1);
  t.match(
    notFinite.stderr,
    new RegExp(`not finite in candidate: crypto\\.${file.results[0]!.metrics[0]!.name}`),
  );
});

t.test('bench compare refuses a quick run against a full one unless --allow-mixed', async (t) => {
  const a = path.join(dir, 'crypto.json');
  const file = JSON.parse(await readFile(a, 'utf8')) as BenchFile;
  file.results[0]!.quick = false;
  const full = path.join(dir, 'crypto-full.json');
  await writeFile(full, JSON.stringify(file));
  const refused = await bench(['compare', full, a]);
  t.equal(refused.code, 2);
  t.match(refused.stderr, /crypto: baseline full, candidate quick.*--allow-mixed/);
  const allowed = await bench(['compare', full, a, '--allow-mixed']);
  t.equal(allowed.code, 0);
  t.match(allowed.stderr, /warning: quick and full runs mixed/);
});
