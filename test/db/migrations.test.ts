/** Migrations: idempotent re-runs, and the committed schema dump matching what they produce. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import t from 'tap';

import { migrateDatabase } from '../../src/db/migrate.js';
import { packageRoot } from '../../src/paths.js';
import { createTestDatabase } from '../helpers/db.js';

const run = promisify(execFile);
const db = await createTestDatabase(t);

async function dumpSchema(url: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mv-dump-'));
  try {
    const out = join(dir, 'schema.sql');
    await run(join(packageRoot, 'scripts', 'dump-schema.sh'), [url, out]);
    return await readFile(out, 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

t.test('running migrate a second time applies nothing and changes nothing', async (t) => {
  const before = await dumpSchema(db.adminUrl);
  const report = await migrateDatabase(db.adminUrl, { embeddingDim: 384, quiet: true });
  t.same(report.applied, []);
  t.ok(report.bootstrappedRoles, 'a superuser connection re-runs the idempotent role bootstrap');
  t.equal(await dumpSchema(db.adminUrl), before);
});

t.test('the committed schema dump (db/schema.sql) matches the migrations', async (t) => {
  const committed = await readFile(join(packageRoot, 'db', 'schema.sql'), 'utf8');
  const actual = await dumpSchema(db.adminUrl);
  t.equal(
    actual,
    committed,
    'regenerate with: scripts/dump-schema.sh <url> db/schema.sql (graphile-migrate does it on commit)',
  );
});
