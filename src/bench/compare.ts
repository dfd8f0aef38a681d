/**
 * The non-regression gate: compares two bench JSON files metric by metric. A metric regresses
 * when it moved in its worse direction by more than the tolerance (relative): for a
 * higher-is-better metric, candidate < baseline x (1 - tol); for lower-is-better, candidate >
 * baseline x (1 + tol).
 *
 * A metric the baseline has but the candidate lacks, or reports as NaN / Infinity, also fails the
 * gate: that is what a crashed suite looks like (`bench all` keeps going and writes the suites that
 * finished), and a gate that only listed it would pass the crash. Metrics new in the candidate are
 * listed, never counted. Comparing a --quick run with a full one is refused unless the caller says
 * so: sizes and rounds differ, so the numbers are not like for like.
 */
import { readFile } from 'node:fs/promises';

import { type BenchFile, fmt, type Metric, type SuiteResult, type Table } from './result.js';

export interface Comparison {
  key: string;
  unit: string;
  better: Metric['better'];
  baseline: number;
  /** NaN when the candidate lacks the metric. */
  candidate: number;
  /** candidate / baseline */
  change: number;
  verdict: 'ok' | 'better' | 'regression' | 'missing' | 'not finite';
}

export interface CompareReport {
  tolerance: number;
  rows: Comparison[];
  onlyInBaseline: string[];
  onlyInCandidate: string[];
  /** Metrics the candidate has but whose value is not a finite number (the baseline's is). */
  notFinite: string[];
  /** Suites whose quick flag differs between the files (e.g. `ann: baseline full, candidate quick`). */
  mixedRuns: string[];
  regressions: number;
  /** Regressions + missing + not-finite metrics: anything above zero fails the gate. */
  failures: number;
}

export async function readBenchFile(file: string): Promise<BenchFile> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<BenchFile> & Partial<SuiteResult>;
  // A single suite's result is accepted too, as written by `bench <suite> --json`.
  if (parsed.format === 'memvault-bench/1' && Array.isArray(parsed.results)) return parsed as BenchFile;
  if (typeof parsed.suite === 'string' && Array.isArray(parsed.metrics))
    return { format: 'memvault-bench/1', results: [parsed as SuiteResult] };
  throw new Error(`${file}: not a memvault bench result`);
}

function flatten(file: BenchFile): Map<string, Metric> {
  const out = new Map<string, Metric>();
  for (const result of file.results)
    for (const metric of result.metrics) out.set(`${result.suite}.${metric.name}`, metric);
  return out;
}

/**
 * The results of the named suites only (`--only crypto,ann`): to hold a one-suite candidate
 * against a `bench all` baseline without every other suite counting as missing. A name neither
 * file knows is an error, so a typo cannot turn the gate into a no-op.
 */
export function onlySuites(
  baseline: BenchFile,
  candidate: BenchFile,
  names: string[],
): [BenchFile, BenchFile] {
  const known = new Set([...baseline.results, ...candidate.results].map((r) => r.suite));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) throw new Error(`--only: no results for ${unknown.join(', ')} in either file`);
  const pick = (file: BenchFile): BenchFile => ({
    ...file,
    results: file.results.filter((r) => names.includes(r.suite)),
  });
  return [pick(baseline), pick(candidate)];
}

/** JSON cannot hold NaN or Infinity: JSON.stringify writes null, so a value may arrive as null. */
function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Suites present in both files whose runs differ in --quick. */
export function mixedRuns(baseline: BenchFile, candidate: BenchFile): string[] {
  const quick = new Map(baseline.results.map((r) => [r.suite, r.quick]));
  const label = (q: boolean): string => (q ? 'quick' : 'full');
  return candidate.results
    .filter((r) => quick.has(r.suite) && quick.get(r.suite) !== r.quick)
    .map((r) => `${r.suite}: baseline ${label(quick.get(r.suite)!)}, candidate ${label(r.quick)}`);
}

export function compareBench(baseline: BenchFile, candidate: BenchFile, tolerance: number): CompareReport {
  const a = flatten(baseline);
  const b = flatten(candidate);
  const rows: Comparison[] = [];
  for (const [key, base] of a) {
    // A baseline without a usable value cannot judge anything: nothing to hold the candidate to.
    if (!finite(base.value)) continue;
    const cand = b.get(key);
    if (!cand || !finite(cand.value)) {
      rows.push({
        key,
        unit: base.unit,
        better: base.better,
        baseline: base.value,
        candidate: cand && typeof cand.value === 'number' ? cand.value : Number.NaN,
        change: Number.NaN,
        verdict: cand ? 'not finite' : 'missing',
      });
      continue;
    }
    const change =
      base.value === 0 ? (cand.value === 0 ? 1 : Number.POSITIVE_INFINITY) : cand.value / base.value;
    const worse =
      base.better === 'higher'
        ? cand.value < base.value * (1 - tolerance)
        : cand.value > base.value * (1 + tolerance);
    const better =
      base.better === 'higher'
        ? cand.value > base.value * (1 + tolerance)
        : cand.value < base.value * (1 - tolerance);
    rows.push({
      key,
      unit: base.unit,
      better: base.better,
      baseline: base.value,
      candidate: cand.value,
      change,
      verdict: worse ? 'regression' : better ? 'better' : 'ok',
    });
  }
  const regressions = rows.filter((r) => r.verdict === 'regression').length;
  const onlyInBaseline = rows.filter((r) => r.verdict === 'missing').map((r) => r.key);
  const notFinite = rows.filter((r) => r.verdict === 'not finite').map((r) => r.key);
  return {
    tolerance,
    rows,
    onlyInBaseline,
    onlyInCandidate: [...b.keys()].filter((k) => !a.has(k)),
    notFinite,
    mixedRuns: mixedRuns(baseline, candidate),
    regressions,
    failures: regressions + onlyInBaseline.length + notFinite.length,
  };
}

const VERDICT_LABEL: Record<Comparison['verdict'], string> = {
  ok: 'ok',
  better: 'better',
  regression: 'REGRESSION',
  missing: 'MISSING',
  'not finite': 'NOT FINITE',
};

export function compareTable(report: CompareReport): Table {
  const missing = report.onlyInBaseline.length;
  const notFinite = report.notFinite.length;
  return {
    title: `bench compare (tolerance ${(report.tolerance * 100).toFixed(0)}%, relative)`,
    header: ['metric', 'better', 'baseline', 'candidate', 'change', 'verdict'],
    rows: report.rows.map((r) => [
      r.key,
      r.better,
      `${fmt(r.baseline)} ${r.unit}`.trim(),
      r.verdict === 'missing' ? '(absent)' : `${fmt(r.candidate)} ${r.unit}`.trim(),
      Number.isFinite(r.change) ? `${((r.change - 1) * 100).toFixed(1)}%` : 'n/a',
      VERDICT_LABEL[r.verdict],
    ]),
    note:
      `${report.failures === 0 ? 'PASS' : 'FAIL'}: ${report.regressions} regression(s), ` +
      `${missing} missing from candidate, ${notFinite} not finite in candidate` +
      (report.onlyInCandidate.length ? `; new in candidate: ${report.onlyInCandidate.length}` : ''),
  };
}

/** The failing metrics by kind, for a reader who does not want to scan the whole table. */
export function failureLines(report: CompareReport): string[] {
  const lines: string[] = [];
  const regressed = report.rows.filter((r) => r.verdict === 'regression').map((r) => r.key);
  if (regressed.length) lines.push(`regressed: ${regressed.join(', ')}`);
  if (report.onlyInBaseline.length)
    lines.push(`missing from candidate (did its suite fail?): ${report.onlyInBaseline.join(', ')}`);
  if (report.notFinite.length) lines.push(`not finite in candidate: ${report.notFinite.join(', ')}`);
  return lines;
}
