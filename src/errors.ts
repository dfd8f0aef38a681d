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
