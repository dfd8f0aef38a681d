/**
 * The error vocabulary shared by every layer. Each error carries a stable machine-readable `code`
 * (and, for bad input, the `field` it concerns) so the HTTP layer can map it to a status without
 * parsing messages. Messages never contain secrets, parameters or plaintext.
 */
export class MemvaultError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad input from a caller: names the offending field. Maps to HTTP 400 / 413 / 422. */
export class ValidationError extends MemvaultError {
  readonly field: string;
  constructor(field: string, message: string, code = 'invalid_input') {
    super(code, `${field}: ${message}`);
    this.field = field;
  }
}

/** A missing or malformed configuration variable. Names the variable, never its value. */
export class ConfigError extends MemvaultError {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('config_error', `${variable}: ${message}`);
    this.variable = variable;
  }
}

/** Turns anything thrown into an Error, so callers can rely on `.message` and `.cause`. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : 'non-error thrown', { cause: thrown });
}

/** The tenant has no such record (another tenant's id included: it is simply not there). HTTP 404. */
export class NotFoundError extends MemvaultError {
  constructor(what: string) {
    super('not_found', `no such ${what}`);
  }
}

/**
 * A conditional write (If-Match) found the record at another version: someone changed it since
 * the caller read it. HTTP 412, with the current version so the caller can re-read and retry.
 */
export class VersionConflictError extends MemvaultError {
  readonly currentVersion: number;
  constructor(currentVersion: number) {
    super('version_conflict', 'the chunk was changed since the version in If-Match; read it again');
    this.currentVersion = currentVersion;
  }
}

/** An Idempotency-Key already used by this tenant for a different request. HTTP 422. */
export class IdempotencyKeyReusedError extends MemvaultError {
  constructor() {
    super(
      'idempotency_key_reused',
      'this Idempotency-Key was used with a different request in the last 24 hours',
    );
  }
}
