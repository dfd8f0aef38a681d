/**
 * Small statistics for benchmarks. Medians and nearest-rank percentiles only: with the tens to
 * thousands of samples a suite takes on a shared machine, anything fancier would suggest more
 * precision than the numbers have.
 */

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

/** Milliseconds elapsed since `start` (a performance.now() reading). */
export function since(start: number): number {
  return performance.now() - start;
}

/** Times one async call in milliseconds. */
export async function timeAsync<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/**
 * Runs two measurements per round, alternating which goes first, so that drift (CPU frequency,
 * a neighbour's load, a growing table) falls on both sides alike. Returns both series and the
 * per-round ratio a/b.
 */
export async function interleave(
  rounds: number,
  a: (round: number) => Promise<number>,
  b: (round: number) => Promise<number>,
): Promise<{ a: number[]; b: number[]; ratios: number[] }> {
  const out = { a: [] as number[], b: [] as number[], ratios: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    let va: number;
    let vb: number;
    if (round % 2 === 0) {
      va = await a(round);
      vb = await b(round);
    } else {
      vb = await b(round);
      va = await a(round);
    }
    out.a.push(va);
    out.b.push(vb);
    out.ratios.push(va / vb);
  }
  return out;
}

/** A seeded PRNG (mulberry32): corpora and query sets are the same on every run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample from a uniform source (Box-Muller). */
export function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
