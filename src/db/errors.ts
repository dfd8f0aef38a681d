/**
 * The database's error contract: project SQLSTATEs (db/CONVENTIONS.md) and the few standard ones we
 * expect, mapped to typed errors. Anything else stays a DatabaseError with its SQLSTATE attached.
 */
import { MemvaultError } from '../errors.js';

/** Project SQLSTATEs raised by the procedures; keep in step with db/CONVENTIONS.md. */
export const SQLSTATE = {
  invalidUserHash: 'MV001',
  invalidArgument: 'MV002',
  batchShapeMismatch: 'MV003',
  tenantContextConflict: 'MV004',
  unknownSetting: 'MV005',
  invalidSettingValue: 'MV006',
  limitOutOfRange: 'MV007',
  dimensionMismatch: 'MV008',
  maintenanceForbidden: 'MV009',
  staleDataKey: 'MV010',
} as const;

export class DatabaseError extends MemvaultError {
  readonly sqlstate: string | undefined;
  constructor(code: string, message: string, sqlstate: string | undefined, cause?: unknown) {
    super(code, message, { cause });
    this.sqlstate = sqlstate;
  }
}

/** A procedure rejected its arguments (MV001-MV003, MV005-MV008): the caller's input was wrong. */
export class ProcedureArgumentError extends DatabaseError {}
/** The transaction already acts for another tenant (MV004): a programming error in the caller. */
export class TenantContextError extends DatabaseError {}
/** A maintenance procedure called from a session that is not memory_maintainer (MV009). */
export class MaintenanceForbiddenError extends DatabaseError {}
/** A write sealed under a data key that is no longer the tenant's active one (MV010): re-read keys, retry. */
export class StaleDataKeyError extends DatabaseError {}
/** A chunk id that already exists for this tenant (unique violation). */
export class DuplicateChunkError extends DatabaseError {}
/** The database could not be reached or the connection broke; safe to retry idempotent work. */
export class DatabaseUnavailableError extends DatabaseError {}

const argumentCodes: Record<string, string> = {
  MV001: 'invalid_user_hash',
  MV002: 'invalid_argument',
  MV003: 'batch_shape_mismatch',
  MV005: 'unknown_setting',
  MV006: 'invalid_setting_value',
  MV007: 'limit_out_of_range',
  MV008: 'dimension_mismatch',
};

/** SQLSTATEs worth retrying with backoff: serialization failures, deadlocks, a server starting up. */
export const TRANSIENT_SQLSTATES = new Set([
  '40001',
  '40P01',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
]);

const connectionErrnos = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

/**
 * Maps an error thrown by `pg` to a typed error. The message of a project error is written by our
 * SQL for callers; other server messages may quote values, so they are replaced by a neutral text.
 */
export function mapDatabaseError(thrown: unknown): Error {
  if (thrown instanceof MemvaultError) return thrown;
  const err = thrown as { code?: string; message?: string };
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (code && argumentCodes[code]) {
    return new ProcedureArgumentError(argumentCodes[code]!, err.message ?? 'invalid argument', code, thrown);
  }
  if (code === 'MV004')
    return new TenantContextError('tenant_context_conflict', err.message ?? '', code, thrown);
  if (code === 'MV010') return new StaleDataKeyError('stale_data_key', err.message ?? '', code, thrown);
  if (code === 'MV009')
    return new MaintenanceForbiddenError('maintenance_forbidden', err.message ?? '', code, thrown);
  if (code === '23505')
    return new DuplicateChunkError('duplicate_chunk', 'a chunk with this id already exists', code, thrown);
  if (
    (code && (connectionErrnos.has(code) || code.startsWith('08') || code.startsWith('57P'))) ||
    isConnectionLoss(err)
  ) {
    return new DatabaseUnavailableError('database_unavailable', 'the database is unavailable', code, thrown);
  }
  return new DatabaseError(
    'database_error',
    `database error${code ? ` (SQLSTATE ${code})` : ''}`,
    code,
    thrown,
  );
}

function isConnectionLoss(err: { message?: string }): boolean {
  const message = err?.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}
