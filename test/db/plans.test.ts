/**
 * Both search plans, as `memvault doctor --plans` shows them: the exact shape on the tenant B-tree
 * for a small tenant, and the HNSW index for a tenant above ann_exact_max_rows.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import t from 'tap';

import {
  explainSearchPlans,
  HNSW_INDEX,
  LEXICAL_POSTINGS_INDEX,
  TENANT_BTREE_INDEXES,
  VECTORS_HNSW_INDEX,
  VECTORS_TENANT_BTREE_INDEXES,
} from '../../src/db/plans.js';
import * as procedures from '../../src/db/procedures.js';
import { packageRoot } from '../../src/paths.js';
import { createTestDatabase, randomUserHash, testVector } from '../helpers/db.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

const run = promisify(execFile);
const db = await createTestDatabase(t);
const large = randomUserHash();
const LARGE_ROWS = 3000;

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

t.before(async () => {
  for (let batch = 0; batch < LARGE_ROWS / 1000; batch++) {
    const chunks = Array.from({ length: 1000 }, (_, i) => ({
      id: randomUUID(),
      docId: `d${batch * 1000 + i}`,
      source: 'src',
      textCipher: Buffer.from([1]),
      metaCipher: Buffer.from([2]),
      embCipher: Buffer.from([3]),
      embedding: testVector(batch * 1000 + i),
    }));
    await procedures.storeSealedChunks(db.app, large, chunks, 1, 1);
  }
  for (let i = 0; i < 5; i++) {
    await procedures.storeSealedChunks(
      db.app,
      randomUserHash(),
      [
        {
          id: randomUUID(),
          docId: 'd',
          source: 'src',
          textCipher: Buffer.from([1]),
          metaCipher: Buffer.from([2]),
          embCipher: Buffer.from([3]),
          embedding: testVector(i),
        },
      ],
      1,
      1,
    );
  }
  // The planner's row estimate for the tenant decides between HNSW and a scan; autovacuum would
  // analyze eventually, the test does it now.
  await db.admin.query('analyze memory.memory_chunks, memory.chunk_vectors');
  // pgvector's cost model charges HNSW for about ef_search x 2m candidates: at the default 400 a
  // 3,000-row table is cheaper to scan (the plan shown then is a scan and says so). 40, pgvector's
  // own default, is what a table a few times ef_search x 32 rows large sees at 400.
  await procedures.setSetting(db.admin, 'ann_ef_search', 40);
});

t.test(
  'doctor --plans: the narrow layout, its primary key for a small tenant, its HNSW for the large one',
  async (t) => {
    const [small, big] = await withClient(db.adminUrl, (c) => explainSearchPlans(c));
    t.ok(small!.ok, small!.detail);
    t.ok(
      small!.indexes.some((name) => (VECTORS_TENANT_BTREE_INDEXES as readonly string[]).includes(name)),
      `small tenant: ${small!.indexes.join(', ')}`,
    );
    t.notOk(small!.indexes.includes(VECTORS_HNSW_INDEX), 'the exact shape never walks the HNSW graph');
    t.match(small!.tree.join('\n'), /\+ '0'::double precision/, 'sorted by distance + 0 (exact shape)');
    t.match(small!.tree.join('\n'), /on chunk_vectors/, 'distances come from the narrow table');
    t.ok(big!.ok, big!.detail);
    t.ok(big!.indexes.includes(VECTORS_HNSW_INDEX), `large tenant: ${big!.indexes.join(', ')}`);
    t.notOk(big!.indexes.includes(HNSW_INDEX), 'not the wide float32 index');
    t.match(big!.detail, large.slice(0, 8), 'the most common tenant in pg_stats was explained');
    t.match(big!.tree.join('\n'), new RegExp(`Index Scan using ${VECTORS_HNSW_INDEX}.*order by`));
  },
);

t.test('a database still in the chunks layout is explained on memory_chunks and its indexes', async (t) => {
  await db.admin.query(`update memory.settings set value = '"chunks"' where key = 'search_layout'`);
  t.teardown(() =>
    db.admin.query(`update memory.settings set value = '"vectors"' where key = 'search_layout'`),
  );
  const [small, big] = await withClient(db.adminUrl, (c) => explainSearchPlans(c));
  t.ok(small!.ok, small!.detail);
  t.ok(
    small!.indexes.some((name) => (TENANT_BTREE_INDEXES as readonly string[]).includes(name)),
    `small tenant: a tenant-first B-tree of memory_chunks (${small!.indexes.join(', ')})`,
  );
  t.ok(big!.ok, big!.detail);
  t.ok(big!.indexes.includes(HNSW_INDEX), `large tenant: ${big!.indexes.join(', ')}`);
  t.match(big!.detail, /chunks layout/);
});

t.test('the threshold was lowered only inside the rolled-back transaction', async (t) => {
  const settings = await procedures.getSettings(db.admin);
  t.notOk('ann_exact_max_rows' in settings, JSON.stringify(settings));
});

t.test('a named tenant is explained; the app role cannot lower the threshold and is told so', async (t) => {
  const [, asSuperuser] = await withClient(db.adminUrl, (c) => explainSearchPlans(c, { largeTenant: large }));
  t.ok(asSuperuser!.indexes.includes(VECTORS_HNSW_INDEX));
  const [small, asApp] = await withClient(db.appUrl, (c) => explainSearchPlans(c, { largeTenant: large }));
  t.ok(small!.ok, 'the small-tenant plan works as the app role');
  t.notOk(asApp!.ok);
  t.match(asApp!.detail, /superuser or memory_maintainer/);
  await t.rejects(
    withClient(db.adminUrl, (c) => explainSearchPlans(c, { largeTenant: 'abc' })),
    { name: 'ValidationError', field: 'tenant' },
  );
});

t.test(
  'the CLI prints the plan trees; chunks written without a lexical index fail lexical_index, clear vectors vector_protection',
  async (t) => {
    // The fixture's chunks are stored through the bare procedure, without lexical arrays and with
    // clear search vectors (their "ciphertexts" are single bytes nothing could open, so no reindex
    // can index or protect them either).
    const failed = await run(process.execPath, [join(packageRoot, 'dist/cli/main.js'), 'doctor', '--plans'], {
      // The daemon's tenant key: explaining a tenant's search needs the tenant's proof.
      env: { ...process.env, ...TEST_SECRETS, DATABASE_URL: db.adminUrl },
    }).then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    );
    t.equal(failed?.code, 1, 'exit 1: checks failed');
    const stdout = failed?.stdout ?? '';
    t.match(stdout, /^ok {3}small_tenant_plan/m);
    t.match(stdout, /^ok {3}large_tenant_plan/m);
    t.match(stdout, /^ok {3}lexical_plan/m);
    t.match(
      stdout,
      new RegExp(`^ +(Bitmap )?Index (Only )?Scan using (${VECTORS_TENANT_BTREE_INDEXES.join('|')})`, 'm'),
    );
    t.match(stdout, new RegExp(`^ +Index Scan using ${VECTORS_HNSW_INDEX}`, 'm'));
    t.match(
      stdout,
      new RegExp(
        `^ +Bitmap Index Scan using ${LEXICAL_POSTINGS_INDEX}|^ +Index Scan using ${LEXICAL_POSTINGS_INDEX}`,
        'm',
      ),
    );
    t.match(
      stdout,
      /^FAIL lexical_index +3005 chunk\(s\) missing from the lexical index, 0 stale, of 3005: run `memvault reindex lexical`/m,
    );
    t.match(
      stdout,
      /^FAIL vector_protection +3005 of 3005 chunk\(s\) have their embedding in clear in the database .*run `memvault reindex vectors`/m,
    );
    t.match(stdout, /^2 check\(s\) failed/m);
  },
);
