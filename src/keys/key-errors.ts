/**
 * Typed errors of KEK retirement (docs/KEYS.md). The database raises MV011 (a retired key named
 * for wrapping or sealing) and MV012 (retire refused while the key is needed); the db layer maps
 * unknown project codes to a neutral DatabaseError, so this module gives them their meaning.
 */
import { DatabaseError } from '../db/errors.js';
import { MemvaultError } from '../errors.js';

export const KEY_RETIRED_SQLSTATE = 'MV011';
export const KEY_IN_USE_SQLSTATE = 'MV012';

/** Retire refused: the key is active, or DEKs or legacy chunks still need it (MV012). */
export class KeyInUseError extends MemvaultError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('key_in_use', message, options);
  }
}

/** Something tried to wrap or seal under a retired key-ring key, or make it active (MV011). */
export class KeyRetiredError extends MemvaultError {
  readonly kekId: number;
  constructor(kekId: number, options?: { cause?: unknown }) {
    super(
      'key_retired',
      `key-ring key ${kekId} is retired: nothing may be wrapped or sealed under it; make a live key active ` +
        '(MEMORY_ENCRYPTION_ACTIVE_KEY_ID, or `memvault keys rotate --to <id>`)',
      options,
    );
    this.kekId = kekId;
  }
}

function sqlstateOf(thrown: unknown): string | undefined {
  return thrown instanceof DatabaseError ? thrown.sqlstate : undefined;
}

/**
 * Runs `fn`, turning MV011 into KeyRetiredError for `kekId` and MV012 into KeyInUseError (whose
 * message, written by our SQL, carries the counts). Other errors pass through unchanged.
 */
export async function withKeyErrors<T>(kekId: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (thrown) {
    const sqlstate = sqlstateOf(thrown);
    if (sqlstate === KEY_RETIRED_SQLSTATE) throw new KeyRetiredError(kekId, { cause: thrown });
    if (sqlstate === KEY_IN_USE_SQLSTATE) {
      const cause = (thrown as DatabaseError).cause as { message?: unknown } | undefined;
      const detail = typeof cause?.message === 'string' ? cause.message : `key ${kekId} is in use`;
      throw new KeyInUseError(`${detail}: run \`memvault keys rotate\` and \`memvault reseal\` first`, {
        cause: thrown,
      });
    }
    throw thrown;
  }
}
