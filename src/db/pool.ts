/**
 * The connection pool. Only src/db imports `pg`. Every pool gets an 'error' listener: an idle
 * client whose connection dies emits 'error' on the pool, which would otherwise crash the process.
 *
 * Pooler-safe by construction (pgbouncer in transaction mode, docs/DEPLOYMENT.md "Scaling out"): no
 * startup parameter beyond application_name (pgbouncer refuses `statement_timeout` and `options`
 * with "unsupported startup parameter"), no session state, no named prepared statements. The
 * statement timeout is set with SET LOCAL in the statement that opens each transaction instead.
 * Clients pipeline (node-postgres `pipeline`): a one-statement transaction sends BEGIN, the
 * statement and COMMIT together; every message keeps its own Sync, so poolers see ordinary
 * transactions.
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

/** Each pool's statement timeout, applied per transaction by beginStatement. */
const statementTimeouts = new WeakMap<pg.Pool, number>();

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'memvault',
    // Queries given to a client before the previous one answered are written at once (a
    // transaction of one statement is one round trip: inOneTripTransaction in tenant.ts); code
    // that awaits each query behaves as without it.
    pipeline: true,
  });
  statementTimeouts.set(pool, Math.max(0, Math.trunc(options.statementTimeoutMillis ?? 30_000)));
  pool.on('error', (error: Error & { code?: string }) => {
    // Never log the error object whole: it may carry the connection parameters.
    log.warn({ code: error.code }, 'idle database client failed; the pool will replace it');
  });
  return pool;
}

/**
 * The statement that opens a transaction on this pool's clients: BEGIN and the pool's statement
 * timeout as SET LOCAL, in one simple-protocol round trip. Transaction-local, so a pooler that
 * hands the server connection to another client afterwards hands over no setting of ours.
 */
export function beginStatement(pool: pg.Pool): string {
  const ms = statementTimeouts.get(pool);
  return ms === undefined ? 'begin' : `begin; set local statement_timeout = ${ms}`;
}

/** Utilisation of the pool as the load test reports it: busy clients / maximum. */
export function poolUsage(pool: pg.Pool): { total: number; idle: number; waiting: number; max: number } {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max };
}

/** Runs `fn` on a connection of its own to `url` (not pooled), closed afterwards. */
export async function withConnection<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
