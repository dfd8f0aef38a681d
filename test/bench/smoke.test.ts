/**
 * Smoke tests of `memvault bench` from the built package (npm test builds first): a tiny crypto
 * run and a tiny ann run (its own private PostgreSQL under a temporary home, never the shared
 * test cluster), their JSON, and `bench compare` gating on a regression. Asserts shapes and exit
 * codes, never timings.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import t from 'tap';

import type { BenchFile } from '../../src/bench/result.js';
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

t.test('bench ann on a tiny corpus: recall in [0, 1], plots written, its cluster removed', async (t) => {
  const out = path.join(dir, 'ann.json');
  const r = await bench([
    'ann',
    '--quick',
    '--chunks',
    '2000',
    '--queries',
    '4',
    '--json',
    out,
    '--plots',
    dir,
  ]);
  t.equal(r.code, 0, r.stderr.slice(-2000));
  const file = JSON.parse(await readFile(out, 'utf8')) as BenchFile;
  const recalls = file.results[0]!.metrics.filter((m) => m.name.includes('recall'));
  t.ok(recalls.length >= 6);
  t.ok(recalls.every((m) => m.value >= 0 && m.value <= 1));
  t.match(await readFile(path.join(dir, 'ann-recall-vs-latency.svg'), 'utf8'), /<svg/);
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
