/**
 * Binds an operation of the API contract (src/api/schema.ts) to a handler: the route's method,
 * path and authentication come from the operation, and its path parameters and body are checked
 * against the operation's schemas before the handler sees them. Every API route is made here, so
 * what the server accepts is what GET /openapi.json documents.
 */
import type { Operation } from '../../api/schema.js';
import { assertMatches } from '../../api/validate.js';
import type { RequestContext, Route, RouteResult } from '../router.js';

export function operationRoute(op: Operation, handle: (ctx: RequestContext) => Promise<RouteResult>): Route {
  // Built once: the validator caches compiled schemas by identity.
  const paramsSchema = op.params ? { type: 'object', properties: op.params } : undefined;
  return {
    method: op.method,
    pattern: routerPattern(op.path),
    auth: op.auth,
    operationId: op.operationId,
    async handle(ctx) {
      if (paramsSchema) assertMatches(paramsSchema, ctx.params);
      const body = op.body;
      let checked: Promise<Record<string, unknown>> | undefined;
      return handle({
        ...ctx,
        body: () => (checked ??= ctx.body().then((value) => (body ? assertMatches(body, value) : value))),
      });
    },
  };
}

/** `/v1/users/{user_id}` → `/v1/users/:user_id`, the router's notation. */
export function routerPattern(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ':$1');
}
