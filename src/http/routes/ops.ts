/** Unauthenticated operational routes: liveness, readiness, Prometheus and the rerank metrics. */
import { registry } from '../../metrics.js';
import type { Route } from '../router.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, unknown>;
}

export interface OpsDeps {
  readiness(): Promise<Readiness>;
  memoryMetrics(): unknown;
}

export function opsRoutes(deps: OpsDeps): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/healthz',
      auth: false,
      handle: async () => ({ status: 200, json: { status: 'ok' } }),
    },
    {
      method: 'GET',
      pattern: '/readyz',
      auth: false,
      async handle() {
        const report = await deps.readiness();
        return { status: report.ready ? 200 : 503, json: report };
      },
    },
    {
      method: 'GET',
      pattern: '/metrics',
      auth: false,
      handle: async () => ({
        status: 200,
        text: await registry.metrics(),
        contentType: registry.contentType,
      }),
    },
    {
      method: 'GET',
      pattern: '/metrics/memory',
      auth: false,
      handle: async () => ({ status: 200, json: deps.memoryMetrics() }),
    },
  ];
}
