/** The client's errors: what the server answered (MemvaultApiError) or why no answer came. */

/** The server answered with an error body: `code` and `field` are the API's (docs/API.md). */
export class MemvaultApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The offending field for input errors: `user_id`, `chunks[3].text`, `body`. */
  readonly field: string | undefined;
  readonly requestId: string | undefined;
  /** The server's Retry-After, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(
    status: number,
    body: { code: string; message: string; field?: string | undefined },
    details: { requestId?: string | undefined; retryAfterMs?: number | undefined } = {},
  ) {
    super(body.message);
    this.name = 'MemvaultApiError';
    this.status = status;
    this.code = body.code;
    this.field = body.field;
    this.requestId = details.requestId;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** No usable answer: `timeout` (the client's `timeoutMs` passed), `network`, or `bad_response`. */
export class MemvaultClientError extends Error {
  readonly code: 'timeout' | 'network' | 'bad_response';
  constructor(code: MemvaultClientError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MemvaultClientError';
    this.code = code;
  }
}
