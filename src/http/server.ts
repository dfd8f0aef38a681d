/**
 * The HTTP front door on node:http. Per request: a request id, the route, the in-flight limit
 * (429), the bearer token on /v1 routes (401), the handler, and one structured log line with the
 * route pattern, status and duration — never the path (it carries user ids), a parameter or a body.
 *
 * Shutdown is two-phase (see daemon.ts): `stopIntake()` closes the listening socket and answers
 * requests that still arrive on kept-alive connections with 503; `drained()` resolves once the
 * requests already being handled have been answered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { log } from '../log.js';
import type { TokenCheck } from './auth.js';
import { readJsonObject } from './body.js';
import { ByteBudget } from './byte-budget.js';
import { HttpError, toErrorResponse } from './errors.js';
import { inFlightGauge, observeRequest } from './metrics.js';
import { requestIdOf } from './request-id.js';
import { sendJson, sendStream, sendText } from './respond.js';
import { rawPath, type Route, Router, type RouteResult } from './router.js';

export interface ApiServerOptions {
  routes: Route[];
  checkToken: TokenCheck;
  maxBodyBytes: number;
  /** Bytes of request bodies held at once across all requests; a body past it is refused (429). */
  maxBodyBytesInFlight: number;
  /** Above this many concurrent /v1 requests, answer 429 instead of queueing without bound. */
  maxInFlight: number;
  requestTimeoutMs: number;
}

export interface ApiServer {
  readonly server: Server;
  listen(port: number, host: string): Promise<{ port: number; host: string }>;
  /** Phase 1: stop accepting connections; later requests on open connections get 503. */
  stopIntake(): Promise<void>;
  /** Resolves when no request is in flight. */
  drained(): Promise<void>;
  /** Ends every connection (the force path). */
  destroyConnections(): void;
  readonly inFlight: number;
}

export function createApiServer(options: ApiServerOptions): ApiServer {
  const router = new Router(options.routes);
  const bodyBudget = new ByteBudget(options.maxBodyBytesInFlight);
  // Every request, for the gauge and the drain.
  let inFlight = 0;
  // Only the /v1 (authenticated) ones, for MEMVAULT_MAX_IN_FLIGHT: probes, scrapes and 404s must
  // neither use up the API's capacity nor be refused when the API is saturated.
  let apiInFlight = 0;
  let draining = false;
  let closed: Promise<void> | undefined;
  const idleWaiters: Array<() => void> = [];

  const finished = (): void => {
    inFlight--;
    inFlightGauge.dec();
    if (inFlight === 0) idleWaiters.splice(0).forEach((resolve) => resolve());
  };

  const server = createServer((req, res) => {
    inFlight++;
    inFlightGauge.inc();
    void handle(req, res).finally(finished);
  });
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = Math.min(options.requestTimeoutMs, 60_000);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const method = req.method ?? 'GET';
    let routeLabel = 'unmatched';
    let status = 500;
    let holdsApiSlot = false;
    // Held from the first body byte until the answer is written: the parsed body lives that long.
    const bodyBytes = bodyBudget.open();
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      if (draining) {
        throw new HttpError(503, 'shutting_down', 'the server is shutting down; retry on another instance', {
          headers: { connection: 'close', 'retry-after': '1' },
        });
      }
      const { route, params } = router.match(method, rawPath(req.url ?? '/'));
      routeLabel = route.pattern;
      if (route.auth) {
        if (apiInFlight >= options.maxInFlight) {
          throw new HttpError(429, 'too_many_requests', 'too many requests in flight; retry later', {
            headers: { 'retry-after': '1' },
          });
        }
        apiInFlight++;
        holdsApiSlot = true;
        options.checkToken(req.headers.authorization);
      }
      const result = await route.handle({
        req,
        res,
        params,
        query: queryOf(req.url ?? '/'),
        requestId,
        signal: abort.signal,
        body: () => readJsonObject(req, options.maxBodyBytes, bodyBytes),
      });
      if ('written' in result) {
        status = res.statusCode;
      } else {
        status = result.status;
        await write(res, result);
      }
    } catch (thrown) {
      const response = toErrorResponse(thrown);
      status = response.status;
      if (response.unexpected) {
        const error = thrown as { name?: string; code?: string; reason?: string };
        // Name and code only: messages of foreign errors may quote parameters.
        log.error(
          {
            req_id: requestId,
            route: routeLabel,
            err: { name: error?.name, code: error?.code, reason: error?.reason },
          },
          'request failed',
        );
      }
      sendJson(res, response.status, response.body, response.headers);
    } finally {
      if (holdsApiSlot) apiInFlight--;
      bodyBytes.release();
      const ms = performance.now() - started;
      observeRequest(routeLabel, method, status, ms / 1000);
      const line = { req_id: requestId, method, route: routeLabel, status, ms: Math.round(ms * 10) / 10 };
      if (routeLabel.startsWith('/v1')) log.info(line, 'request');
      else log.debug(line, 'request');
      // A request whose body was never read (401, 404, 503...) must not leave the socket stuck.
      if (!req.complete) req.resume();
    }
  }

  return {
    server,
    get inFlight() {
      return inFlight;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve({ port: typeof address === 'object' && address ? address.port : port, host });
        });
      });
    },
    stopIntake() {
      draining = true;
      closed ??= new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return Promise.resolve();
    },
    drained() {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    destroyConnections() {
      server.closeAllConnections();
    },
  };
}

/** The query string's parameters (URLSearchParams decodes; it never throws). */
function queryOf(target: string): URLSearchParams {
  const start = target.indexOf('?');
  if (start === -1) return new URLSearchParams();
  const end = target.indexOf('#', start);
  return new URLSearchParams(target.slice(start + 1, end === -1 ? undefined : end));
}

async function write(res: ServerResponse, result: Exclude<RouteResult, { written: true }>): Promise<void> {
  if ('text' in result) sendText(res, result.status, result.text, result.contentType);
  else if ('stream' in result)
    await sendStream(res, result.status, result.stream, result.contentType, result.headers);
  else sendJson(res, result.status, result.json, result.headers);
}
