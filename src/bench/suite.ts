/**
 * What a benchmark suite is: a name, a one-line summary and a run function that returns a
 * SuiteResult. The CLI owns argument parsing, output and the shared database cluster.
 */
import type { BenchCluster } from './cluster.js';
import type { Progress } from './progress.js';
import { hostInfo, type Metric, type SuiteResult, type Table } from './result.js';

export interface SuiteContext {
  quick: boolean;
  progress: Progress;
  /** Started on first use and stopped by the CLI at the end (suites that need no DB never pay). */
  cluster(): Promise<BenchCluster>;
  /** Free-form `--name value` options after the suite name (e.g. --chunks 20000). */
  options: Readonly<Record<string, string>>;
}

export interface Suite {
  name: string;
  summary: string;
  /** The `--name value` options it reads; `bench` refuses any other (a typo must not be ignored). */
  options: readonly string[];
  run(ctx: SuiteContext): Promise<SuiteResult>;
}

export function buildResult(
  suite: string,
  ctx: Pick<SuiteContext, 'quick'>,
  startedAt: Date,
  parts: {
    settings: Record<string, unknown>;
    metrics: Metric[];
    tables: Table[];
    series?: Record<string, unknown>;
  },
): SuiteResult {
  return {
    suite,
    quick: ctx.quick,
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
    host: hostInfo(),
    ...parts,
  };
}

/** An integer option with bounds, e.g. `--chunks 20000`. */
export function intOption(
  ctx: SuiteContext,
  name: string,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = ctx.options[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}
