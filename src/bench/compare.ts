/**
 * The non-regression gate: compares two bench JSON files metric by metric. A metric regresses
 * when it moved in its worse direction by more than the tolerance (relative): for a
 * higher-is-better metric, candidate < baseline x (1 - tol); for lower-is-better, candidate >
 * baseline x (1 + tol). Metrics present in only one file are listed, never counted as regressions.
 */
import { readFile } from 'node:fs/promises';

import { type BenchFile, fmt, type Metric, type SuiteResult, type Table } from './result.js';

export interface Comparison {
  key: string;
  unit: string;
  better: Metric['better'];
  baseline: number;
  candidate: number;
  /** candidate / baseline */
  change: number;
  verdict: 'ok' | 'better' | 'regression';
}

export interface CompareReport {
  tolerance: number;
  rows: Comparison[];
  onlyInBaseline: string[];
  onlyInCandidate: string[];
  regressions: number;
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

export function compareBench(baseline: BenchFile, candidate: BenchFile, tolerance: number): CompareReport {
  const a = flatten(baseline);
  const b = flatten(candidate);
  const rows: Comparison[] = [];
  for (const [key, base] of a) {
    const cand = b.get(key);
    if (!cand || !Number.isFinite(base.value) || !Number.isFinite(cand.value)) continue;
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
  return {
    tolerance,
    rows,
    onlyInBaseline: [...a.keys()].filter((k) => !b.has(k)),
    onlyInCandidate: [...b.keys()].filter((k) => !a.has(k)),
    regressions: rows.filter((r) => r.verdict === 'regression').length,
  };
}

export function compareTable(report: CompareReport): Table {
  return {
    title: `bench compare (tolerance ${(report.tolerance * 100).toFixed(0)}%, relative)`,
    header: ['metric', 'better', 'baseline', 'candidate', 'change', 'verdict'],
    rows: report.rows.map((r) => [
      r.key,
      r.better,
      `${fmt(r.baseline)} ${r.unit}`.trim(),
      `${fmt(r.candidate)} ${r.unit}`.trim(),
      Number.isFinite(r.change) ? `${((r.change - 1) * 100).toFixed(1)}%` : 'n/a',
      r.verdict === 'regression' ? 'REGRESSION' : r.verdict,
    ]),
    note:
      `${report.regressions} regression(s)` +
      (report.onlyInBaseline.length ? `; missing from candidate: ${report.onlyInBaseline.join(', ')}` : '') +
      (report.onlyInCandidate.length ? `; new in candidate: ${report.onlyInCandidate.length}` : ''),
  };
}
