/**
 * What memory_events tells a listener, and who can listen (issue 11, items 4 and 6). LISTEN needs
 * no privilege, so payloads must name no tenant (they carried user_hash and chunk ids), roles
 * outside memvault's must not connect at all (CONNECT was granted to PUBLIC), and whatever a role
 * sends on the channel must not grow the daemon's /metrics (any event name became a label value).
 */
import { randomBytes } from 'node:crypto';

import pg from 'pg';
import t from 'tap';

import { hmacUser } from '../../src/crypto/index.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { forgetTenant } from '../../src/db/procedures.js';
import { activeKeyRing } from '../../src/keys/active-ring.js';
import { replaceTenantKey } from '../../src/keys/reseal.js';
import { testCluster, urlAs } from '../helpers/cluster.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

const db = await createTestDatabase(t);
const api = await startTestDaemon(t, { databaseUrl: db.appUrl });

async function metricsText(): Promise<string> {
  return (await api.request('GET', '/metrics', { token: null })).json as string;
}

function counter(text: string, name: string, labels: string): number {
  const match = new RegExp(`^${name}\\{${labels}\\} (\\d+)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('memory_events payloads name no tenant, chunk or document', async (t) => {
  // The app role itself listens: the least privileged role that can connect.
  const listener = new pg.Client({ connectionString: db.appUrl });
  await listener.connect();
  t.teardown(() => listener.end());
  const payloads: string[] = [];
  listener.on('notification', (n) => {
    if (n.channel === 'memory_events') payloads.push(n.payload ?? '');
  });
  await listener.query('listen memory_events');

  const user = 'notify-user';
  const userHash = hmacUser(user);
  const written = await api.request('POST', '/v1/chunks/batch', {
    body: {
      user_id: user,
      chunks: [
        { doc_id: 'doc-secret-1', text: 'one', embedding: testVector(1) },
        { doc_id: 'doc-secret-2', text: 'two', embedding: testVector(2) },
      ],
    },
  });
  t.equal(written.status, 201);
  const ids: string[] = written.json.ids;
  t.equal((await api.request('DELETE', `/v1/users/${user}/docs/doc-secret-1`)).json.deleted, 1);
  // One chunk corrected, one written and deleted by id: chunk_updated and chunk_deleted.
  const patched = await api.request('PATCH', `/v1/users/${user}/chunks/${ids[1]!}`, {
    body: { metadata: { fixed: true } },
  });
  t.equal(patched.status, 200);
  const extra = await api.request('POST', '/v1/chunks', {
    body: { user_id: user, doc_id: 'doc-secret-3', text: 'three', embedding: testVector(3) },
  });
  ids.push(extra.json.id);
  t.equal((await api.request('DELETE', `/v1/users/${user}/chunks/${extra.json.id as string}`)).status, 200);
  // A key replacement (maintenance job) and a forget: the events that name keys.
  await replaceTenantKey(db.admin, activeKeyRing(), userHash);
  t.equal((await api.request('DELETE', `/v1/users/${user}`)).json.deleted, 1);

  const events = [
    'chunks_indexed',
    'doc_deleted',
    'chunk_updated',
    'chunk_deleted',
    'tenant_key_rotated',
    'tenant_forgotten',
  ];
  await until('all six events', async () =>
    events.every((e) => payloads.some((p) => JSON.parse(p).event === e)),
  );
  for (const payload of payloads) {
    const parsed = JSON.parse(payload) as Record<string, unknown>;
    t.ok(
      Object.keys(parsed).every((k) => ['event', 'count', 'dek_ids', 'nonce'].includes(k)),
      `${parsed.event}: fields ${Object.keys(parsed).join(', ')}`,
    );
    for (const secret of [userHash, userHash.slice(0, 16), ...ids, 'doc-secret', user]) {
      t.notOk(payload.includes(secret), `${parsed.event}: does not contain ${secret.slice(0, 12)}…`);
    }
  }
  const forgotten = payloads.map((p) => JSON.parse(p)).find((p) => p.event === 'tenant_forgotten');
  t.equal(forgotten.dek_ids.length, 1, 'tenant_forgotten names the destroyed data key');
  t.equal(forgotten.count, 1);
});

t.test('a forget done by another process drops this daemon’s cached data key', async (t) => {
  const user = 'cached-user';
  const write = () =>
    api.request('POST', '/v1/chunks', {
      body: { user_id: user, doc_id: 'd', text: 'x', embedding: testVector(3) },
    });
  t.equal((await write()).status, 201);
  t.equal((await write()).status, 201, 'the second write uses the cached key');
  const misses = counter(await metricsText(), 'memvault_tenant_key_cache_events_total', 'event="miss"');
  const forgets = counter(await metricsText(), 'memvault_memory_events_total', 'event="tenant_forgotten"');
  // Not through the daemon: straight to the procedure, as another daemon would.
  // Another process of the daemon's (it holds the tenant key, so it has the tenant's proof).
  await forgetTenant(db.app, hmacUser(user));
  await until('the tenant_forgotten event', async () => {
    return counter(await metricsText(), 'memvault_memory_events_total', 'event="tenant_forgotten"') > forgets;
  });
  t.equal((await write()).status, 201, 'a write after the forget works (under a new key)');
  t.equal(
    counter(await metricsText(), 'memvault_tenant_key_cache_events_total', 'event="miss"'),
    misses + 1,
    'the event dropped the cached key: the write fetched the tenant again',
  );
});

t.test('notifications from any role cannot add label values to /metrics', async (t) => {
  const before = await metricsText();
  const ignoredBefore = counter(before, 'memvault_memory_events_total', 'event="ignored"');
  const n = 2000;
  await db.admin.query(
    `select pg_notify('memory_events', json_build_object('event', 'ev_' || g || repeat('x', 200), 'user_hash', 'x')::text)
     from generate_series(1, $1::int) g`,
    [n],
  );
  await db.admin.query(
    `select pg_notify('memory_events', '{"no event"'), pg_notify('memory_events', '[1,2]')`,
  );
  let after = '';
  await until('the forged events to be counted', async () => {
    after = await metricsText();
    return counter(after, 'memvault_memory_events_total', 'event="ignored"') >= ignoredBefore + n + 2;
  });
  t.notOk(after.includes('ev_1'), 'no forged event name became a label');
  t.ok(after.length - before.length < 5_000, `/metrics grew by ${after.length - before.length} bytes`);
});

t.test('roles other than memvault’s cannot connect to a migrated database', async (t) => {
  const cluster = await testCluster();
  const suffix = randomBytes(4).toString('hex');
  const database = `mvt_connect_${suffix}`;
  const outsider = `mvt_outsider_${suffix}`;
  const root = new pg.Client({ connectionString: cluster.adminUrl('postgres') });
  await root.connect();
  t.teardown(async () => {
    await root.query(`drop database if exists ${database}`);
    await root.query(`drop role if exists ${outsider}`);
    await root.end();
  });
  await root.query(`create database ${database}`);
  const outsiderPassword = randomBytes(12).toString('hex');
  await root.query(`create role ${outsider} login password '${outsiderPassword}'`);
  await migrateDatabase(cluster.adminUrl(database), { embeddingDim: 8, quiet: true });

  const asOutsider = new pg.Client({
    connectionString: urlAs(cluster.adminUrl(database), outsider, outsiderPassword),
  });
  await t.rejects(asOutsider.connect(), { code: '42501' }, 'the outsider is refused CONNECT');
  const asApp = new pg.Client({ connectionString: cluster.appUrl(database) });
  await asApp.connect();
  t.equal(
    (await asApp.query('select memory.embedding_dim() as d')).rows[0].d,
    8,
    'memory_app still connects',
  );
  await asApp.end();
});
