/**
 * A small route table: method + path pattern (`/v1/users/:user_id/docs/:doc_id`). Path segments
 * are split before they are decoded, so an id containing `/` must be sent as %2F and can never
 * change which route matches.
 */
import type { IncomingMessage } from 'node:http';

import { HttpError } from './errors.js';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface RequestContext {
  req: IncomingMessage;
  params: Record<string, string>;
  requestId: string;
  /** Aborted when the client goes away before the answer is written. */
  signal: AbortSignal;
  /** Reads the JSON object body (415 / 413 / 400 on the way). */
  body(): Promise<Record<string, unknown>>;
}

export type RouteResult =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; text: string; contentType: string };

export interface Route {
  method: Method;
  pattern: string;
  /** Bearer token required (every /v1 route). */
  auth: boolean;
  handle(ctx: RequestContext): Promise<RouteResult>;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  readonly #routes: Array<Route & { segments: string[] }>;

  constructor(routes: Route[]) {
    this.#routes = routes.map((route) => ({ ...route, segments: route.pattern.split('/').slice(1) }));
  }

  /** The route for this request, or an HttpError: 404 (no such path) or 405 (path, other methods). */
  match(method: string, pathname: string): RouteMatch {
    const segments = pathname.split('/').slice(1);
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    if (allowed.length > 0) {
      throw new HttpError(405, 'method_not_allowed', `use ${allowed.join(' or ')} for this path`, {
        headers: { allow: allowed.join(', ') },
      });
    }
    throw new HttpError(404, 'not_found', 'no such route');
  }
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = actual[i]!;
    if (want.startsWith(':')) {
      if (got === '') return undefined;
      params[want.slice(1)] = decodeSegment(got, want.slice(1));
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}

function decodeSegment(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'invalid_input', `${name}: is not valid percent-encoding`, { field: name });
  }
}
