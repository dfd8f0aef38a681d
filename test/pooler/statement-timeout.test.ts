/**
 * The statement timeout without a startup parameter: SET LOCAL in the statement that opens each
 * transaction (src/db/pool.ts). It stops a runaway statement directly and through pgbouncer, and
 * the server connection pgbouncer hands to the next client carries none of it.
 */
import t from 'tap';

import { createPool } from '../../src/db/pool.js';
import { call } from '../../src/db/procedures.js';
import { inTransaction } from '../../src/db/tenant.js';
import { createTestDatabase } from '../helpers/db.js';
import { startPgbouncer } from '../helpers/pgbouncer.js';

const db = await createTestDatabase(t);
// One server connection, so the second client below gets the very connection the first one used.
const bouncer = await startPgbouncer(t, { poolSize: 1 });
t.teardown(() => bouncer.stop()); // before the database is dropped (teardowns run newest first)

for (const [via, url] of [
  ['direct', db.appUrl],
  ['pgbouncer', bouncer.url('memory_app', db.name)],
] as const) {
  t.test(`${via}: a statement over the timeout is cancelled, one under it is not`, async (t) => {
    const pool = createPool({ connectionString: url, max: 2, statementTimeoutMillis: 300 });
    t.teardown(() => pool.end());
    const sqlstate = (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (thrown: { sqlstate?: string }) => thrown.sqlstate,
      );
    t.equal(await sqlstate(call(pool, 'select pg_sleep(3)', [])), '57014', 'cancelled (query_canceled)');
    t.equal(
      await sqlstate(inTransaction(pool, (client) => client.query('select pg_sleep(3)'))),
      '57014',
      'cancelled inside a caller transaction too',
    );
    t.same(await call(pool, 'select pg_sleep(0.05)::text as slept', []), [{ slept: '' }]);
  });

  t.test(
    `${via}: a one-round-trip transaction that fails leaves its connection idle and reusable`,
    async (t) => {
      const pool = createPool({ connectionString: url, max: 1, statementTimeoutMillis: 300 });
      t.teardown(() => pool.end());
      // BEGIN, the statement and COMMIT go out together (src/db/tenant.ts inOneTripTransaction).
      const failed = await call(pool, 'select 1 / 0', []).then(
        () => 'no error',
        (thrown: { sqlstate?: string }) => thrown.sqlstate,
      );
      t.equal(failed, '22012', 'the statement failed (division_by_zero)');
      t.equal(pool.totalCount, 1, 'the connection went back to the pool');
      // Had the failed transaction stayed open, this would fail with 25P02 (transaction aborted).
      const [row] = await call<{ v: string }>(pool, "select current_setting('statement_timeout') as v", []);
      t.equal(row!.v, '300ms', 'the next call runs in a fresh transaction with the timeout');
      t.equal(pool.totalCount, 1, 'on the same connection');
    },
  );
}

t.test('pgbouncer: the next client on the same server connection sees no timeout of ours', async (t) => {
  const url = bouncer.url('memory_app', db.name);
  const timed = createPool({ connectionString: url, max: 1, statementTimeoutMillis: 1234 });
  const other = createPool({ connectionString: url, max: 1, statementTimeoutMillis: 0 });
  t.teardown(() => Promise.all([timed.end(), other.end()]));
  const inside = await inTransaction(timed, (c) =>
    c.query<{ v: string }>("select current_setting('statement_timeout') as v"),
  );
  t.equal(inside.rows[0]!.v, '1234ms', 'set inside the transaction');
  const backend = async (pool: typeof timed) =>
    (
      await pool.query<{ pid: number; v: string }>(
        "select pg_backend_pid() as pid, current_setting('statement_timeout') as v",
      )
    ).rows[0]!;
  const first = await backend(timed);
  const second = await backend(other);
  t.equal(second.pid, first.pid, 'the same server connection');
  t.equal(second.v, '0', 'no statement_timeout left on it');
});
