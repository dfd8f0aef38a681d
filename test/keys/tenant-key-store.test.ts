/**
 * TenantKeyStore's cache (lru-cache underneath) against a real database: it holds at most
 * `maxTenants` tenants and evicts the least recently used, forgets a tenant after `ttlMs`, asks the
 * database once however many requests arrive together, re-reads when a blob names a DEK it lacks,
 * and forget / forgetKeys drop what they name. Database reads are counted by wrapping the pool.
 */
import t from 'tap';

import { createPool } from '../../src/db/pool.js';
import { keyCacheEvents } from '../../src/keys/metrics.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { createTestDatabase, randomUserHash } from '../helpers/db.js';
import { ringOf } from './fixtures.js';

const db = await createTestDatabase(t);
const ring = ringOf([1], 1);

/**
 * An app pool of its own, counting the tenant-key reads (memory.get_tenant_keys) made through it.
 * A real pool: tenant procedures run in a transaction that carries the tenant's proof.
 */
function countingPool() {
  const counter = { reads: 0 };
  const pool = createPool({ connectionString: db.appUrl, max: 4 });
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (text: unknown, values?: unknown) => unknown;
    client.query = ((text: unknown, values?: unknown) => {
      if (typeof text === 'string' && /get_tenant_keys/.test(text)) counter.reads++;
      return query(text, values);
    }) as typeof client.query;
  });
  t.teardown(() => pool.end());
  return { pool, counter };
}

async function events(event: 'hit' | 'miss' | 'evict'): Promise<number> {
  const metric = await keyCacheEvents.get();
  return metric.values.find((v) => v.labels.event === event)?.value ?? 0;
}

// Tenants that have a DEK already, so a lookup is a pure read.
const tenants = Array.from({ length: 4 }, () => randomUserHash());
const creator = new TenantKeyStore(db.app, () => ring);
const dekOf = new Map<string, number>();
for (const tenant of tenants) dekOf.set(tenant, (await creator.activeKey(tenant)).id);

t.test('holds at most maxTenants and evicts the least recently used', async (t) => {
  const { pool, counter } = countingPool();
  const store = new TenantKeyStore(pool, () => ring, { maxTenants: 3 });
  const [a, b, c, d] = tenants as [string, string, string, string];
  for (const tenant of [a, b, c]) await store.lookup(tenant);
  await store.lookup(a); // a is now the most recently used; b the least
  const evictedBefore = await events('evict');
  await store.lookup(d);
  t.equal(store.size, 3);
  t.equal(await events('evict'), evictedBefore + 1, 'one eviction counted');
  t.equal(counter.reads, 4);
  await store.lookup(a);
  await store.lookup(c);
  t.equal(counter.reads, 4, 'a and c stayed cached');
  await store.lookup(b);
  t.equal(counter.reads, 5, 'b, the least recently used, was the one evicted');
});

t.test('forgets a tenant after ttlMs (a hit does not extend it)', async (t) => {
  const { pool, counter } = countingPool();
  const ttlMs = 2000;
  const store = new TenantKeyStore(pool, () => ring, { ttlMs });
  const tenant = tenants[0]!;
  const hitsBefore = await events('hit');
  await store.activeKey(tenant);
  const storedAt = performance.now();
  await new Promise((r) => setTimeout(r, ttlMs / 2));
  t.equal((await store.activeKey(tenant)).id, dekOf.get(tenant));
  t.equal(counter.reads, 1, 'still cached within the ttl');
  t.equal(await events('hit'), hitsBefore + 1, 'a hit counted');
  // Past the ttl from when it was stored, though well within one from the hit.
  await new Promise((r) => setTimeout(r, storedAt + ttlMs + 100 - performance.now()));
  await store.activeKey(tenant);
  t.equal(counter.reads, 2, 'read again once the ttl since it was stored ran out');
});

t.test('one database read for many concurrent requests of one tenant', async (t) => {
  const { pool, counter } = countingPool();
  const store = new TenantKeyStore(pool, () => ring);
  const keys = await Promise.all(Array.from({ length: 20 }, () => store.activeKey(tenants[1]!)));
  t.equal(counter.reads, 1);
  t.same(new Set(keys.map((k) => k.id)), new Set([dekOf.get(tenants[1]!)]));
});

t.test('a DEK id the cache lacks makes lookup read the tenant again, once', async (t) => {
  const { pool, counter } = countingPool();
  const store = new TenantKeyStore(pool, () => ring);
  const tenant = randomUserHash();
  const missing = await store.lookup(tenant);
  t.equal(counter.reads, 1);
  // Another daemon gives the tenant its first DEK after we cached "no keys".
  const dek = await new TenantKeyStore(db.app, () => ring).activeKey(tenant);
  t.equal(missing(dek.id), undefined);
  const found = await store.lookup(tenant, [dek.id]);
  t.equal(counter.reads, 2);
  t.equal(found(dek.id)?.id, dek.id);
  await store.lookup(tenant, [dek.id]);
  t.equal(counter.reads, 2, 'cached after that');
});

t.test('forget and forgetKeys drop the tenants they name', async (t) => {
  const { pool, counter } = countingPool();
  const store = new TenantKeyStore(pool, () => ring);
  const [a, b, c] = tenants as [string, string, string];
  for (const tenant of [a, b, c]) await store.lookup(tenant);
  t.equal(store.size, 3);
  store.forget(a);
  store.forgetKeys([dekOf.get(b)!, 999_999_999]);
  t.equal(store.size, 1, 'c is left');
  for (const tenant of [a, b, c]) await store.lookup(tenant);
  t.equal(counter.reads, 5, 'a and b read again, c still cached');
});
