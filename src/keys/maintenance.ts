/**
 * Transactions for maintenance jobs. Their claims are row locks (FOR UPDATE SKIP LOCKED), so a
 * claim, the work on it and the write-back share one transaction on one client; if the process
 * dies, the transaction rolls back and the rows are claimed again by the next run.
 */
import type pg from 'pg';

import { mapDatabaseError } from '../db/errors.js';

export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (thrown) {
    throw mapDatabaseError(thrown);
  }
  let broken = false;
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (thrown) {
    await client.query('rollback').catch(() => {
      broken = true;
    });
    throw thrown;
  } finally {
    client.release(broken);
  }
}

export interface Progress {
  job: string;
  done: number;
  total: number;
}

export type ProgressListener = (progress: Progress) => void;
