/**
 * Several re-wrap workers at once ("safe with several daemons running", docs/KEYS.md): an
 * in-process rewrapPending on its own pool, a `memvault keys rotate` process and a `memvault keys
 * worker` process share one rotation while a writer keeps adding chunks and tenants. SKIP LOCKED
 * claims must split the DEKs between them: each DEK re-wrapped once (to the same key), none lost.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import t from 'tap';

import { dataKeyMaterial } from '../../src/crypto/data-key.js';
import type { KeyRing } from '../../src/crypto/index.js';
import { createPool } from '../../src/db/pool.js';
import { setActiveKek } from '../../src/keys/retirement.js';
import { rewrapPending, usage } from '../../src/keys/rotate.js';
import { TenantKeyStore } from '../../src/keys/tenant-key-store.js';
import { createTestDatabase, randomUserHash } from '../helpers/db.js';
import { cliEnv, cliPath, openAll, ringOf, runCli, writeChunks } from './fixtures.js';

// More than `keys worker`'s fixed batch (500) plus two of ours: whoever claims first, every
// worker's first claim (all released at once, below) finds DEKs left to take.
const TENANTS = 1_000;
// Small batches make many short claim transactions, so the workers interleave for real.
const BATCH = 5;

const db = await createTestDatabase(t);

/** Polls `ready` every 20 ms; fails after `ms` with `what` in the message. */
async function waitFor(what: string, ready: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Claims of re-wrap batches currently blocked on a lock (ours: the barrier below). */
async function blockedClaims(): Promise<number> {
  const { rows } = await db.admin.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'
        and query like '%memory.claim_dek_rewrap%'`,
  );
  return rows[0]!.n;
}

/** The `keys worker` logs one JSON line per pass that did work; sums what it re-wrapped. */
function workerLog(child: ChildProcessWithoutNullStreams) {
  let buffered = '';
  const state = { rewrapped: 0, passes: 0, errors: [] as string[] };
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { level: number; msg: string; rewrapped?: number };
      if (entry.level >= 40) state.errors.push(entry.msg);
      if (entry.msg === 'key worker pass') {
        state.passes++;
        state.rewrapped += entry.rewrapped ?? 0;
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => state.errors.push(d.toString()));
  return state;
}

t.test(
  'three workers re-wrap every DEK exactly once while writes continue; chunks open without key 1',
  async (t) => {
    const ring1 = ringOf([1], 1);
    const ring12 = ringOf([1, 2], 2);
    const before = new TenantKeyStore(db.app, () => ring1);
    const tenants = Array.from({ length: TENANTS }, () => randomUserHash());
    const ids = new Map<string, string[]>();
    for (const tenant of tenants) ids.set(tenant, await writeChunks(db, before, tenant, 1, 'before'));
    const deksBefore = await db.admin.query<{ user_hash: string; dek_id: number; wrapped_dek: Buffer }>(
      'select user_hash, dek_id, wrapped_dek from memory.tenant_keys where kek_id = 1',
    );
    t.equal(deksBefore.rows.length, TENANTS, 'one DEK per tenant under key 1 to start with');

    // The operator's first step of a rotation: key 2 becomes the live active key.
    await setActiveKek(db.admin, 2);

    // Barrier: hold the table so every worker's first claim blocks, then release them together.
    // EXCLUSIVE still admits the plain reads (key_usage, settings) each worker makes first.
    const barrier = await db.admin.connect();
    await barrier.query('begin');
    await barrier.query('lock table memory.tenant_keys in exclusive mode');

    const inProcessPool = createPool({ connectionString: db.adminUrl, max: 2 });
    t.teardown(() => inProcessPool.end());
    const inProcess = rewrapPending(inProcessPool, ring12, TENANTS, { batchSize: BATCH });
    const rotate = runCli(['keys', 'rotate', '--to', '2', '--batch', String(BATCH)], cliEnv(db, [1, 2], 2));
    const worker = spawn(process.execPath, [cliPath, 'keys', 'worker'], {
      env: { ...cliEnv(db, [1, 2], 2), MEMVAULT_LOG_LEVEL: 'info' },
    });
    const workerState = workerLog(worker);
    const workerExit = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
    try {
      await waitFor('three blocked re-wrap claims', async () => (await blockedClaims()) === 3);
    } finally {
      await barrier.query('commit');
      barrier.release();
    }

    // Writes go on during the rotation, as a daemon's would: more chunks for existing tenants
    // (their DEKs unwrapped from key 1 or key 2, whichever the rotation has reached) and new
    // tenants, whose DEKs the live active key (2) wraps.
    let writing = true;
    const during = new TenantKeyStore(db.app, () => ring12, { ttlMs: 1_000 });
    const newTenants: string[] = [];
    const writer = (async () => {
      for (let i = 0; writing || i < 20; i++) {
        const old = tenants[i % TENANTS]!;
        ids.get(old)!.push(...(await writeChunks(db, during, old, 1, `during-${i}`)));
        if (i % 4 === 0) {
          const fresh = randomUserHash();
          newTenants.push(fresh);
          ids.set(fresh, await writeChunks(db, during, fresh, 1, 'new'));
        }
      }
    })();

    const byInProcess = await inProcess;
    const rotated = await rotate;
    t.equal(rotated.code, 0, 'keys rotate exits 0', { stderr: rotated.stderr });
    const byRotate = Number(/re-wrapped (\d+) tenant key/.exec(rotated.stdout)?.[1] ?? NaN);
    await waitFor('no DEK left under key 1', async () =>
      (await usage(db.admin)).every((u) => u.kekId === 2 || u.wrappedDeks === 0),
    );
    try {
      await waitFor('the key worker to log its pass', () => workerState.passes > 0, 10_000);
    } finally {
      writing = false;
      await writer;
      worker.kill('SIGTERM');
    }
    t.equal(await workerExit, 0, 'the key worker exits cleanly on SIGTERM');
    t.same(workerState.errors, [], 'the key worker logged no warning or error');

    const byWorker = workerState.rewrapped;
    t.ok(byInProcess > 0, `the in-process worker re-wrapped ${byInProcess}`);
    t.ok(byRotate > 0, `keys rotate re-wrapped ${byRotate}`);
    t.ok(byWorker > 0, `keys worker re-wrapped ${byWorker}`);
    t.equal(byInProcess + byRotate + byWorker, TENANTS, 'the workers together re-wrapped each DEK once');

    const after = await db.admin.query<{
      user_hash: string;
      dek_id: number;
      kek_id: number;
      active: boolean;
      wrapped_dek: Buffer;
    }>('select user_hash, dek_id, kek_id, active, wrapped_dek from memory.tenant_keys');
    t.equal(after.rows.length, TENANTS + newTenants.length, 'no DEK lost, none added beyond new tenants');
    t.equal(after.rows.filter((r) => r.kek_id !== 2).length, 0, 'every DEK is wrapped under key 2');
    const keyOf = (r: { user_hash: string; dek_id: number }) => `${r.user_hash}/${r.dek_id}`;
    const afterByKey = new Map(after.rows.map((r) => [keyOf(r), r]));
    t.ok(
      deksBefore.rows.every((r) => afterByKey.has(keyOf(r))),
      'every DEK from before the rotation is still there, same id',
    );
    // The column says key 2; the blobs must agree: each wrapped DEK from before was rewritten, and
    // key 2 alone unwraps it to the same key bytes key 1 unwrapped before.
    const ring2 = ringOf([2], 2);
    const material = (ring: KeyRing, r: { user_hash: string; dek_id: number; wrapped_dek: Buffer }) =>
      dataKeyMaterial(ring.unwrapDataKey(r.wrapped_dek, r.user_hash, r.dek_id)).export();
    const mismatched = deksBefore.rows.filter((r) => {
      const now = afterByKey.get(keyOf(r))!;
      return now.wrapped_dek.equals(r.wrapped_dek) || !material(ring2, now).equals(material(ring1, r));
    });
    t.equal(mismatched.length, 0, 'every DEK was re-wrapped, and key 2 alone unwraps it to the same key');
    const activePerTenant = new Map<string, number>();
    for (const r of after.rows)
      if (r.active) activePerTenant.set(r.user_hash, (activePerTenant.get(r.user_hash) ?? 0) + 1);
    // (At most one active DEK per tenant is tenant_keys_one_active_idx's job; at least one is ours.)
    t.equal(activePerTenant.size, TENANTS + newTenants.length, 'every tenant has an active DEK');

    // The re-wrapped DEKs are the same keys: every chunk, old or written during the rotation,
    // opens with a ring that no longer holds key 1.
    let opened = 0;
    for (const [tenant, chunkIds] of ids) opened += (await openAll(db, ring2, tenant, chunkIds)).length;
    t.equal(
      opened,
      [...ids.values()].reduce((n, c) => n + c.length, 0),
      'every chunk opens without key 1',
    );
  },
);
