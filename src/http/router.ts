/**
 * A small route table: method + path pattern (`/v1/users/:user_id/docs/:doc_id`). Routing works on
 * the raw request target: it is split on `/` first and each segment percent-decoded after, with no
 * other normalisation. So an id containing `/` must be sent as %2F and can never change which route
 * matches, `\` is an ordinary character of an id, and `.`, `..`, `%2E%2E` are ids like any other
 * (WHATWG URL parsing, `new URL()`, would turn `\` into `/` and resolve dot segments first).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { HttpError } from './errors.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RequestContext {
  req: IncomingMessage;
  /** For a handler that writes the answer itself (POST /mcp) and returns `{ written: true }`. */
  res: ServerResponse;
  params: Record<string, string>;
  /** The query string's parameters. */
  query: URLSearchParams;
  requestId: string;
  /** Aborted when the client goes away before the answer is written. */
  signal: AbortSignal;
  /** Reads the JSON object body (415 / 413 / 400 on the way). */
  body(): Promise<Record<string, unknown>>;
}

export type RouteResult =
  | { written: true }
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; text: string; contentType: string }
  | {
      status: number;
      /** Written piece by piece, waiting for the socket to drain (constant memory). */
      stream: AsyncIterable<string>;
      contentType: string;
      headers?: Record<string, string>;
    };

export interface Route {
  method: Method;
  pattern: string;
  /** Bearer token required (every /v1 route). */
  auth: boolean;
  /** The operation of the API contract (src/api/schema.ts) this route serves. */
  operationId?: string;
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
  const raw: [string, string][] = [];
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = actual[i]!;
    if (want.startsWith(':')) {
      if (got === '') return undefined;
      raw.push([want.slice(1), got]);
    } else if (want !== got) {
      return undefined;
    }
  }
  // Decode only once the whole path matched: a bad segment in a path no route takes is a 404.
  return Object.fromEntries(raw.map(([name, segment]) => [name, decodeSegment(segment, name)]));
}

function decodeSegment(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'invalid_input', `${name}: is not valid percent-encoding`, { field: name });
  }
}

/**
 * The path of a request target as sent: the origin-form up to `?` or `#`; for the absolute form
 * (`http://host/path`, which proxies send) the part after the authority. Not decoded, not normalised.
 */
export function rawPath(target: string): string {
  let path = target;
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(path);
  if (absolute) path = path.slice(absolute[0].length);
  const end = path.search(/[?#]/);
  if (end !== -1) path = path.slice(0, end);
  return path.startsWith('/') ? path : `/${path}`;
}
