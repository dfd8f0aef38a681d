/**
 * Transactions for one tenant. The tenant context is transaction-local (set_config(..., true)), so a
 * pooled connection — or pgbouncer in transaction mode — can never carry it into another request.
 */
import type pg from 'pg';

import { mapDatabaseError, TRANSIENT_SQLSTATES } from './errors.js';
import { beginStatement } from './pool.js';

/**
 * Runs fn inside one transaction on one checked-out client: commit on success, rollback on any
 * error. A client whose rollback fails (its connection is gone) is destroyed, not pooled again.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (thrown) {
    throw mapDatabaseError(thrown);
  }
  let broken = false;
  // A connection that dies while checked out emits 'error' on the client (the pool listens only
  // to idle ones): unhandled, that would crash the process. The failing query rejects as well.
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query(beginStatement(pool));
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (thrown) {
    await client.query('rollback').catch(() => {
      broken = true;
    });
    throw mapDatabaseError(thrown);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * One statement in a transaction of its own, in one round trip. BEGIN with the pool's statement
 * timeout, the statement and COMMIT are written to the connection together (node-postgres pipeline
 * mode, on for every pool client: pool.ts) and the server answers them in order, instead of three
 * round trips of inTransaction. If the statement fails, the transaction is aborted and the COMMIT
 * ends it as a rollback, so the connection is idle again either way. Each message keeps its own
 * Sync, and the last answer (COMMIT's) is the first that leaves the transaction, so a pooler in
 * transaction mode keeps the three on one server connection.
 */
export async function inOneTripTransaction<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (thrown) {
    throw mapDatabaseError(thrown);
  }
  let broken = false;
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    const [begin, statement, commit] = await Promise.allSettled([
      client.query(beginStatement(pool)),
      client.query<R>(text, values),
      client.query('commit'),
    ]);
    // The first failure is the cause; the ones after it follow from it.
    for (const settled of [begin, statement, commit]) {
      if (settled.status === 'rejected') throw settled.reason;
    }
    return (statement as PromiseFulfilledResult<pg.QueryResult<R>>).value;
  } catch (thrown) {
    // A failure that left the transaction open (the COMMIT never ran: the connection broke) must
    // not go back to the pool.
    if (client.getTransactionStatus() !== 'I') broken = true;
    throw mapDatabaseError(thrown);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * Runs fn inside one transaction pinned to userHash: the first statement sets the context, and
 * any procedure called for another tenant in the same transaction fails with MV004.
 */
export function withTenant<T>(
  pool: pg.Pool,
  userHash: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    await client.query('select memory.set_tenant($1::text)', [userHash]);
    return fn(client);
  });
}

/**
 * Retries fn on transient failures (serialization, deadlock, server restarting, lost connection)
 * with jittered exponential backoff. Only for work that is safe to repeat.
 */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 4, baseDelayMs = 50): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (thrown) {
      const sqlstate = (thrown as { sqlstate?: string; code?: string }).sqlstate;
      const transient =
        (sqlstate !== undefined && TRANSIENT_SQLSTATES.has(sqlstate)) ||
        (thrown as { code?: string }).code === 'database_unavailable';
      if (!transient || attempt >= attempts) throw thrown;
      const delay = baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
