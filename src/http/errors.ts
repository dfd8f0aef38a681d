/**
 * The API's error contract: every failure is `{ "error": { "code", "message", "field"? } }` with a
 * status chosen from the error's type. Messages come from our own typed errors (written for
 * callers, without values); anything unexpected becomes a bare 500 so that no stack trace, SQL
 * text, key or ciphertext can leak.
 */
import { InvalidTag } from '../crypto/index.js';
import { DatabaseTimeoutError, DatabaseUnavailableError, ProcedureArgumentError } from '../db/errors.js';
import {
  IdempotencyKeyReusedError,
  MemvaultError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.js';
import {
  InferenceFailedError,
  ModelLoadError,
  PoolClosedError,
  QueueFullError,
  RequestAbortedError,
  WorkerCrashedError,
} from '../inference/errors.js';
import { ModelFilesError } from '../models/model-files.js';
import { ModelUnavailableError } from '../models/resolve.js';
import { RerankUnavailableError } from '../rerank/errors.js';

export class HttpError extends MemvaultError {
  readonly status: number;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: string,
    message: string,
    options: { field?: string; headers?: Record<string, string> } = {},
  ) {
    super(code, message);
    this.status = status;
    this.field = options.field;
    this.headers = options.headers ?? {};
  }
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string; field?: string } };
  /** True when the error is ours to fix (5xx other than unavailability): log it loudly. */
  unexpected: boolean;
}

/** A chunk version as a strong ETag: `"3"`. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

const RETRY_SOON = { 'retry-after': '1' };

/** Retry-After in whole seconds, at least 1. */
function retryAfter(ms: number): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) };
}

export function toErrorResponse(error: unknown): ErrorResponse {
  const respond = (
    status: number,
    code: string,
    message: string,
    extra: { field?: string; headers?: Record<string, string> } = {},
  ) => ({
    status,
    headers: extra.headers ?? {},
    body: { error: { code, message, ...(extra.field !== undefined ? { field: extra.field } : {}) } },
    unexpected: false,
  });
  if (error instanceof HttpError) {
    return respond(error.status, error.code, error.message, {
      ...(error.field ? { field: error.field } : {}),
      headers: error.headers,
    });
  }
  if (error instanceof ValidationError)
    return respond(400, error.code, error.message, { field: error.field });
  if (error instanceof NotFoundError) return respond(404, error.code, error.message);
  if (error instanceof VersionConflictError) {
    // The current ETag lets the caller see how far behind it is; the chunk itself stays unsent.
    return respond(412, error.code, error.message, {
      field: 'If-Match',
      headers: { etag: etagOf(error.currentVersion) },
    });
  }
  if (error instanceof IdempotencyKeyReusedError)
    return respond(422, error.code, error.message, { field: 'Idempotency-Key' });
  // The procedure re-checks what the daemon validated; reaching it means a well-formed request the
  // database cannot process (say, an embedding of another dimension than the schema's).
  if (error instanceof ProcedureArgumentError) return respond(422, error.code, error.message);
  if (error instanceof DatabaseTimeoutError) {
    // The statement timeout cancelled the work and its transaction rolled back: a busy or blocked
    // server, not a bug. Nothing was written, so the client can retry the same request.
    return respond(503, 'database_timeout', 'the database did not finish in time; retry later', {
      headers: RETRY_SOON,
    });
  }
  if (error instanceof DatabaseUnavailableError) {
    return respond(503, 'database_unavailable', 'the database is unavailable; retry later', {
      headers: RETRY_SOON,
    });
  }
  if (error instanceof QueueFullError)
    return respond(429, 'overloaded', 'the inference queue is full; retry later', { headers: RETRY_SOON });
  // The inference errors below carry paths, exit codes or ONNX Runtime text in their messages:
  // each gets a fixed message here. The pool and the model loader log the details.
  if (error instanceof RerankUnavailableError) {
    return respond(503, error.code, error.message, { headers: retryAfter(error.retryAfterMs) });
  }
  if (error instanceof RequestAbortedError) {
    // Either pool may raise it (the reranker's budget, or a request's own abort while it waited
    // for the embedder): the message does not guess which.
    return respond(503, 'rerank_unavailable', 'the model could not answer in time; retry later', {
      headers: RETRY_SOON,
    });
  }
  if (error instanceof WorkerCrashedError) {
    return respond(
      503,
      'worker_crashed',
      'an inference worker stopped while serving this request and is being replaced; retry',
      { headers: RETRY_SOON },
    );
  }
  if (error instanceof InferenceFailedError) {
    // The worker survives, but a model failing on validated input is ours to look into.
    return {
      ...respond(503, 'inference_failed', 'the model failed on this request; retry later', {
        headers: RETRY_SOON,
      }),
      unexpected: true,
    };
  }
  if (error instanceof PoolClosedError) {
    // Inference pools close only when the daemon shuts down.
    return respond(503, 'shutting_down', 'the server is shutting down; retry on another instance', {
      headers: RETRY_SOON,
    });
  }
  if (
    error instanceof ModelLoadError ||
    error instanceof ModelFilesError ||
    error instanceof ModelUnavailableError
  ) {
    // No Retry-After: the model folder or download is broken until an operator fixes it.
    return respond(503, 'model_unavailable', 'the model is not available on this server');
  }
  if (error instanceof InvalidTag) {
    // Fail closed: a stored blob that does not authenticate was tampered with or moved. Nothing of
    // the request is answered, and the operator sees it in the logs.
    return {
      ...respond(500, 'integrity_error', 'a stored memory failed its integrity check'),
      unexpected: true,
    };
  }
  return { ...respond(500, 'internal', 'internal error'), unexpected: true };
}
