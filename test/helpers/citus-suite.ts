/**
 * Runs an existing suite's body against a real Citus formation: the test/citus/ files set
 * MEMVAULT_TEST_VIA=citus, import the suite (its createTestDatabase then creates and migrates the
 * database on the coordinator, test/helpers/db.ts) and add this check, so a suite that silently ran
 * on an undistributed schema, or whose procedures never reached a worker, fails instead of passing.
 */
import t from 'tap';

import { withConnection } from '../../src/db/pool.js';
import { citusFormation } from './citus.js';
import { citusDatabases } from './db.js';

/** Calls of the tenant procedures that ran on each worker (delegated there by the coordinator). */
async function workerCalls(database: string): Promise<number[]> {
  const formation = await citusFormation();
  return Promise.all(
    formation.workers.map((worker) =>
      withConnection(worker.adminUrl(database), async (c) => {
        const { rows } = await c.query<{ calls: string }>(
          `select coalesce(sum(f.calls), 0) as calls from pg_stat_user_functions f
           join pg_proc p on p.oid = f.funcid
           where f.schemaname = 'memory' and p.proargnames[1] = 'p_user_hash'`,
        );
        return Number(rows[0]!.calls);
      }),
    ),
  );
}

export async function onCitus(suite: () => Promise<unknown>): Promise<void> {
  process.env.MEMVAULT_TEST_VIA = 'citus';
  await suite();
  t.test('the suite ran on a Citus formation, its tenant procedures on the workers', async (t) => {
    t.equal(citusDatabases.length, 1, 'one test database on the Citus coordinator');
    const db = citusDatabases[0]!;
    const { rows } = await db.admin.query<{ table: string; method: string; colocated: boolean }>(
      `select p.logicalrelid::text as table, p.partmethod as method,
              p.colocationid = (select colocationid from pg_dist_partition
                                where logicalrelid = 'memory.memory_chunks'::regclass) as colocated
       from pg_dist_partition p order by 1`,
    );
    const tenantTables = rows.filter((r) => r.method === 'h');
    t.ok(
      tenantTables.some((r) => r.table === 'memory.memory_chunks'),
      'memory_chunks is hash-distributed',
    );
    t.ok(
      tenantTables.some((r) => r.table === 'memory.tenant_keys'),
      'tenant_keys is hash-distributed',
    );
    t.same(
      tenantTables.filter((r) => !r.colocated).map((r) => r.table),
      [],
      'every tenant table is co-located with memory_chunks',
    );
    t.ok(
      rows.some((r) => r.table === 'memory.settings' && r.method === 'n'),
      'settings is a reference table',
    );
    // Statistics reach the shared counters when a backend goes idle: a few seconds at most.
    let calls: number[] = [];
    for (let i = 0; i < 20; i++) {
      calls = await workerCalls(db.name);
      if (calls.reduce((a, b) => a + b, 0) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const total = calls.reduce((a, b) => a + b, 0);
    t.ok(total >= 2, `tenant procedures ran on the workers: ${calls.join(' + ')} calls`);
    // And no tenant procedure of the daemon's interface ran on the coordinator: one left
    // undelegated (a later migration's, say) would run there, reaching the shards from the
    // coordinator. (Only calls that returned count: a call whose arguments Citus cannot evaluate
    // up front, like procedures.test.ts's `array[gen_random_uuid()]`, runs on the coordinator and
    // fails there as it should, after its set_tenant, which is why that helper is left out.)
    const formation = await citusFormation();
    const onCoordinator = await withConnection(formation.coordinator.adminUrl(db.name), async (c) => {
      const { rows } = await c.query<{ fn: string }>(
        `select f.funcname || ' ' || f.calls as fn from pg_stat_user_functions f
         join pg_proc p on p.oid = f.funcid
         where f.schemaname = 'memory' and p.proargnames[1] = 'p_user_hash' and f.calls > 0
           and has_function_privilege('memory_app', p.oid, 'execute') and p.proname <> 'set_tenant'
         order by 1`,
      );
      return rows.map((r) => r.fn);
    });
    t.same(onCoordinator, [], 'no tenant procedure ran on the coordinator');
  });
}
