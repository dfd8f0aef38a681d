/**
 * The daemon killed with SIGKILL while a 1,000-chunk batch write is in flight, at several points
 * in the request's life: afterwards the batch is either entirely present or entirely absent
 * (index_chunks is one statement in one transaction; PostgreSQL rolls back what the dead client
 * never committed). Shared test cluster: killing a daemon only drops its own connections.
 */
import t from 'tap';

import { configureCrypto, hmacUser, loadCryptoConfig } from '../../src/crypto/index.js';
import { spawnTestDaemon, TEST_SECRETS } from '../helpers/daemon.js';
import { createTestDatabase, testVector } from '../helpers/db.js';

configureCrypto(loadCryptoConfig(TEST_SECRETS));
const db = await createTestDatabase(t);
const BATCH = 1000;
const embedding = testVector(7);

async function settled(): Promise<void> {
  // A backend may still be executing the INSERT after its client died: wait until the dead
  // daemon's sessions are gone before counting.
  for (let i = 0; i < 200; i++) {
    const { rows } = await db.admin.query<{ n: number }>(
      // The daemon connects as memory_app; this test's own pools are the superuser's.
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and usename = 'memory_app'",
    );
    if (rows[0]!.n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the killed daemon left sessions behind');
}

const outcomes: string[] = [];
for (const delayMs of [0, 30, 80, 150, 300, 600]) {
  t.test(`SIGKILL ${delayMs} ms after sending a ${BATCH}-chunk batch: all or nothing`, async (t) => {
    const daemon = await spawnTestDaemon(t, { databaseUrl: db.appUrl });
    const userId = `sigkill-${delayMs}`;
    const chunks = Array.from({ length: BATCH }, (_, i) => ({
      doc_id: `batch-doc`,
      text: `chunk ${i} of a batch that must not be torn`,
      metadata: { i },
      embedding,
    }));
    const pending = daemon.request('POST', '/v1/chunks/batch', { body: { user_id: userId, chunks } }).then(
      (r) => `${r.status}`,
      () => 'no answer',
    );
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    daemon.child.kill('SIGKILL');
    const answer = await pending;
    await daemon.exited;
    await settled();
    const { rows } = await db.admin.query<{ n: number }>(
      'select count(*)::int as n from memory.memory_chunks where user_hash = $1',
      [hmacUser(userId)],
    );
    const n = rows[0]!.n;
    t.ok(n === 0 || n === BATCH, `${n} of ${BATCH} chunks present (answer: ${answer})`);
    if (answer === '201') t.equal(n, BATCH, 'an acknowledged batch is complete');
    outcomes.push(`${delayMs}ms:${n === 0 ? 'absent' : 'present'}`);
  });
}

t.teardown(() => {
  console.log(`# sigkill outcomes: ${outcomes.join(' ')}`);
});
