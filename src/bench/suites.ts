/**
 * The suite registry, loaded lazily so `bench crypto` never loads onnxruntime or pg.
 * `all` runs them in this order; suites that need the daemon come last.
 */
import type { Suite } from './suite.js';

export const SUITES: Record<string, () => Promise<Suite>> = {
  crypto: async () => (await import('./crypto.js')).suite,
  vectors: async () => (await import('./vectors.js')).suite,
  rerank: async () => (await import('./rerank.js')).suite,
  ann: async () => (await import('./ann.js')).suite,
  ingest: async () => (await import('./ingest.js')).suite,
  query: async () => (await import('./query.js')).suite,
  chunks: async () => (await import('./chunks.js')).suite,
  filter: async () => (await import('./filter.js')).suite,
  keys: async () => (await import('./keys.js')).suite,
  load: async () => (await import('./load.js')).suite,
  scale: async () => (await import('./scale.js')).suite,
  search: async () => (await import('./search.js')).suite,
  citus: async () => (await import('./citus-scale.js')).suite,
  protected: async () => (await import('./protected.js')).suite,
};

/**
 * The fault scenarios are tests (test/faults), not a suite: they restart PostgreSQL and kill
 * processes. `search` is run by name only: it loads the USE-lite embedder and seeds a large tenant
 * through the write path. `scale` is run by name only: it needs pgbouncer (scripts/ensure-postgres.sh
 * --with-pgbouncer) and starts a second PostgreSQL server (a streaming replica). `citus` is run by
 * name only: it needs the citus extension (scripts/ensure-citus.sh) and starts three servers.
 * `protected` is run by name only: it writes a 10,000-chunk tenant twice through the write path.
 */
export const ALL_SUITES = [
  'crypto',
  'vectors',
  'rerank',
  'ann',
  'ingest',
  'query',
  'chunks',
  'filter',
  'keys',
  'load',
];
