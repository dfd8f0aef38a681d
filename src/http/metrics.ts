/**
 * HTTP and connection-pool metrics on the shared registry. Routes are labelled by their pattern
 * (`/v1/users/:user_id`), never by the path, which carries user ids.
 */
import { Gauge, Histogram } from 'prom-client';

import { type Pool, poolUsage } from '../db/pool.js';
import { registry } from '../metrics.js';

const requestSeconds = new Histogram({
  name: 'memvault_http_request_seconds',
  help: 'HTTP request duration by route pattern, method and status',
  labelNames: ['route', 'method', 'status'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const inFlight = new Gauge({
  name: 'memvault_http_in_flight',
  help: 'requests being handled',
  registers: [registry],
});

// A process may run more than one daemon (tests); the gauges report the sum over live pools.
const pools = new Set<Pool>();
const usage = (pick: (u: ReturnType<typeof poolUsage>) => number) => {
  let sum = 0;
  for (const pool of pools) sum += pick(poolUsage(pool));
  return sum;
};

new Gauge({
  name: 'memvault_db_pool_clients',
  help: 'database pool clients by state',
  labelNames: ['state'],
  registers: [registry],
  collect() {
    this.set(
      { state: 'total' },
      usage((u) => u.total),
    );
    this.set(
      { state: 'idle' },
      usage((u) => u.idle),
    );
    this.set(
      { state: 'busy' },
      usage((u) => u.total - u.idle),
    );
    this.set(
      { state: 'waiting' },
      usage((u) => u.waiting),
    );
  },
});
new Gauge({
  name: 'memvault_db_pool_max',
  help: 'configured pool size (MEMVAULT_DB_POOL_MAX)',
  registers: [registry],
  collect() {
    this.set(usage((u) => u.max));
  },
});
new Gauge({
  name: 'memvault_db_pool_utilisation',
  help: 'busy clients / pool size (the guardrail: <= 0.8 at 100 RPS)',
  registers: [registry],
  collect() {
    const max = usage((u) => u.max);
    this.set(max === 0 ? 0 : usage((u) => u.total - u.idle) / max);
  },
});

export function trackPool(pool: Pool): () => void {
  pools.add(pool);
  return () => pools.delete(pool);
}

export function observeRequest(route: string, method: string, status: number, seconds: number): void {
  requestSeconds.observe({ route, method, status: String(status) }, seconds);
}

export const inFlightGauge = inFlight;
