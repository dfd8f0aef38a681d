/**
 * The one Prometheus registry of the process. Every module registers its metrics here so that
 * `GET /metrics` exposes them all; default process metrics are collected once.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const registry = new Registry();
let defaultsCollected = false;

/** Adds Node's process metrics (event loop lag, heap, ...) once; the daemon calls this at start. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry, prefix: 'memvault_' });
}
