/**
 * The last N latencies in a ring buffer, for in-process p50/p95/p99 (getRerankMetrics(), the
 * daemon's /metrics/memory). Prometheus histograms cover the long view; this answers "right now".
 */
export class LatencyWindow {
  private readonly values: Float64Array;
  private count = 0;
  private next = 0;

  constructor(capacity = 2048) {
    this.values = new Float64Array(capacity);
  }

  add(ms: number): void {
    this.values[this.next] = ms;
    this.next = (this.next + 1) % this.values.length;
    this.count = Math.min(this.count + 1, this.values.length);
  }

  percentiles(): { p50: number; p95: number; p99: number; samples: number } {
    const sorted = Array.from(this.values.subarray(0, this.count)).sort((a, b) => a - b);
    const at = (q: number): number =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), samples: sorted.length };
  }

  reset(): void {
    this.count = 0;
    this.next = 0;
  }
}
