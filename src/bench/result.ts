/**
 * The JSON every suite writes, and what `bench compare` reads. A result is a flat list of named
 * metrics, each saying which direction is better, so the comparison needs no knowledge of the
 * suites; the tables and free-form details are for people.
 */
import { cpus, loadavg, totalmem } from 'node:os';

export type Better = 'higher' | 'lower';

export interface Goal {
  op: '>=' | '<=';
  value: number;
}

export interface Metric {
  /** Stable across runs: compare matches metrics by suite + name. */
  name: string;
  value: number;
  unit: string;
  better: Better;
  /** A target from the issue, checked and printed; not used by compare. */
  goal?: Goal;
}

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
  note?: string;
}

export interface SuiteResult {
  suite: string;
  quick: boolean;
  startedAt: string;
  durationS: number;
  host: HostInfo;
  /** Sizes, rounds, seeds: what a reader needs to reproduce the run. */
  settings: Record<string, unknown>;
  metrics: Metric[];
  tables: Table[];
  /** Raw series for plots (latency samples, sweeps). */
  series?: Record<string, unknown>;
}

export interface BenchFile {
  format: 'memvault-bench/1';
  results: SuiteResult[];
}

export interface HostInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /**
   * 1, 5 and 15-minute load averages when the suite finished: on a shared machine the first thing
   * to check before trusting an absolute latency. Absent in files written before it was added.
   */
  loadAverage?: number[];
}

export function hostInfo(): HostInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function goalMet(metric: Metric): boolean | undefined {
  if (!metric.goal) return undefined;
  return metric.goal.op === '>=' ? metric.value >= metric.goal.value : metric.value <= metric.goal.value;
}

/** Aligned plain-text table; first column left-aligned, the rest right-aligned (numbers). */
export function renderTable(table: Table): string {
  const widths = table.header.map((h, i) =>
    Math.max(h.length, ...table.rows.map((row) => (row[i] ?? '').length)),
  );
  const render = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    table.title,
    render(table.header),
    render(widths.map((w) => '-'.repeat(w))),
    ...table.rows.map(render),
    ...(table.note ? [`(${table.note})`] : []),
  ].join('\n');
}

/** The metrics that carry goals, as a table of met / missed. */
export function goalsTable(result: SuiteResult): Table | undefined {
  const withGoals = result.metrics.filter((m) => m.goal);
  if (withGoals.length === 0) return undefined;
  return {
    title: `${result.suite}: goals`,
    header: ['metric', 'value', 'goal', 'met'],
    rows: withGoals.map((m) => [
      m.name,
      `${fmt(m.value)} ${m.unit}`.trim(),
      `${m.goal!.op} ${fmt(m.goal!.value)}`,
      goalMet(m) ? 'yes' : 'NO',
    ]),
  };
}

export function renderResult(result: SuiteResult): string {
  const goals = goalsTable(result);
  return [...result.tables, ...(goals ? [goals] : [])].map(renderTable).join('\n\n');
}

/** A number in a width-friendly form: 3 significant digits below 1000, grouped integers above. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (value === 0) return '0';
  return Number(value.toPrecision(digits)).toString();
}

export function ms(value: number): string {
  return Number.isFinite(value) ? value.toFixed(value < 10 ? 2 : 1) : '-';
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : '-';
}
