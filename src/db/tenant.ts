/**
 * Transactions for one tenant. The tenant context is transaction-local (set_config(..., true)), so a
 * pooled connection — or pgbouncer in transaction mode — can never carry it into another request.
 */
import type pg from 'pg';

import { tenantProof } from '../crypto/index.js';
import { mapDatabaseError, TRANSIENT_SQLSTATES } from './errors.js';
import { beginStatement } from './pool.js';

/**
 * The procedures memory_app calls for one tenant (first argument p_user_hash). Each checks the
 * tenant's proof (db/functions/tenant_proof.sql), so `call` enters the tenant with it first;
 * test/db/tenant-procedures.test.ts checks this list against the database's own.
 */
export const TENANT_PROCEDURES: ReadonlySet<string> = new Set([
  'add_tenant_key',
  'claim_idempotency_key',
  'delete_chunk',
  'delete_doc',
  'explain_lookup',
  'explain_search',
  'explain_search_lexical',
  'filter_backlog',
  'forget_tenant',
  'get_chunk',
  'get_chunks',
  'get_tenant_keys',
  'index_chunk',
  'index_chunks',
  'list_chunks',
  'list_chunks_filtered',
  'record_idempotent_response',
  'search',
  'search_candidates',
  'search_candidates_chunks',
  'search_hybrid',
  'search_lexical',
  'search_lexical_chunks',
  'store_filter_tokens',
  'tenant_stats',
  'update_chunk',
]);

/** Where this process gets a tenant's proof: from MEMORY_TENANT_HMAC_KEY unless told otherwise. */
let proofOf: (userHash: string) => string | undefined = tenantProof;

/**
 * Makes this process prove tenants with `prove` instead of the configured MEMORY_TENANT_HMAC_KEY;
 * returns the function that restores the default. For a process that acts for tenants hashed
 * under more than one tenant key at once (tests of `tenants rehash`): the daemon has one key.
 */
export function useTenantProofs(prove: (userHash: string) => string | undefined): () => void {
  proofOf = prove;
  return () => {
    proofOf = tenantProof;
  };
}

/** Clients inside withTenant, and the tenant whose proof their transaction already carries. */
const enteredTenants = new WeakMap<object, string>();

/**
 * Enters the tenant on a client inside a transaction: `memory.set_tenant(user_hash, proof)` sets
 * the tenant context and the proof (transaction-local) that every tenant procedure checks. The
 * proof is a bound parameter, never SQL text, so pg_stat_activity and statement logs without
 * parameters do not show it.
 */
export async function enterTenant(client: Pick<pg.PoolClient, 'query'>, userHash: string): Promise<void> {
  await client.query('select memory.set_tenant($1::text, $2::text)', [userHash, proofOf(userHash) ?? null]);
}

/** The tenant a withTenant transaction on this client has entered, if any. */
export function enteredTenant(client: object): string | undefined {
  return enteredTenants.get(client);
}

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
 * transaction mode keeps the three on one server connection. With `tenant`, the tenant is entered
 * with its proof (memory.set_tenant(user_hash, proof)) in the same trip, before the statement.
 */
export async function inOneTripTransaction<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  text: string,
  values: unknown[],
  tenant?: string,
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
    const [begin, entered, statement, commit] = await Promise.allSettled([
      client.query(beginStatement(pool)),
      tenant === undefined ? Promise.resolve() : enterTenant(client, tenant),
      client.query<R>(text, values),
      client.query('commit'),
    ]);
    // The first failure is the cause; the ones after it follow from it.
    for (const settled of [begin, entered, statement, commit]) {
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
 * Runs fn inside one transaction pinned to userHash: the first statement sets the context and the
 * tenant's proof, and any procedure called for another tenant in the same transaction fails with
 * MV004.
 */
export function withTenant<T>(
  pool: pg.Pool,
  userHash: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    await enterTenant(client, userHash);
    enteredTenants.set(client, userHash);
    try {
      return await fn(client);
    } finally {
      // The context and proof end with the transaction; the client goes back to the pool.
      enteredTenants.delete(client);
    }
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
