/**
 * tap's `before` hook: starts the test cluster, drops databases left by an interrupted run, and
 * builds the migrated template database that every test file clones.
 */
import pg from 'pg';

import { adminUrl, startCluster } from '../../src/db/cluster.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { TEMPLATE_DB, TEST_DB_PREFIX, TEST_EMBEDDING_DIM, TEST_HOME } from './cluster.js';

const started = Date.now();
const { paths, state } = await startCluster(TEST_HOME);
const admin = new pg.Client({ connectionString: adminUrl(paths, state, 'postgres') });
await admin.connect();
try {
  const { rows } = await admin.query<{ datname: string }>(
    "select datname from pg_database where datname = $1 or datname like $2",
    [TEMPLATE_DB, `${TEST_DB_PREFIX}%`],
  );
  for (const { datname } of rows) {
    await admin.query(`drop database ${admin.escapeIdentifier(datname)} with (force)`);
  }
  await admin.query(`create database ${admin.escapeIdentifier(TEMPLATE_DB)}`);
} finally {
  await admin.end();
}
await migrateDatabase(adminUrl(paths, state, TEMPLATE_DB), { embeddingDim: TEST_EMBEDDING_DIM, quiet: true });
console.log(`# test cluster ready in ${TEST_HOME} (template migrated in ${Date.now() - started} ms)`);
