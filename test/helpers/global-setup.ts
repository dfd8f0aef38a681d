/**
 * tap's `before` hook: starts the test cluster, drops databases left behind by killed runs, and
 * builds the migrated template database (once per migration state) that every test file clones.
 */
import pg from 'pg';

import { adminUrl, startCluster } from '../../src/db/cluster.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import {
  TEMPLATE_DB,
  TEST_DB_PREFIX,
  TEST_EMBEDDING_DIM,
  TEST_HOME,
  testDatabaseAgeSeconds,
} from './cluster.js';

const STALE_AFTER_SECONDS = 3 * 3600;
const SETUP_LOCK = 7_420_001;

const started = Date.now();
const { paths, state } = await startCluster(TEST_HOME);
const admin = new pg.Client({ connectionString: adminUrl(paths, state, 'postgres') });
await admin.connect();
try {
  // Serialise concurrent setups (several checkouts testing at once on one machine).
  await admin.query('select pg_advisory_lock($1)', [SETUP_LOCK]);
  const { rows } = await admin.query<{ datname: string }>(
    'select datname from pg_database where datname like $1',
    [`${TEST_DB_PREFIX}%`],
  );
  for (const { datname } of rows) {
    const age = testDatabaseAgeSeconds(datname);
    if (age === undefined || age > STALE_AFTER_SECONDS) {
      await admin.query(`drop database if exists ${admin.escapeIdentifier(datname)} with (force)`);
    }
  }
  const exists = await admin.query('select 1 from pg_database where datname = $1', [TEMPLATE_DB]);
  if (!exists.rowCount) {
    const building = `${TEMPLATE_DB}_building`;
    await admin.query(`drop database if exists ${admin.escapeIdentifier(building)} with (force)`);
    await admin.query(`create database ${admin.escapeIdentifier(building)}`);
    await migrateDatabase(adminUrl(paths, state, building), {
      embeddingDim: TEST_EMBEDDING_DIM,
      quiet: true,
    });
    // Renamed only once complete, so a half-built template is never cloned.
    await admin.query(
      `alter database ${admin.escapeIdentifier(building)} rename to ${admin.escapeIdentifier(TEMPLATE_DB)}`,
    );
  }
} finally {
  await admin.query('select pg_advisory_unlock($1)', [SETUP_LOCK]).catch(() => {});
  await admin.end();
}
console.log(`# test cluster ready in ${TEST_HOME}, template ${TEMPLATE_DB} (${Date.now() - started} ms)`);
