/**
 * The connection pool. Only src/db imports `pg`. Every pool gets an 'error' listener: an idle
 * client whose connection dies emits 'error' on the pool, which would otherwise crash the process.
 */
import pg from 'pg';

import { log } from '../log.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  connectionString: string;
  max?: number;
  /** How long to wait for a connection before failing (so callers get a 503, not a hang). */
  connectionTimeoutMillis?: number;
  /** Server-side cap per statement, a backstop against runaway queries. */
  statementTimeoutMillis?: number;
  applicationName?: string;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMillis ?? 30_000,
    application_name: options.applicationName ?? 'memvault',
  });
  pool.on('error', (error: Error & { code?: string }) => {
    // Never log the error object whole: it may carry the connection parameters.
    log.warn({ code: error.code }, 'idle database client failed; the pool will replace it');
  });
  return pool;
}

/** Utilisation of the pool as the load test reports it: busy clients / maximum. */
export function poolUsage(pool: pg.Pool): { total: number; idle: number; waiting: number; max: number } {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max };
}
