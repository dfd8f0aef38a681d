/**
 * A private database per test file, cloned from the migrated template, dropped at teardown. Pools
 * are closed at teardown too, so a test that leaks clients makes the drop (and the test) fail.
 *
 * MEMVAULT_TEST_VIA=pgbouncer (set by the test/pooler/ suites before they import a suite's body)
 * puts a real pgbouncer in transaction mode between the app role and the database: `appUrl` and
 * the `app` pool go through it, `listenUrl` is the direct connection the daemon LISTENs on.
 *
 * MEMVAULT_TEST_VIA=citus (the test/citus/ suites, `npm run test:citus`) creates the database on a
 * real Citus formation instead (test/helpers/citus.ts): a coordinator and two workers, the database
 * migrated (and so distributed) by `memvault migrate`'s own code; every URL is the coordinator's.
 */
import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { migrateDatabase } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { citusFormation } from './citus.js';
import { TEMPLATE_DB, TEST_EMBEDDING_DIM, testCluster, testDatabaseName } from './cluster.js';
import { type Pgbouncer, startPgbouncer } from './pgbouncer.js';
import { ensureTestCrypto } from './secrets.js';

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

export interface TestDatabase {
  name: string;
  adminUrl: string;
  appUrl: string;
  /** Superuser pool: for arranging state and inspecting raw tables. */
  admin: pg.Pool;
  /** memory_app pool: what the daemon uses. */
  app: pg.Pool;
  /** The app role's direct connection (the same as appUrl unless through a pooler). */
  listenUrl: string;
  /** What key jobs connect with (MEMVAULT_MAINTENANCE_URL): adminUrl, or through the pooler. */
  maintenanceUrl: string;
  /** The pooler in front of appUrl, when MEMVAULT_TEST_VIA=pgbouncer. */
  pgbouncer?: Pgbouncer;
}

/** Read when a database is created: the pooler and Citus suites set it before importing a suite. */
export function testVia(): 'pgbouncer' | 'citus' | 'direct' {
  const via = process.env.MEMVAULT_TEST_VIA;
  return via === 'pgbouncer' || via === 'citus' ? via : 'direct';
}

/** The databases this process created on a Citus formation (for the Citus suites' own checks). */
export const citusDatabases: TestDatabase[] = [];

/** The databases this process created behind a pooler (for the pooler suites' own checks). */
export const pooledDatabases: TestDatabase[] = [];

/** Pooled URL → the direct URL to LISTEN on, for the daemon helpers (MEMVAULT_LISTEN_URL). */
const listenUrls = new Map<string, string>();
export function listenUrlFor(databaseUrl: string): string | undefined {
  return listenUrls.get(databaseUrl);
}

export async function createTestDatabase(t: Teardown): Promise<TestDatabase> {
  // Direct procedure calls act as the daemon: they need the tenants' proofs, so crypto configured.
  ensureTestCrypto();
  if (testVia() === 'citus') return createCitusDatabase(t);
  const cluster = await testCluster();
  const name = testDatabaseName(randomBytes(6).toString('hex'));
  const root = new pg.Client({ connectionString: cluster.adminUrl('postgres') });
  await root.connect();
  try {
    await root.query(
      `create database ${root.escapeIdentifier(name)} template ${root.escapeIdentifier(TEMPLATE_DB)}`,
    );
  } finally {
    await root.end();
  }
  // Stopped by this teardown, before the drop (its server connections would block it).
  const pgbouncer = testVia() === 'pgbouncer' ? await startPgbouncer({ teardown: () => {} }) : undefined;
  const appUrl = pgbouncer ? pgbouncer.url('memory_app', name) : cluster.appUrl(name);
  if (pgbouncer) listenUrls.set(appUrl, cluster.appUrl(name));
  const db: TestDatabase = {
    name,
    adminUrl: cluster.adminUrl(name),
    appUrl,
    // The tests' own pools wait longer for a connection than the daemon's 5 s default: they arrange
    // and inspect state, and on a saturated machine (scram sign-ins are CPU work) a lost connect
    // would fail a test about something else.
    admin: createPool({ connectionString: cluster.adminUrl(name), max: 4, connectionTimeoutMillis: 30_000 }),
    app: createPool({ connectionString: appUrl, max: 4, connectionTimeoutMillis: 30_000 }),
    listenUrl: cluster.appUrl(name),
    maintenanceUrl: pgbouncer ? pgbouncer.url('postgres', name) : cluster.adminUrl(name),
    ...(pgbouncer ? { pgbouncer } : {}),
  };
  if (pgbouncer) pooledDatabases.push(db);
  t.teardown(async () => {
    await Promise.all([db.admin.end(), db.app.end()]);
    await pgbouncer?.stop();
    const drop = new pg.Client({ connectionString: cluster.adminUrl('postgres') });
    await drop.connect();
    try {
      await drop.query(`drop database if exists ${drop.escapeIdentifier(name)}`);
    } finally {
      await drop.end();
    }
  });
  return db;
}

async function createCitusDatabase(t: Teardown): Promise<TestDatabase> {
  const formation = await citusFormation();
  const name = testDatabaseName(randomBytes(6).toString('hex'));
  await formation.createDatabase(name);
  await migrateDatabase(formation.adminUrl(name), { embeddingDim: TEST_EMBEDDING_DIM, quiet: true });
  const db: TestDatabase = {
    name,
    adminUrl: formation.adminUrl(name),
    appUrl: formation.appUrl(name),
    admin: createPool({ connectionString: formation.adminUrl(name), max: 4 }),
    app: createPool({ connectionString: formation.appUrl(name), max: 4 }),
    listenUrl: formation.appUrl(name),
    maintenanceUrl: formation.adminUrl(name),
  };
  citusDatabases.push(db);
  t.teardown(async () => {
    await Promise.all([db.admin.end(), db.app.end()]);
    await formation.dropDatabase(name);
  });
  return db;
}

/** A valid-looking tenant hash (64 lowercase hex) that no real user id maps to. */
export function randomUserHash(): string {
  return randomBytes(32).toString('hex');
}

/** A deterministic unit-ish vector of the test dimension; `seed` picks the direction. */
export function testVector(seed: number, dim = 384): number[] {
  const v = Array.from(
    { length: dim },
    (_, i) => Math.sin(seed * 7.13 + i * 0.31) + (i === seed % dim ? 2 : 0),
  );
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/**
 * A database of its own on the test cluster, migrated with `embeddingDim` (the template is
 * TEST_EMBEDDING_DIM): for tests that need the real embedder's 512 dimensions or a tiny one.
 * Dropped at teardown.
 */
export async function migratedDatabase(
  t: Teardown,
  prefix: string,
  embeddingDim: number,
): Promise<{ name: string; adminUrl: string; appUrl: string }> {
  const cluster = await testCluster();
  const name = `mvt_${prefix}_${randomBytes(5).toString('hex')}`;
  const root = new pg.Client({ connectionString: cluster.adminUrl('postgres') });
  await root.connect();
  await root.query(`create database ${root.escapeIdentifier(name)}`);
  await root.end();
  t.teardown(async () => {
    const drop = new pg.Client({ connectionString: cluster.adminUrl('postgres') });
    await drop.connect();
    await drop.query(`drop database if exists ${drop.escapeIdentifier(name)} with (force)`);
    await drop.end();
  });
  await migrateDatabase(cluster.adminUrl(name), { embeddingDim, quiet: true });
  return { name, adminUrl: cluster.adminUrl(name), appUrl: cluster.appUrl(name) };
}
