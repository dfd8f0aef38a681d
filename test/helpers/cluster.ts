/**
 * Where the test suite's PostgreSQL cluster lives. One cluster for the whole run (started by
 * global-setup.ts), one template database migrated once, one clone per test file.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { adminUrl, appUrl, clusterPaths, readState } from '../../src/db/cluster.js';

/** Outside the checkout, so the server user can reach it whatever the clone's parents allow. */
export const TEST_HOME = process.env.MEMVAULT_TEST_HOME ?? join(tmpdir(), 'memvault-test');
export const TEMPLATE_DB = 'memvault_template';
export const TEST_DB_PREFIX = 'mvt_';
export const TEST_EMBEDDING_DIM = 384;

export async function testCluster() {
  const paths = clusterPaths(TEST_HOME);
  const state = await readState(paths);
  if (!state) throw new Error(`no test cluster in ${TEST_HOME}: run the suite with \`npm test\` (tap's before hook starts it)`);
  return {
    paths,
    state,
    adminUrl: (database: string) => adminUrl(paths, state, database),
    appUrl: (database: string) => appUrl(paths, state, database),
  };
}
