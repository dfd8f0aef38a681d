/** Metrics of the key machinery, on the process registry. */
import { Counter, Gauge } from 'prom-client';

import { registry } from '../metrics.js';

export const keyCacheEvents = new Counter({
  name: 'memvault_tenant_key_cache_events_total',
  help: 'Tenant data key cache hits, misses and evictions',
  labelNames: ['event'] as const,
  registers: [registry],
});

export const keyJobItems = new Counter({
  name: 'memvault_key_job_items_total',
  help: 'Items processed by key jobs (rewrap: tenant keys; reseal and rehash: chunks)',
  labelNames: ['job'] as const,
  registers: [registry],
});

export const keyJobRemaining = new Gauge({
  name: 'memvault_key_job_remaining',
  help: 'Items a running key job still has to process, as of its last progress report',
  labelNames: ['job'] as const,
  registers: [registry],
});
