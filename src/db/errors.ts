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
  keyRetired: 'MV011',
  keyInUse: 'MV012',
  maintenanceUnsupported: 'MV013',
  tenantProofRefused: 'MV014',
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
/**
 * A tenant procedure refused the caller's tenant proof (MV014): missing, wrong, or the tenant has
 * no verifier while proofs are required. For the daemon: another MEMORY_TENANT_HMAC_KEY than the
 * one the tenant was written with, or a verifier tampered with in the table.
 */
export class TenantProofError extends DatabaseError {}
/** A maintenance procedure called from a session that is not memory_maintainer (MV009). */
export class MaintenanceForbiddenError extends DatabaseError {}
/** A write sealed under a data key that is no longer the tenant's active one (MV010): re-read keys, retry. */
export class StaleDataKeyError extends DatabaseError {}
/**
 * Something tried to wrap or seal under a retired key-ring key, or make it active (MV011). `kekId`
 * is the refused key as the database named it (for rehash, the key in a blob's header, which may
 * not be the job's active key).
 */
export class KeyRetiredError extends DatabaseError {
  readonly kekId: number | undefined;
  constructor(kekId: number | undefined, sqlstate: string, cause?: unknown) {
    super(
      'key_retired',
      `key-ring key ${kekId ?? '(unknown)'} is retired: nothing may be wrapped or sealed under it; make a live ` +
        'key active (MEMORY_ENCRYPTION_ACTIVE_KEY_ID, or `memvault keys rotate --to <id>`)',
      sqlstate,
      cause,
    );
    this.kekId = kekId;
  }
}
/** Retire refused (MV012): the key is active, or DEKs or legacy chunks still need it. */
export class KeyInUseError extends DatabaseError {
  readonly kekId: number | undefined;
  constructor(kekId: number | undefined, sqlMessage: string, sqlstate: string, cause?: unknown) {
    // Our SQL writes the message (the key id and the counts, no tenant data), so it is safe to pass on.
    super(
      'key_in_use',
      `${sqlMessage}: run \`memvault keys rotate\` and \`memvault reseal\` first`,
      sqlstate,
      cause,
    );
    this.kekId = kekId;
  }
}
/** A chunk id that already exists for this tenant (unique violation). */
export class DuplicateChunkError extends DatabaseError {}
/** The database could not be reached or the connection broke; safe to retry idempotent work. */
export class DatabaseUnavailableError extends DatabaseError {}
/**
 * A statement ran past the statement timeout (SQLSTATE 57014: a busy or blocked server). Its
 * transaction rolled back, so the request can be retried as it was.
 */
export class DatabaseTimeoutError extends DatabaseError {}

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
  const err = thrown as { code?: string; message?: string; detail?: string };
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (code && argumentCodes[code]) {
    return new ProcedureArgumentError(argumentCodes[code]!, err.message ?? 'invalid argument', code, thrown);
  }
  if (code === 'MV004')
    return new TenantContextError('tenant_context_conflict', err.message ?? '', code, thrown);
  if (code === SQLSTATE.tenantProofRefused)
    return new TenantProofError('tenant_proof_refused', err.message ?? '', code, thrown);
  if (code === 'MV010') return new StaleDataKeyError('stale_data_key', err.message ?? '', code, thrown);
  if (code === SQLSTATE.keyRetired) return new KeyRetiredError(kekIdFromDetail(err.detail), code, thrown);
  if (code === SQLSTATE.keyInUse) {
    return new KeyInUseError(kekIdFromDetail(err.detail), err.message ?? 'the key is in use', code, thrown);
  }
  if (code === 'MV009')
    return new MaintenanceForbiddenError('maintenance_forbidden', err.message ?? '', code, thrown);
  if (code === SQLSTATE.maintenanceUnsupported)
    return new MaintenanceForbiddenError('maintenance_unsupported', err.message ?? '', code, thrown);
  if (code === '57014')
    return new DatabaseTimeoutError('database_timeout', 'the database did not answer in time', code, thrown);
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

/**
 * The key id that db/functions/key_retirement.sql puts in the DETAIL of MV011/MV012 (`kek_id=N`),
 * so the error names the key the database refused rather than one the caller guesses.
 */
function kekIdFromDetail(detail: string | undefined): number | undefined {
  const match = /^kek_id=(\d+)$/.exec(detail ?? '');
  return match ? Number(match[1]) : undefined;
}

function isConnectionLoss(err: { message?: string }): boolean {
  const message = err?.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}
