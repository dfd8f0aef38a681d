/**
 * `memvault bench <suite|all> [--quick] [--json <file>] [--plots <dir>] [--<option> <value>]...`
 * `memvault bench compare <baseline.json> <candidate.json> [--tolerance 0.1] [--allow-mixed] [--only a,b]`
 * `memvault bench list`
 *
 * Tables go to stdout, progress to stderr. Every run writes JSON (default
 * bench/results/<suite>.json) that `bench compare` reads; compare exits 1 on a regression or on a
 * baseline metric the candidate lacks or reports as non-finite (a crashed suite), so it can gate a
 * release (docs/BENCHMARKS.md). It refuses (exit 2) to compare a --quick run with a full one
 * unless --allow-mixed is given. A --<option> that none of the chosen suites declares is refused
 * (exit 2), so a typo cannot silently run the defaults.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { BenchCluster } from '../../bench/cluster.js';
import { compareBench, compareTable, failureLines, onlySuites, readBenchFile } from '../../bench/compare.js';
import { writePlots } from '../../bench/plots.js';
import { createProgress } from '../../bench/progress.js';
import { type BenchFile, renderResult, renderTable, type SuiteResult } from '../../bench/result.js';
import type { Suite, SuiteContext } from '../../bench/suite.js';
import { ALL_SUITES, SUITES } from '../../bench/suites.js';

export const summary = `benchmarks: ${ALL_SUITES.join(' | ')} | all; compare a.json b.json`;

const USAGE = `usage: memvault bench <suite|all> [--quick] [--json <file>] [--plots <dir>] [--<option> <value>]...
       memvault bench compare <baseline.json> <candidate.json> [--tolerance 0.1] [--allow-mixed] [--only a,b]
       memvault bench list
suites: ${ALL_SUITES.join(', ')} (all runs them in this order)`;

interface Parsed {
  positional: string[];
  flags: Set<string>;
  options: Record<string, string>;
}

const BOOLEAN_FLAGS = new Set(['quick', 'no-plots', 'help', 'allow-mixed']);

export function parseArgs(args: string[]): Parsed {
  const parsed: Parsed = { positional: [], flags: new Set(), options: {} };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      parsed.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (BOOLEAN_FLAGS.has(name)) parsed.flags.add(name);
    else if (inline !== undefined) parsed.options[name] = inline;
    else if (i + 1 < args.length) parsed.options[name] = args[++i]!;
    else throw new Error(`--${name} needs a value`);
  }
  return parsed;
}

export async function run(args: string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(args);
  } catch (thrown) {
    console.error(`memvault bench: ${(thrown as Error).message}\n${USAGE}`);
    return 2;
  }
  const [name, ...rest] = parsed.positional;
  if (!name || parsed.flags.has('help')) {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  if (name === 'compare') return compare(rest, parsed);
  if (name === 'list') {
    for (const [suiteName, load] of Object.entries(SUITES)) {
      const suite = await load().catch(() => undefined);
      console.log(`${suiteName.padEnd(8)} ${suite?.summary ?? '(unavailable)'}`);
    }
    return 0;
  }
  const names = name === 'all' ? ALL_SUITES : [name];
  for (const n of names) {
    if (!(n in SUITES)) {
      console.error(`memvault bench: unknown suite '${n}'\n${USAGE}`);
      return 2;
    }
  }
  return runSuites(names, parsed, name);
}

async function runSuites(names: string[], parsed: Parsed, label: string): Promise<number> {
  const { json, plots, ...options } = parsed.options;
  const suites = await Promise.all(names.map((n) => SUITES[n]!()));
  const unknown = unknownOptions(suites, options);
  if (unknown.length) {
    const known = [...new Set(suites.flatMap((s) => s.options))].map((o) => `--${o}`).join(', ') || 'none';
    console.error(
      `memvault bench: unknown option ${unknown.map((o) => `--${o}`).join(', ')} for ${label} (its options: ${known}; always: --quick, --json, --plots, --no-plots)`,
    );
    return 2;
  }
  let cluster: Promise<BenchCluster> | undefined;
  const results: SuiteResult[] = [];
  const failed: string[] = [];
  try {
    for (const [i, n] of names.entries()) {
      const ctx: SuiteContext = {
        quick: parsed.flags.has('quick'),
        progress: createProgress(n),
        options,
        cluster: () => (cluster ??= import('../../bench/cluster.js').then((m) => m.BenchCluster.start())),
      };
      try {
        const result = await suites[i]!.run(ctx);
        results.push(result);
        console.log(`\n${renderResult(result)}\n`);
      } catch (thrown) {
        // One suite failing (say, no PostgreSQL here) must not hide the others' figures.
        failed.push(n);
        console.error(`memvault bench ${n}: failed: ${(thrown as Error).stack ?? String(thrown)}`);
      }
    }
  } finally {
    if (cluster) await (await cluster.catch(() => undefined))?.stop();
  }
  const file: BenchFile = { format: 'memvault-bench/1', results };
  const out =
    json ?? path.join('bench', 'results', `${label}${parsed.flags.has('quick') ? '-quick' : ''}.json`);
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await writeFile(out, JSON.stringify(file, null, 2) + '\n');
  console.error(`memvault bench: wrote ${out}`);
  if (!parsed.flags.has('no-plots')) {
    const dir = plots ?? path.join('bench', 'results');
    const written = await writePlots(results, dir);
    if (written.length) console.error(`memvault bench: plots ${written.join(', ')}`);
  }
  return failed.length ? 1 : 0;
}

/** Options that none of `suites` reads: under `all`, an option is fine if any suite takes it. */
export function unknownOptions(
  suites: readonly Suite[],
  options: Readonly<Record<string, string>>,
): string[] {
  return Object.keys(options).filter((o) => !suites.some((s) => s.options.includes(o)));
}

async function compare(files: string[], parsed: Parsed): Promise<number> {
  const { options } = parsed;
  if (files.length !== 2) {
    console.error(USAGE);
    return 2;
  }
  const tolerance = options.tolerance === undefined ? 0.1 : Number(options.tolerance);
  if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance >= 1) {
    console.error('memvault bench compare: --tolerance must be a number in [0, 1)');
    return 2;
  }
  let [a, b] = (await Promise.all(files.map(readBenchFile))) as [BenchFile, BenchFile];
  if (options.only !== undefined) {
    try {
      [a, b] = onlySuites(
        a,
        b,
        options.only
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      );
    } catch (thrown) {
      console.error(`memvault bench compare: ${(thrown as Error).message}`);
      return 2;
    }
  }
  const report = compareBench(a, b, tolerance);
  if (report.mixedRuns.length) {
    // Quick and full runs differ in sizes and rounds: their numbers are not like for like.
    const what = `quick and full runs mixed (${report.mixedRuns.join('; ')})`;
    if (!parsed.flags.has('allow-mixed')) {
      console.error(
        `memvault bench compare: refusing to compare ${what}; pass --allow-mixed to compare anyway`,
      );
      return 2;
    }
    console.error(`memvault bench compare: warning: ${what}; the verdicts are not like for like`);
  }
  console.log(renderTable(compareTable(report)));
  for (const line of failureLines(report)) console.error(`memvault bench compare: FAIL: ${line}`);
  return report.failures > 0 ? 1 : 0;
}
