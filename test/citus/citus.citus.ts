/**
 * What only a Citus formation shows (`npm run test:citus`): nodes that sign in to each other by
 * password (no trust), the layout `memvault migrate` gives the schema, tenants spread over both
 * workers, one tenant's rows on one worker, HNSW indexes per shard, memory_events raised on the
 * workers reaching a daemon, doctor passing on the coordinator, and maintenance refused rather
 * than silently seeing nothing.
 */
import t from 'tap';

import { runDoctor } from '../../src/db/doctor.js';
import { mapDatabaseError } from '../../src/db/errors.js';
import { withConnection } from '../../src/db/pool.js';
import { citusFormation } from '../helpers/citus.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

process.env.MEMVAULT_TEST_VIA = 'citus';
const formation = await citusFormation();
const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });

const TENANTS = Array.from({ length: 12 }, (_, i) => `citus-user-${i}`);
for (const [i, user] of TENANTS.entries()) {
  const res = await api.request('POST', '/v1/chunks/batch', {
    body: {
      user_id: user,
      chunks: [0, 1, 2].map((j) => ({
        doc_id: `doc-${j}`,
        text: `${user} note ${j} about the harbour`,
        embedding: testVector(i * 3 + j),
      })),
    },
  });
  if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${JSON.stringify(res.json)}`);
}

/** Rows of memory.memory_chunks per worker port, read from the shards themselves. */
async function rowsPerWorker(): Promise<Map<number, number>> {
  const { rows } = await db.admin.query<{ nodeport: number; n: string }>(
    `select s.nodeport, sum(r.result::bigint) as n
     from run_command_on_shards('memory.memory_chunks', 'select count(*) from %s') r
     join citus_shards s on s.shardid = r.shardid
     group by s.nodeport`,
  );
  return new Map(rows.map((r) => [Number(r.nodeport), Number(r.n)]));
}

t.test('the nodes sign in to each other by password, through each server’s own passfile', async (t) => {
  for (const node of [formation.coordinator, ...formation.workers]) {
    const rules = await withConnection(node.adminUrl('postgres'), async (c) => {
      const { rows } = await c.query<{ auth: string }>(
        'select distinct auth_method as auth from pg_catalog.pg_hba_file_rules order by 1',
      );
      return rows.map((r) => r.auth);
    });
    t.same(rules, ['scram-sha-256'], `${node.name}: every pg_hba rule is scram-sha-256`);
  }
  // The coordinator opens a connection to each worker as postgres, which only the password in the
  // coordinator's passfile admits; the delegated calls of the other suites do the same as the app
  // role and memory_owner.
  const { rows } = await db.admin.query<{ nodeport: number; success: boolean; result: string }>(
    "select nodeport, success, result from run_command_on_workers('select current_user') order by nodeport",
  );
  t.same(
    rows.map((r) => [Number(r.nodeport), r.success, r.result]),
    formation.workers.map((w) => [w.port, true, 'postgres']),
    'the coordinator reaches every worker',
  );
});

t.test(
  'migrate distributed the schema: tenant tables by user_hash, co-located; the rest reference tables',
  async (t) => {
    const { rows } = await db.admin.query<{
      table: string;
      method: string;
      column: string | null;
      colocation: number;
    }>(
      `select logicalrelid::text as table, partmethod as method,
            column_to_column_name(logicalrelid, partkey) as column, colocationid as colocation
     from pg_dist_partition order by 1`,
    );
    const hashed = rows.filter((r) => r.method === 'h');
    const { rows: tenantTables } = await db.admin.query<{ table: string }>(
      `select c.oid::regclass::text as table from pg_class c join pg_attribute a on a.attrelid = c.oid
     where c.relnamespace = 'memory'::regnamespace and c.relkind = 'r' and a.attname = 'user_hash' order by 1`,
    );
    t.same(
      hashed.map((r) => r.table),
      tenantTables.map((r) => r.table),
      'every table with a user_hash column is hash-distributed',
    );
    for (const table of ['memory.memory_chunks', 'memory.tenant_keys', 'memory.lexical_postings']) {
      t.ok(
        hashed.some((r) => r.table === table),
        `${table} among them`,
      );
    }
    t.same(new Set(hashed.map((r) => r.column)), new Set(['user_hash']), 'distributed by user_hash');
    t.equal(new Set(hashed.map((r) => r.colocation)).size, 1, 'one co-location group');
    t.same(
      rows.filter((r) => r.method === 'n').map((r) => r.table),
      ['memory.key_stats', 'memory.retired_keks', 'memory.settings'],
      'reference tables',
    );
    const { rows: fns } = await db.admin.query<{ fn: string }>(
      `select objid::regprocedure::text as fn from pg_dist_object
     where classid = 'pg_proc'::regclass and distribution_argument_index is not null order by 1`,
    );
    // Every tenant procedure, whichever migration added it (the chunk API of 000012, the search
    // vectors of 000011, later ones): first argument p_user_hash, no default, delegated by it in
    // memory_chunks' co-location group.
    const { rows: tenantFns } = await db.admin.query<{ fn: string; delegated: boolean }>(
      `select p.oid::regprocedure::text as fn,
              coalesce(o.distribution_argument_index = 0
                       and o.colocationid = (select colocationid from pg_dist_partition
                                             where logicalrelid = 'memory.memory_chunks'::regclass),
                       false) as delegated
       from pg_proc p
       left join pg_dist_object o on o.classid = 'pg_proc'::regclass and o.objid = p.oid
       where p.pronamespace = 'memory'::regnamespace and p.proargnames[1] = 'p_user_hash'
         and p.pronargdefaults < p.pronargs and p.prorettype <> 'trigger'::regtype
       order by 1`,
    );
    t.ok(tenantFns.length >= 30, `${tenantFns.length} tenant procedures`);
    t.same(
      tenantFns.filter((f) => !f.delegated).map((f) => f.fn),
      [],
      'every tenant procedure is delegated by p_user_hash, co-located with memory_chunks',
    );
    for (const fn of [
      'memory.index_chunks',
      'memory.search',
      'memory.get_chunks',
      'memory.forget_tenant',
      // The chunk API (000012): one chunk, keyset lists, versioned update, delete one, filters,
      // idempotency keys.
      'memory.get_chunk',
      'memory.list_chunks',
      'memory.list_chunks_filtered',
      'memory.update_chunk',
      'memory.delete_chunk',
      'memory.store_filter_tokens',
      'memory.claim_idempotency_key',
      'memory.record_idempotent_response',
      // The search path of 000011/000012.
      'memory.search_candidates_chunks',
      'memory.search_lexical_chunks',
    ]) {
      t.ok(
        fns.some((f) => f.fn.startsWith(`${fn}(`)),
        `${fn} is delegated by p_user_hash`,
      );
    }
    t.notOk(
      fns.some((f) => f.fn.startsWith('memory.next_dek_id(')),
      'a procedure without a tenant is not',
    );
  },
);

t.test('tenants spread over both workers; each tenant lives on one', async (t) => {
  const perWorker = await rowsPerWorker();
  t.equal(perWorker.size, formation.workers.length, `rows on ${[...perWorker.keys()].join(', ')}`);
  t.equal(
    [...perWorker.values()].reduce((a, b) => a + b, 0),
    TENANTS.length * 3,
    'every row is on a worker',
  );
  // Distinct tenants per shard, summed: 12 only if no tenant's rows are split over shards.
  const { rows } = await db.admin.query<{ n: string }>(
    `select sum(result::bigint) as n
     from run_command_on_shards('memory.memory_chunks', 'select count(distinct user_hash) from %s')`,
  );
  t.equal(Number(rows[0]!.n), TENANTS.length, "each tenant's chunks are in one shard, on one worker");
});

t.test('every shard of memory_chunks carries its HNSW index on its worker', async (t) => {
  let shards = 0;
  for (const worker of formation.workers) {
    await withConnection(worker.adminUrl(db.name), async (c) => {
      await c.query("set citus.show_shards_for_app_name_prefixes = '*'");
      const { rows } = await c.query<{ shard: string; hnsw: boolean }>(
        `select t.relname as shard,
                exists (select from pg_index i join pg_class ix on ix.oid = i.indexrelid join pg_am am on am.oid = ix.relam
                        where i.indrelid = t.oid and am.amname = 'hnsw') as hnsw
         from pg_class t where t.relnamespace = 'memory'::regnamespace and t.relkind = 'r'
           and t.relname ~ '^memory_chunks_[0-9]+$'`,
      );
      shards += rows.length;
      t.ok(rows.length > 0, `worker :${worker.port} holds ${rows.length} shards of memory_chunks`);
      t.same(
        rows.filter((r) => !r.hnsw).map((r) => r.shard),
        [],
        'each with an HNSW index',
      );
    });
  }
  t.equal(shards, 8, 'citus.shard_count of the test formation');
});

t.test('a query and a forget act on the tenant’s worker only', async (t) => {
  const before = await rowsPerWorker();
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: TENANTS[0], query: 'harbour', embedding: testVector(1), k: 10 },
  });
  t.equal(res.status, 200);
  t.same(
    new Set(res.json.results.map((r: { text: string }) => r.text.split(' ')[0])),
    new Set([TENANTS[0]]),
    'only the tenant’s own chunks',
  );
  t.equal(res.json.results.length, 3);
  const forget = await api.request('DELETE', `/v1/users/${TENANTS[0]}`);
  t.equal(forget.status, 200, JSON.stringify(forget.json));
  const after = await rowsPerWorker();
  const changed = [...before].filter(([port, n]) => after.get(port) !== n);
  t.equal(changed.length, 1, 'one worker lost rows');
  t.equal(changed[0]![1] - after.get(changed[0]![0])!, 3, 'exactly the tenant’s three');
});

t.test('memory_events raised on the workers reach every daemon, from both workers', async (t) => {
  // A second daemon on the same coordinator: it hears only what the tenant procedures raise on the
  // workers (the first daemon's writes, deletes and forget), through its listener on each worker.
  const observer = await startTestDaemon(t, { databaseUrl: db.appUrl });
  const ready = await observer.request('GET', '/readyz', { token: null });
  t.same(
    ready.json.checks.listener.citusWorkers,
    { workers: 2, connected: 2 },
    'the observer listens on both workers',
  );
  // Both daemons run in this process and count into one registry: each event heard by both
  // listeners counts twice, by one only once, by none (the old design) not at all.
  const counted = async (event: string): Promise<number> => {
    const text = (await observer.request('GET', '/metrics', { token: null })).json as string;
    const match = new RegExp(`memvault_memory_events_total\\{event="${event}"\\} (\\d+)`).exec(text);
    return match ? Number(match[1]) : 0;
  };
  const heard = async (event: string, before: number, expected: number): Promise<number> => {
    for (let i = 0; i < 100 && (await counted(event)) - before < expected; i++)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200)); // and no more than expected
    return (await counted(event)) - before;
  };
  // One document of each remaining tenant: the tenants live on both workers (test above).
  const tenants = TENANTS.slice(1, -1);
  let before = await counted('doc_deleted');
  for (const user of tenants) {
    const res = await api.request('DELETE', `/v1/users/${user}/docs/doc-0`);
    t.same(res.json, { deleted: 1 }, `${user}: doc-0 deleted`);
  }
  t.equal(
    await heard('doc_deleted', before, 2 * tenants.length),
    2 * tenants.length,
    'every doc_deleted heard once by each daemon',
  );
  before = await counted('chunks_indexed');
  const write = await api.request('POST', '/v1/chunks', {
    body: { user_id: TENANTS.at(-1), doc_id: 'late', text: 'a late note', embedding: testVector(40) },
  });
  t.equal(write.status, 201);
  t.equal(await heard('chunks_indexed', before, 2), 2, 'chunks_indexed heard by each daemon');
  before = await counted('tenant_forgotten');
  const forget = await api.request('DELETE', `/v1/users/${TENANTS.at(-1)}`);
  t.equal(forget.status, 200);
  t.equal(await heard('tenant_forgotten', before, 2), 2, 'tenant_forgotten heard by each daemon');
});

t.test('doctor passes on the coordinator as the app role, and names the layout', async (t) => {
  const results = await withConnection(db.appUrl, (c) => runDoctor(c));
  t.same(
    results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`),
    [],
  );
  const citus = results.find((r) => r.name === 'citus');
  t.match(
    citus?.detail,
    /Citus coordinator, 2 workers: \d+ tenant tables distributed by user_hash and co-located, 3 reference tables/,
  );
});

t.test('maintenance across tenants is refused on Citus (MV013), not run blind', async (t) => {
  const error = await db.admin.query('select * from memory.claim_reseal(10)').then(
    () => undefined,
    (thrown: unknown) => mapDatabaseError(thrown),
  );
  t.match(error, { name: 'MaintenanceForbiddenError', code: 'maintenance_unsupported', sqlstate: 'MV013' });
});
