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
import { parseArgs } from 'node:util';

import type { BenchCluster } from '../../bench/cluster.js';
import { compareBench, compareTable, failureLines, onlySuites, readBenchFile } from '../../bench/compare.js';
import { writePlots } from '../../bench/plots.js';
import { createProgress } from '../../bench/progress.js';
import { type BenchFile, renderResult, renderTable, type SuiteResult } from '../../bench/result.js';
import type { Suite, SuiteContext } from '../../bench/suite.js';
import { ALL_SUITES, SUITES } from '../../bench/suites.js';
import { HelpRequested, UsageError } from '../args.js';

export const summary = `benchmarks: ${ALL_SUITES.join(' | ')} | all; compare a.json b.json`;

const USAGE = `usage: memvault bench <suite|all> [--quick] [--json <file>] [--plots <dir>] [--<option> <value>]...
       memvault bench compare <baseline.json> <candidate.json> [--tolerance 0.1] [--allow-mixed] [--only a,b]
       memvault bench list
suites: ${ALL_SUITES.join(', ')} (all runs them in this order); scale (by name only: pgbouncer + a replica); search (by name only: the search layout, USE-lite embedder)`;

interface Parsed {
  positional: string[];
  flags: Set<string>;
  options: Record<string, string>;
}

/** The options every run takes; a suite adds its own (Suite.options), all `--name value`. */
const COMMON_OPTIONS = {
  quick: { type: 'boolean' },
  'no-plots': { type: 'boolean' },
  'allow-mixed': { type: 'boolean' },
  json: { type: 'string' },
  plots: { type: 'string' },
  tolerance: { type: 'string' },
  only: { type: 'string' },
} as const;
const ALWAYS = '--quick, --json, --plots, --no-plots';

/**
 * node:util parseArgs, strict, over the common options plus `suiteOptions`: an unknown option or
 * one without its value throws (ERR_PARSE_ARGS_*), so a typo cannot silently run the defaults.
 */
export function parseBenchArgs(args: string[], suiteOptions: readonly string[] = []): Parsed {
  const options: Record<string, { type: 'string' | 'boolean' }> = { ...COMMON_OPTIONS };
  for (const name of suiteOptions) options[name] ??= { type: 'string' };
  const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
  const parsed: Parsed = { positional: positionals, flags: new Set(), options: {} };
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'boolean') {
      if (value) parsed.flags.add(name);
    } else if (typeof value === 'string') parsed.options[name] = value;
  }
  return parsed;
}

/** The first positional argument (the suite, `compare` or `list`), read leniently before the strict parse. */
function firstPositional(args: string[]): string | undefined {
  return parseArgs({ args, options: COMMON_OPTIONS, strict: false, allowPositionals: true }).positionals[0];
}

function usageError(thrown: unknown, label: string, suiteOptions: readonly string[]): UsageError {
  const message = thrown instanceof Error ? thrown.message.split('. ')[0]! : String(thrown);
  const unknown = /^Unknown option '(--[^']+)'/.exec(message)?.[1];
  if (unknown === undefined) return new UsageError(message, USAGE);
  const known = suiteOptions.map((o) => `--${o}`).join(', ') || 'none';
  return new UsageError(
    `unknown option ${unknown} for ${label} (its options: ${known}; always: ${ALWAYS})`,
    USAGE,
  );
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) throw new HelpRequested(USAGE);
  const name = firstPositional(args);
  if (!name) throw new UsageError('missing a suite, all, compare or list', USAGE);
  if (name === 'compare' || name === 'list') {
    let parsed: Parsed;
    try {
      parsed = parseBenchArgs(args);
    } catch (thrown) {
      throw usageError(thrown, name, []);
    }
    if (name === 'compare') return compare(parsed.positional.slice(1), parsed);
    if (parsed.positional.length > 1)
      throw new UsageError(`unexpected argument '${parsed.positional[1]}'`, USAGE);
    for (const [suiteName, load] of Object.entries(SUITES)) {
      const suite = await load().catch(() => undefined);
      console.log(`${suiteName.padEnd(8)} ${suite?.summary ?? '(unavailable)'}`);
    }
    return 0;
  }
  const names = name === 'all' ? ALL_SUITES : [name];
  for (const n of names) {
    if (!(n in SUITES)) throw new UsageError(`unknown suite '${n}'`, USAGE);
  }
  const suites = await Promise.all(names.map((n) => SUITES[n]!()));
  const suiteOptions = [...new Set(suites.flatMap((s) => s.options))];
  let parsed: Parsed;
  try {
    parsed = parseBenchArgs(args, suiteOptions);
  } catch (thrown) {
    throw usageError(thrown, name, suiteOptions);
  }
  if (parsed.positional.length > 1)
    throw new UsageError(`unexpected argument '${parsed.positional[1]}'`, USAGE);
  return runSuites(names, suites, parsed, name);
}

async function runSuites(
  names: string[],
  suites: readonly Suite[],
  parsed: Parsed,
  label: string,
): Promise<number> {
  // compare's options are known to the parser but mean nothing to a run.
  const { json, plots, tolerance, only, ...options } = parsed.options;
  const misplaced = [
    tolerance === undefined ? [] : ['--tolerance'],
    only === undefined ? [] : ['--only'],
  ].flat();
  if (parsed.flags.has('allow-mixed')) misplaced.push('--allow-mixed');
  if (misplaced.length) throw new UsageError(`${misplaced.join(', ')} only applies to bench compare`, USAGE);
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

async function compare(files: string[], parsed: Parsed): Promise<number> {
  const { options } = parsed;
  if (files.length !== 2)
    throw new UsageError('compare takes two files: <baseline.json> <candidate.json>', USAGE);
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
