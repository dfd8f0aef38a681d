/**
 * Transactions for one tenant. The tenant context is transaction-local (set_config(..., true)), so a
 * pooled connection — or pgbouncer in transaction mode — can never carry it into another request.
 */
import type pg from 'pg';

import { mapDatabaseError, TRANSIENT_SQLSTATES } from './errors.js';

/**
 * Runs fn inside one transaction pinned to userHash: the first statement sets the context, and
 * any procedure called for another tenant in the same transaction fails with MV004.
 */
export async function withTenant<T>(pool: pg.Pool, userHash: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (thrown) {
    throw mapDatabaseError(thrown);
  }
  let broken = false;
  try {
    await client.query('begin');
    await client.query('select memory.set_tenant($1::text)', [userHash]);
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (thrown) {
    await client.query('rollback').catch(() => {
      broken = true; // the connection is gone; do not return it to the pool
    });
    throw mapDatabaseError(thrown);
  } finally {
    client.release(broken);
  }
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
