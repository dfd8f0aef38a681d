/** `memvault doctor` on a good database and on deliberately broken ones. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import t from 'tap';

import { CHECK_NAMES, MIN_VECTOR_VERSION, runDoctor, versionAtLeast } from '../../src/db/doctor.js';
import { packageRoot } from '../../src/paths.js';
import { privateCluster } from '../faults/private-cluster.js';
import { createTestDatabase } from '../helpers/db.js';

const run = promisify(execFile);
const db = await createTestDatabase(t);

async function doctorAs(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await runDoctor(client);
  } finally {
    await client.end();
  }
}

/** Breaks the database in one way for the duration of fn, then repairs it. */
async function brokenBy(breakSql: string, repairSql: string, fn: () => Promise<void>): Promise<void> {
  await db.admin.query(breakSql);
  try {
    await fn();
  } finally {
    await db.admin.query(repairSql);
  }
}

t.test('every check passes on a freshly migrated database, as the app role', async (t) => {
  const results = await doctorAs(db.appUrl);
  t.same(
    results.map((r) => r.name),
    CHECK_NAMES,
  );
  for (const r of results) t.ok(r.ok, `${r.name}: ${r.detail}`);
});

t.test('the CLI prints one line per check and exits 0', async (t) => {
  const { stdout } = await run(process.execPath, [join(packageRoot, 'dist/cli/main.js'), 'doctor'], {
    env: { ...process.env, DATABASE_URL: db.appUrl },
  });
  // The database checks, then the CLI's own pooler line (it needs the URL: src/db/pooler.ts).
  t.equal(stdout.split('\n').filter((l) => /^(ok {2}|FAIL) /.test(l)).length, CHECK_NAMES.length + 1);
  t.match(stdout, /^ok +pooler +direct connection to PostgreSQL \(no pooler detected\)$/m);
  t.match(stdout, /all \d+ checks passed/);
});

t.test('FORCE RLS turned off fails rls_forced, and the CLI exits 1 naming it', async (t) => {
  await brokenBy(
    'alter table memory.memory_chunks no force row level security',
    'alter table memory.memory_chunks force row level security',
    async () => {
      const failed = (await doctorAs(db.appUrl)).filter((r) => !r.ok).map((r) => r.name);
      // The live probe notices too: without FORCE the owner's procedures bypass the policy.
      t.same(failed, ['rls_forced', 'rls_isolation_probe']);
      const result = await run(process.execPath, [join(packageRoot, 'dist/cli/main.js'), 'doctor'], {
        env: { ...process.env, DATABASE_URL: db.appUrl },
      }).catch((e: { code: number; stdout: string }) => e);
      t.equal((result as { code: number }).code, 1);
      t.match((result as { stdout: string }).stdout, /FAIL rls_forced/);
    },
  );
});

t.test('a table grant to the app role fails app_table_grants', async (t) => {
  await brokenBy(
    'grant select on memory.memory_chunks to memory_app',
    'revoke select on memory.memory_chunks from memory_app',
    async () => {
      const failed = (await doctorAs(db.appUrl)).filter((r) => !r.ok).map((r) => r.name);
      t.same(failed, ['app_table_grants']);
    },
  );
});

t.test('a permissive extra policy and a dropped index are each caught', async (t) => {
  await brokenBy(
    'create policy leak on memory.memory_chunks for select using (true)',
    'drop policy leak on memory.memory_chunks',
    async () => {
      const failed = (await doctorAs(db.appUrl)).filter((r) => !r.ok).map((r) => r.name);
      t.ok(failed.includes('tenant_policy'), failed.join(','));
      t.ok(failed.includes('rls_isolation_probe'), 'the live probe sees the leak too');
    },
  );
  // The narrow search layout's table: the live probe reads it under another tenant too.
  await brokenBy(
    'create policy leak on memory.chunk_vectors for select using (true)',
    'drop policy leak on memory.chunk_vectors',
    async () => {
      const results = await doctorAs(db.appUrl);
      const probe = results.find((r) => r.name === 'rls_isolation_probe');
      t.equal(probe?.ok, false, 'the live probe sees a leak of search vectors');
      t.match(probe?.detail, /other_tenant_reads_no_search_vectors/);
    },
  );
  await brokenBy(
    'drop index memory.memory_chunks_embedding_hnsw_idx',
    'create index memory_chunks_embedding_hnsw_idx on memory.memory_chunks using hnsw (embedding vector_cosine_ops); alter index memory.memory_chunks_embedding_hnsw_idx owner to memory_owner',
    async () => {
      const failed = (await doctorAs(db.appUrl)).filter((r) => !r.ok).map((r) => r.name);
      t.ok(failed.includes('indexes_present'), failed.join(','));
    },
  );
});

t.test('memory_owner with BYPASSRLS fails owner_role (on a cluster of its own)', async (t) => {
  // Roles are cluster-wide: on the shared test cluster this would switch RLS off for the procedures
  // of every test file running meanwhile, so it runs on a private cluster.
  const own = await privateCluster(t);
  await own.admin.query('alter role memory_owner bypassrls');
  const failed = (await doctorAs(own.appUrl)).filter((r) => !r.ok).map((r) => r.name);
  t.ok(failed.includes('owner_role'), failed.join(','));
  t.ok(failed.includes('rls_isolation_probe'), 'the live probe sees the owner bypass the policy too');
});

t.test('pgvector older than 0.8.0 fails vector_extension, naming hnsw.iterative_scan', async (t) => {
  const { rows } = await db.admin.query<{ v: string }>(
    "select extversion as v from pg_extension where extname = 'vector'",
  );
  const installed = rows[0]!.v;
  // No pgvector < 0.8 can be installed beside the real one, so the catalog of this test file's own
  // database is made to say 0.7.4: what doctor reads is then what an old installation shows.
  await brokenBy(
    "update pg_extension set extversion = '0.7.4' where extname = 'vector'",
    `update pg_extension set extversion = '${installed}' where extname = 'vector'`,
    async () => {
      const results = await doctorAs(db.appUrl);
      const vector = results.find((r) => r.name === 'vector_extension')!;
      t.notOk(vector.ok);
      t.match(vector.detail, /0\.7\.4 is older than 0\.8\.0: search sets hnsw\.iterative_scan/);
      t.match(vector.detail, /alter extension vector update/);
    },
  );
  t.ok(versionAtLeast('0.8.0', MIN_VECTOR_VERSION));
  t.ok(versionAtLeast('0.10.1', MIN_VECTOR_VERSION));
  t.notOk(versionAtLeast('0.7.4', MIN_VECTOR_VERSION));
});
