/**
 * Read replicas against a real streaming replica (pg_basebackup, test/helpers/replica.ts): tenant
 * reads run on the replica; a tenant's own write is visible to its next read even while replay is
 * paused (read-your-writes: that read goes to the primary); a replica whose replay is paused falls
 * behind MEMVAULT_READ_MAX_LAG_MS and gets no reads until it catches up; a stopped replica costs
 * no failed request and serves again once it is back.
 */
import t from 'tap';

import { startReplica } from '../../src/bench/replica.js';
import { parseLsn } from '../../src/db/replicas.js';
import { privateCluster } from '../faults/private-cluster.js';
import { type ApiClient, startTestDaemon } from '../helpers/daemon.js';
import { testVector } from '../helpers/db.js';

const MAX_LAG_MS = 600;
const primary = await privateCluster(t);
const replica = await startReplica(t, primary);
const api = await startTestDaemon(t, {
  databaseUrl: primary.appUrl,
  env: {
    MEMVAULT_READ_URL: replica.appUrl,
    MEMVAULT_READ_MAX_LAG_MS: String(MAX_LAG_MS),
    // Generous for a loaded CI machine: replay of one small commit takes milliseconds.
    MEMVAULT_READ_WAIT_MS: '2000',
  },
});

/** memvault_read_route_total by "target/reason". */
async function routes(client: ApiClient): Promise<Record<string, number>> {
  const text = (await client.request('GET', '/metrics', { token: null })).json as string;
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^memvault_read_route_total\{target="(\w+)",reason="(\w+)"\} (\d+)/gm)) {
    counts[`${m[1]}/${m[2]}`] = Number(m[3]);
  }
  return counts;
}
const delta = (before: Record<string, number>, after: Record<string, number>, key: string) =>
  (after[key] ?? 0) - (before[key] ?? 0);

async function replicaHealth(): Promise<string> {
  const ready = await api.request('GET', '/readyz', { token: null });
  return ready.json.checks.read_replicas[0].health as string;
}

async function waitFor(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const write = async (user: string, doc: string, seed: number) => {
  const res = await api.request('POST', '/v1/chunks', {
    body: { user_id: user, doc_id: doc, text: `${user} ${doc}`, embedding: testVector(seed) },
  });
  if (res.status !== 201) throw new Error(`write failed: ${res.status} ${JSON.stringify(res.json)}`);
};
const docsOf = async (user: string): Promise<string[]> => {
  const res = await api.request('POST', '/v1/query', {
    body: { user_id: user, query: 'q', embedding: testVector(1), k: 100 },
  });
  if (res.status !== 200) throw new Error(`query failed: ${res.status} ${JSON.stringify(res.json)}`);
  return (res.json.results as Array<{ doc_id: string }>).map((r) => r.doc_id).sort();
};

t.test('parseLsn reads pg_lsn text as bytes', async (t) => {
  t.equal(parseLsn('0/16B3748'), 0x16b3748);
  t.equal(parseLsn('1/0'), 2 ** 32);
  t.ok(parseLsn('2/0') > parseLsn('1/FFFFFFFF'));
});

t.test('tenant reads run on the replica once it has replayed the write', async (t) => {
  await waitFor('the replica to be healthy', async () => (await replicaHealth()) === 'up');
  await write('alice', 'a1', 1);
  const before = await routes(api);
  t.same(await docsOf('alice'), ['a1'], 'the write is visible to the next read');
  for (let i = 0; i < 5; i++) t.same(await docsOf('alice'), ['a1']);
  const after = await routes(api);
  t.equal(delta(before, after, 'replica/replica'), 6, 'all six reads ran on the replica');
  t.equal(delta(before, after, 'primary/read_your_writes'), 0);
  const onReplica = await replica.admin.query<{ n: number }>(
    "select count(*)::int as n from pg_stat_activity where application_name = 'memvault-read'",
  );
  t.ok(onReplica.rows[0]!.n >= 1, `${onReplica.rows[0]!.n} daemon connection(s) on the replica`);
});

t.test(
  'paused replay: own writes still visible (from the primary); the lagging replica is skipped',
  async (t) => {
    await replica.pauseReplay();
    t.teardown(() => replica.resumeReplay().catch(() => undefined));
    const before = await routes(api);
    await write('alice', 'a2', 2);
    t.same(await docsOf('alice'), ['a1', 'a2'], "alice's own new write is visible at once");
    const mid = await routes(api);
    t.equal(delta(before, mid, 'primary/read_your_writes'), 1, 'that read went to the primary');
    // The primary moved on and the replica did not: after MAX_LAG_MS it is lagging, for every tenant.
    await waitFor('the replica to be marked lagging', async () => (await replicaHealth()) === 'lagging');
    await write('bob', 'b1', 3);
    t.same(await docsOf('bob'), ['b1']);
    t.same(await docsOf('carol'), [], 'a tenant with no writes reads too');
    const after = await routes(api);
    t.equal(delta(mid, after, 'primary/no_healthy_replica'), 2, 'both reads ran on the primary');
    t.equal(delta(mid, after, 'replica/replica'), 0, 'none on the paused replica');
    const metrics = (await api.request('GET', '/metrics', { token: null })).json as string;
    t.match(metrics, /^memvault_replica_up\{replica="0"\} 0$/m);
    const lag = Number(/^memvault_replica_lag_seconds\{replica="0"\} ([\d.]+)$/m.exec(metrics)?.[1]);
    t.ok(lag > MAX_LAG_MS / 1000, `lag ${lag} s reported`);

    await replica.resumeReplay();
    await waitFor('the replica to be healthy again', async () => (await replicaHealth()) === 'up');
    const resumed = await routes(api);
    t.same(await docsOf('bob'), ['b1'], "bob's write has been replayed");
    t.equal(delta(resumed, await routes(api), 'replica/replica'), 1, 'reads are back on the replica');
  },
);

t.test('a stopped replica: no failed request, reads on the primary, back when it is', async (t) => {
  await replica.stop();
  const before = await routes(api);
  await write('dave', 'd1', 4);
  // The first reads may still pick the replica before a probe notices: they must not fail.
  for (let i = 0; i < 3; i++) t.same(await docsOf('dave'), ['d1'], `read ${i + 1} answered whole`);
  await waitFor('the replica to be marked down', async () => (await replicaHealth()) === 'down');
  t.same(await docsOf('alice'), ['a1', 'a2']);
  const after = await routes(api);
  t.equal(delta(before, after, 'replica/replica'), 0, 'no read ran on the stopped replica');
  t.equal(
    delta(before, after, 'primary/read_your_writes') +
      delta(before, after, 'primary/replica_failed') +
      delta(before, after, 'primary/no_healthy_replica'),
    4,
    'all four reads ran on the primary',
  );

  await replica.start();
  await waitFor('the replica to be healthy again', async () => (await replicaHealth()) === 'up');
  const back = await routes(api);
  t.same(await docsOf('dave'), ['d1']);
  t.equal(delta(back, await routes(api), 'replica/replica'), 1, 'reads are back on the replica');
});
