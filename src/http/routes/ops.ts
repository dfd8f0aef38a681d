/** Unauthenticated operational routes: liveness, readiness, Prometheus, the rerank metrics, the API document. */
import { openApiDocument } from '../../api/openapi.js';
import { operations } from '../../api/schema.js';
import { registry } from '../../metrics.js';
import type { Route } from '../router.js';
import { operationRoute } from './operation.js';

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
    operationRoute(operations.health, async () => ({ status: 200, json: { status: 'ok' } })),
    operationRoute(operations.ready, async () => {
      const report = await deps.readiness();
      return { status: report.ready ? 200 : 503, json: report };
    }),
    operationRoute(operations.metrics, async () => ({
      status: 200,
      text: await registry.metrics(),
      contentType: registry.contentType,
    })),
    operationRoute(operations.memoryMetrics, async () => ({ status: 200, json: deps.memoryMetrics() })),
    operationRoute(operations.openApi, async () => ({ status: 200, json: openApiDocument() })),
  ];
}
