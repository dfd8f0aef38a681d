/**
 * The rollback runbook (docs/ROLLBACK.md), done once for real: a bad deploy breaks search and
 * weakens isolation; scripts/rollback-logic.sh restores the logic from db/ in one transaction,
 * doctor passes again, and no stored row is lost.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import t from 'tap';

import { runDoctor } from '../../src/db/doctor.js';
import * as procedures from '../../src/db/procedures.js';
import { packageRoot } from '../../src/paths.js';
import { createTestDatabase, randomUserHash, testVector } from '../helpers/db.js';

const run = promisify(execFile);
const db = await createTestDatabase(t);

async function failedChecks(): Promise<string[]> {
  const client = new pg.Client({ connectionString: db.appUrl });
  await client.connect();
  try {
    return (await runDoctor(client)).filter((r) => !r.ok).map((r) => r.name);
  } finally {
    await client.end();
  }
}

t.test('a bad deploy is rolled back in well under 5 minutes without losing data', async (t) => {
  const tenant = randomUserHash();
  const ids = Array.from({ length: 20 }, () => randomUUID());
  await procedures.storeSealedChunks(
    db.app,
    tenant,
    ids.map((id, i) => ({
      id,
      docId: `d${i}`,
      source: '',
      textCipher: Buffer.from([i]),
      metaCipher: Buffer.from([i]),
      embCipher: Buffer.from([i]),
      embedding: testVector(i),
    })),
    1,
    1,
  );

  // The "bad release": a search that returns nothing, a policy that leaks, FORCE RLS dropped.
  await db.admin.query(`
    create or replace function memory.dense_search_sql(p_has_doc_id boolean, p_has_source boolean, p_exact boolean, p_narrow boolean) returns text
      language sql immutable set search_path = pg_catalog, pg_temp
      as $$ select 'select null::uuid as id, null::text as doc_id, null::text as source, null::bytea as text_cipher, null::bytea as meta_cipher, null::bytea as emb_cipher, null::int as key_id, null::float8 as distance where false' $$;
    drop policy memory_tenant_isolation on memory.memory_chunks;
    create policy memory_tenant_isolation on memory.memory_chunks for all using (true) with check (true);
    alter table memory.memory_chunks no force row level security;
  `);
  t.same(
    (await procedures.search(db.app, tenant, testVector(3), { limit: 5 })).length,
    0,
    'search is broken',
  );
  const broken = await failedChecks();
  t.ok(
    broken.includes('tenant_policy') && broken.includes('rls_forced'),
    `doctor sees it: ${broken.join(', ')}`,
  );

  const started = Date.now();
  await run(join(packageRoot, 'scripts', 'rollback-logic.sh'), [db.adminUrl]);
  const elapsedMs = Date.now() - started;
  t.ok(elapsedMs < 5 * 60_000, `rollback took ${elapsedMs} ms`);

  t.same(await failedChecks(), [], 'doctor passes after the rollback');
  const rows = await procedures.search(db.app, tenant, testVector(3), { limit: 5 });
  t.equal(rows[0]?.doc_id, 'd3', 'search works again');
  t.equal((await procedures.tenantStats(db.app, tenant)).chunks, ids.length, 'every row is still there');
});

t.test('the rollback script refuses a folder without procedures', async (t) => {
  const result = await run(join(packageRoot, 'scripts', 'rollback-logic.sh'), [
    db.adminUrl,
    '/nonexistent',
  ]).catch((e: { code: number }) => e);
  t.equal((result as { code: number }).code, 2);
});
