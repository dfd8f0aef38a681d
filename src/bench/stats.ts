/**
 * Small statistics for benchmarks. Medians and nearest-rank percentiles only: with the tens to
 * thousands of samples a suite takes on a shared machine, anything fancier would suggest more
 * precision than the numbers have.
 */
import { seededUniform } from '../models/prng.js';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  n: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (q in 0..1): always a value that was actually observed. */
export function percentile(sortedAscending: readonly number[], q: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.min(sortedAscending.length, Math.max(1, Math.ceil(q * sortedAscending.length)));
  return sortedAscending[rank - 1]!;
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    n: sorted.length,
  };
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((s, v) => s + v, 0) / values.length : Number.NaN;
}

/**
 * `sides` rotated by `round` (`[b, c, a]` for round 1 of three), so each side runs first equally
 * often: the suites run every side once per round in this order, so drift (CPU frequency, GC, a
 * neighbour's load, a growing table) and warm caches fall on all sides alike.
 */
export function rotated<T>(sides: readonly T[], round: number): T[] {
  const k = round % sides.length;
  return [...sides.slice(k), ...sides.slice(0, k)];
}

/** A seeded PRNG (mulberry32, shared with the fixture model): corpora and query sets repeat exactly. */
export const seededRandom = seededUniform;

/** A standard normal sample from a uniform source (Box-Muller). */
export function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
