/**
 * Where the test suite's PostgreSQL cluster lives. One cluster for the whole run (started by
 * global-setup.ts), one template database per migration state, one clone per test file.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { adminUrl, appUrl, clusterPaths, readState } from '../../src/db/cluster.js';
import { migrationsFolder } from '../../src/paths.js';

/** Outside the checkout, so the server user can reach it whatever the clone's parents allow. */
export const TEST_HOME = process.env.MEMVAULT_TEST_HOME ?? join(tmpdir(), 'memvault-test');
export const TEST_DB_PREFIX = 'mvt_';
export const TEST_EMBEDDING_DIM = 384;

/**
 * The template is named after the committed migrations it holds, so concurrent test runs (several
 * developers' checkouts on one machine) share a template when their migrations agree and never
 * drop one another's.
 */
export const TEMPLATE_DB = (() => {
  const dir = join(migrationsFolder, 'committed');
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(join(dir, file)));
  hash.update(String(TEST_EMBEDDING_DIM));
  return `memvault_template_${hash.digest('hex').slice(0, 12)}`;
})();

/** Test database names carry their creation time, so stale ones from killed runs can be dropped. */
export function testDatabaseName(random: string): string {
  return `${TEST_DB_PREFIX}${Math.floor(Date.now() / 1000)}_${random}`;
}

export function testDatabaseAgeSeconds(name: string): number | undefined {
  const match = /^mvt_(\d+)_/.exec(name);
  return match ? Math.floor(Date.now() / 1000) - Number(match[1]) : undefined;
}

export async function testCluster() {
  const paths = clusterPaths(TEST_HOME);
  const state = await readState(paths);
  if (!state)
    throw new Error(
      `no test cluster in ${TEST_HOME}: run the suite with \`npm test\` (tap's before hook starts it)`,
    );
  return {
    paths,
    state,
    adminUrl: (database: string) => adminUrl(paths, state, database),
    appUrl: (database: string) => appUrl(paths, state, database),
  };
}

/** `url` signing in as `role` with `password` instead (roles a test creates; the cluster checks passwords). */
export function urlAs(url: string, role: string, password: string): string {
  return url.replace(
    /^(postgres(?:ql)?:\/\/)[^@/]*@/,
    `$1${encodeURIComponent(role)}:${encodeURIComponent(password)}@`,
  );
}
