/**
 * Binds an operation of the API contract (src/api/schema.ts) to a handler: the route's method,
 * path and authentication come from the operation, and its path parameters and body are checked
 * against the operation's schemas before the handler sees them. Every API route is made here, so
 * what the server accepts is what GET /openapi.json documents.
 */
import type { IncomingHttpHeaders } from 'node:http';

import type { Operation } from '../../api/schema.js';
import { assertMatches } from '../../api/validate.js';
import { ValidationError } from '../../errors.js';
import type { RequestContext, Route, RouteResult } from '../router.js';

/** The request context, plus the operation's declared headers, decoded and checked. */
export type OperationContext = RequestContext & { headers: Record<string, string> };

export function operationRoute(
  op: Operation,
  handle: (ctx: OperationContext) => Promise<RouteResult>,
): Route {
  // Built once: the validator caches compiled schemas by identity.
  const paramsSchema = op.params ? { type: 'object', properties: op.params } : undefined;
  const headerNames = Object.keys(op.headers ?? {});
  const headersSchema = op.headers
    ? { type: 'object', properties: op.headers, required: headerNames }
    : undefined;
  return {
    method: op.method,
    pattern: routerPattern(op.path),
    auth: op.auth,
    operationId: op.operationId,
    async handle(ctx) {
      if (paramsSchema) assertMatches(paramsSchema, ctx.params);
      const headers = headersSchema
        ? assertMatches(headersSchema, decodedHeaders(ctx.req.headers, headerNames))
        : {};
      const body = op.body;
      let checked: Promise<Record<string, unknown>> | undefined;
      return handle({
        ...ctx,
        headers,
        body: () => (checked ??= ctx.body().then((value) => (body ? assertMatches(body, value) : value))),
      });
    },
  };
}

/** `/v1/users/{user_id}` → `/v1/users/:user_id`, the router's notation. */
export function routerPattern(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ':$1');
}

/** The named headers (absent ones left out), percent-decoded as UTF-8 like path segments. */
function decodedHeaders(all: IncomingHttpHeaders, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = all[name.toLowerCase()];
    if (typeof value !== 'string') continue;
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      throw new ValidationError(name, 'is not valid percent-encoding');
    }
  }
  return out;
}
