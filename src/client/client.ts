/**
 * A typed client for memvault's HTTP API on the platform's fetch (Node >= 20, no dependencies).
 * One method per operation of the API contract, named by its operationId (src/api/schema.ts).
 *
 * Retries: a 429 or 503 is retried after the server's Retry-After (or a jittered backoff when it
 * sends none), up to `retries` times, unless the wait would exceed `maxRetryDelayMs`: then the
 * error is thrown at once with `retryAfterMs` for the caller to decide. A write (POST) is
 * retried on 503 or a network failure only when it carries an idempotency key, since the server
 * may have done the work before the failure; 429s are refused before any work and always retried.
 */
import { randomUUID } from 'node:crypto';

import { MemvaultApiError, MemvaultClientError } from './errors.js';
import type {
  ChunkPage,
  ChunkRecord,
  CohereRerankRequest,
  CohereRerankResponse,
  CreateChunkRequest,
  CreateChunksRequest,
  DeletedResponse,
  ListChunksRequest,
  QueryRequest,
  QueryResponse,
  Readiness,
  RerankRequest,
  RerankResponse,
  UpdateChunkRequest,
  UpdatedChunk,
} from './types.js';

export interface MemvaultClientOptions {
  /** `http://127.0.0.1:7420`. */
  baseUrl: string;
  /** MEMVAULT_API_TOKEN. */
  token: string;
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt; default 2. */
  retries?: number;
  /** The longest wait before a retry; a longer Retry-After is thrown instead. Default 10 s. */
  maxRetryDelayMs?: number;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** Replaces the global fetch (instrumentation, proxies). */
  fetch?: typeof fetch;
}

export interface CallOptions {
  /** Aborts the call (and its retries). */
  signal?: AbortSignal;
  /** Overrides the client's timeout for this call. */
  timeoutMs?: number;
}

/** Options of a conditional write (PATCH / DELETE of one chunk). */
export interface ConditionalOptions extends CallOptions {
  /** The version read (`ChunkRecord.version`): the server refuses with 412 if the chunk moved on. */
  ifMatch?: number;
}

export interface WriteOptions extends CallOptions {
  /**
   * Sent as `Idempotency-Key`, the same on every retry, so a write the server already did is not
   * done twice. `true`: a random key for this call. Makes the write safe to retry on 503.
   */
  idempotencyKey?: string | true;
}

interface Send {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** Safe to repeat whatever happened to an earlier attempt. */
  idempotent: boolean;
  idempotencyKey?: string | undefined;
  /** Extra request headers (If-Match). */
  headers?: Record<string, string>;
  options: CallOptions;
  /** The answer is text, not JSON (GET /metrics). */
  text?: boolean;
  /** Non-2xx statuses whose non-error body is the answer (GET /readyz's 503). */
  reportStatuses?: number[];
}

const RETRYABLE = new Set([429, 503]);

export class MemvaultClient {
  readonly #baseUrl: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #maxRetryDelayMs: number;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;

  constructor(options: MemvaultClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retries = options.retries ?? 2;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.#headers = { ...options.headers };
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** POST /v1/chunks: store one memory. */
  createChunk(body: CreateChunkRequest, options: WriteOptions = {}): Promise<{ id: string }> {
    return this.#write('/v1/chunks', body, options);
  }

  /** POST /v1/chunks/batch: store up to 1000 memories of one user, all or nothing. */
  createChunks(body: CreateChunksRequest, options: WriteOptions = {}): Promise<{ ids: string[] }> {
    return this.#write('/v1/chunks/batch', body, options);
  }

  /** POST /v1/query: a user's memories most relevant to a query. Reads only: always retryable. */
  queryMemories(body: QueryRequest, options: CallOptions = {}): Promise<QueryResponse> {
    return this.#send({ method: 'POST', path: '/v1/query', body, idempotent: true, options });
  }

  /** GET /v1/users/{user_id}/chunks: a page of a user's memories, newest first. */
  listChunks(userId: string, query: ListChunksRequest = {}, options: CallOptions = {}): Promise<ChunkPage> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) params.set(name, queryValue(value));
    const search = params.size > 0 ? `?${params.toString()}` : '';
    return this.#send({
      method: 'GET',
      path: `${userPath(userId)}/chunks${search}`,
      idempotent: true,
      options,
    });
  }

  /** GET /v1/users/{user_id}/chunks/{id}: one memory with its version. */
  getChunk(userId: string, id: string, options: CallOptions = {}): Promise<ChunkRecord> {
    return this.#send({ method: 'GET', path: chunkPath(userId, id), idempotent: true, options });
  }

  /**
   * PATCH /v1/users/{user_id}/chunks/{id}: correct text and/or metadata. With `ifMatch`, a chunk
   * changed since is a 412 (MemvaultApiError code `version_conflict`). Retried on 503 only with an
   * idempotency key, like every write.
   */
  updateChunk(
    userId: string,
    id: string,
    body: UpdateChunkRequest,
    options: WriteOptions & ConditionalOptions = {},
  ): Promise<UpdatedChunk> {
    const key = options.idempotencyKey === true ? randomUUID() : options.idempotencyKey;
    return this.#send({
      method: 'PATCH',
      path: chunkPath(userId, id),
      body,
      idempotent: key !== undefined,
      idempotencyKey: key,
      ...(options.ifMatch !== undefined ? { headers: { 'if-match': `"${options.ifMatch}"` } } : {}),
      options,
    });
  }

  /** DELETE /v1/users/{user_id}/chunks/{id}: forget one memory (404 when it is not there). */
  deleteChunk(userId: string, id: string, options: ConditionalOptions = {}): Promise<{ deleted: 1 }> {
    return this.#send({
      method: 'DELETE',
      path: chunkPath(userId, id),
      idempotent: true,
      ...(options.ifMatch !== undefined ? { headers: { 'if-match': `"${options.ifMatch}"` } } : {}),
      options,
    });
  }

  /**
   * GET /v1/users/{user_id}/export: every memory of the user, one at a time as the NDJSON stream
   * arrives (memory stays flat). Not retried: a failed export is restarted by the caller.
   */
  async *exportChunks(
    userId: string,
    query: Pick<ListChunksRequest, 'doc_id' | 'source' | 'filter'> = {},
    options: Pick<CallOptions, 'signal'> = {},
  ): AsyncGenerator<ChunkRecord> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) params.set(name, queryValue(value));
    const search = params.size > 0 ? `?${params.toString()}` : '';
    const res = await this.#fetch(`${this.#baseUrl}${userPath(userId)}/export${search}`, {
      headers: { ...this.#headers, authorization: `Bearer ${this.#token}`, accept: 'application/x-ndjson' },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!res.ok || !res.body) {
      const text = await res.text();
      const error = (() => {
        try {
          return (JSON.parse(text) as { error?: { code: string; message: string; field?: string } }).error;
        } catch {
          return undefined;
        }
      })();
      if (!error)
        throw new MemvaultClientError('bad_response', `GET export: ${res.status} without an error body`);
      throw new MemvaultApiError(res.status, error, {
        requestId: res.headers.get('x-request-id') ?? undefined,
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      });
    }
    const decoder = new TextDecoder();
    let pending = '';
    for await (const piece of res.body) {
      pending += decoder.decode(piece, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line !== '') yield JSON.parse(line) as ChunkRecord;
      }
    }
    // A complete export ends with a newline; anything left over is a cut line.
    if (pending.trim() !== '')
      throw new MemvaultClientError('bad_response', 'GET export: the stream was cut');
  }

  /** DELETE /v1/users/{user_id}/docs/{doc_id}: forget one document. */
  forgetDoc(userId: string, docId: string, options: CallOptions = {}): Promise<DeletedResponse> {
    const path = `/v1/users/${encodeURIComponent(userId)}/docs/${encodeURIComponent(docId)}`;
    return this.#send({ method: 'DELETE', path, idempotent: true, options });
  }

  /** DELETE /v1/users/{user_id}: forget a user entirely (crypto-shreds the tenant). */
  forgetUser(userId: string, options: CallOptions = {}): Promise<DeletedResponse> {
    return this.#send({
      method: 'DELETE',
      path: `/v1/users/${encodeURIComponent(userId)}`,
      idempotent: true,
      options,
    });
  }

  /** POST /v1/rerank: `texts` → `{index, score}`; Cohere's `documents` → `{index, relevance_score}`. */
  rerank(body: RerankRequest, options?: CallOptions): Promise<RerankResponse>;
  rerank(body: CohereRerankRequest, options?: CallOptions): Promise<CohereRerankResponse>;
  rerank(
    body: RerankRequest | CohereRerankRequest,
    options: CallOptions = {},
  ): Promise<RerankResponse | CohereRerankResponse> {
    return this.#send({ method: 'POST', path: '/v1/rerank', body, idempotent: true, options });
  }

  /** GET /healthz. */
  health(options: CallOptions = {}): Promise<{ status: 'ok' }> {
    return this.#send({ method: 'GET', path: '/healthz', idempotent: true, options });
  }

  /** GET /readyz: the readiness report, ready or not (its 503 is a report, not an error). */
  ready(options: CallOptions = {}): Promise<Readiness> {
    return this.#send({ method: 'GET', path: '/readyz', idempotent: true, options, reportStatuses: [503] });
  }

  /** GET /metrics: Prometheus text. */
  metrics(options: CallOptions = {}): Promise<string> {
    return this.#send({ method: 'GET', path: '/metrics', idempotent: true, options, text: true });
  }

  /** GET /metrics/memory: the reranker's metrics and state, live settings, listener, pool. */
  memoryMetrics(options: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.#send({ method: 'GET', path: '/metrics/memory', idempotent: true, options });
  }

  /** GET /openapi.json: the OpenAPI 3.1 document of the server's API. */
  openApi(options: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.#send({ method: 'GET', path: '/openapi.json', idempotent: true, options });
  }

  #write<T>(path: string, body: unknown, options: WriteOptions): Promise<T> {
    const key = options.idempotencyKey === true ? randomUUID() : options.idempotencyKey;
    return this.#send({
      method: 'POST',
      path,
      body,
      idempotent: key !== undefined,
      idempotencyKey: key,
      options,
    });
  }

  async #send<T>(send: Send): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt<T>(send);
      if (outcome.ok) return outcome.value;
      const error = outcome.error;
      const retryable =
        error instanceof MemvaultApiError
          ? RETRYABLE.has(error.status) && (error.status === 429 || send.idempotent)
          : error.code === 'network' && send.idempotent;
      if (!retryable || attempt >= this.#retries || send.options.signal?.aborted) throw error;
      const delay =
        error instanceof MemvaultApiError && error.retryAfterMs !== undefined
          ? error.retryAfterMs
          : backoff(attempt);
      if (delay > this.#maxRetryDelayMs) throw error;
      await sleep(delay, send.options.signal);
    }
  }

  async #attempt<T>(
    send: Send,
  ): Promise<{ ok: true; value: T } | { ok: false; error: MemvaultApiError | MemvaultClientError }> {
    const timeoutMs = send.options.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = send.options.signal ? AbortSignal.any([send.options.signal, timeout]) : timeout;
    const headers: Record<string, string> = {
      ...this.#headers,
      authorization: `Bearer ${this.#token}`,
      accept: send.text ? 'text/plain' : 'application/json',
    };
    if (send.body !== undefined) headers['content-type'] = 'application/json';
    if (send.idempotencyKey !== undefined) headers['idempotency-key'] = send.idempotencyKey;
    Object.assign(headers, send.headers);
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(this.#baseUrl + send.path, {
        method: send.method,
        headers,
        signal,
        ...(send.body !== undefined ? { body: JSON.stringify(send.body) } : {}),
      });
      text = await res.text();
    } catch (thrown) {
      if (send.options.signal?.aborted) throw send.options.signal.reason;
      if (timeout.aborted) {
        return {
          ok: false,
          error: new MemvaultClientError(
            'timeout',
            `${send.method} ${send.path}: no answer within ${timeoutMs} ms`,
            {
              cause: thrown,
            },
          ),
        };
      }
      return {
        ok: false,
        error: new MemvaultClientError(
          'network',
          `${send.method} ${send.path}: ${(thrown as Error).message}`,
          {
            cause: thrown,
          },
        ),
      };
    }
    if (send.text && res.ok) return { ok: true, value: text as T };
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch (thrown) {
      return {
        ok: false,
        error: new MemvaultClientError(
          'bad_response',
          `${send.method} ${send.path}: ${res.status}, not JSON`,
          {
            cause: thrown,
          },
        ),
      };
    }
    const body = (json as { error?: { code?: unknown; message?: unknown; field?: unknown } } | undefined)
      ?.error;
    if (res.ok || (send.reportStatuses?.includes(res.status) && body === undefined)) {
      return { ok: true, value: json as T };
    }
    if (typeof body?.code !== 'string') {
      return {
        ok: false,
        error: new MemvaultClientError(
          'bad_response',
          `${send.method} ${send.path}: ${res.status} without an error body`,
        ),
      };
    }
    return {
      ok: false,
      error: new MemvaultApiError(
        res.status,
        {
          code: body.code,
          message: typeof body.message === 'string' ? body.message : body.code,
          field: typeof body.field === 'string' ? body.field : undefined,
        },
        {
          requestId: res.headers.get('x-request-id') ?? undefined,
          retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
        },
      ),
    };
  }
}

/** Retry-After in seconds or as an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Full jitter: up to 100 ms, 200 ms, 400 ms... */
function backoff(attempt: number): number {
  return Math.random() * 100 * 2 ** attempt;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function userPath(userId: string): string {
  return `/v1/users/${encodeURIComponent(userId)}`;
}

function chunkPath(userId: string, id: string): string {
  return `${userPath(userId)}/chunks/${encodeURIComponent(id)}`;
}

/** A query parameter's text: objects (a `filter`) as JSON, the rest as strings. */
function queryValue(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}
