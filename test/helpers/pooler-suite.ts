/**
 * Runs an existing suite's body through a real pgbouncer in transaction mode: the test/pooler/
 * files set MEMVAULT_TEST_VIA=pgbouncer, import the suite (its createTestDatabase then puts the
 * pooler in front of the app role, test/helpers/db.ts) and add this check, so a suite that
 * silently went around the pooler fails instead of passing for the wrong reason.
 */
import t from 'tap';

import { pooledDatabases } from './db.js';

export async function throughPgbouncer(suite: () => Promise<unknown>): Promise<void> {
  process.env.MEMVAULT_TEST_VIA = 'pgbouncer';
  await suite();
  t.test('the suite ran through pgbouncer in transaction mode', async (t) => {
    t.equal(pooledDatabases.length, 1, 'one test database behind one pgbouncer');
    const db = pooledDatabases[0]!;
    const config = await db.pgbouncer!.show('config');
    t.equal(config.find((row) => row.key === 'pool_mode')?.value, 'transaction');
    const stats = (await db.pgbouncer!.show('stats')).find((row) => row.database === db.name);
    const transactions = Number(stats?.total_xact_count ?? 0);
    t.ok(transactions >= 5, `pgbouncer served ${transactions} transactions for ${db.name}`);
  });
}
