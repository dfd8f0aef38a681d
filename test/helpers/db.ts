/**
 * A private database per test file, cloned from the migrated template, dropped at teardown. Pools
 * are closed at teardown too, so a test that leaks clients makes the drop (and the test) fail.
 */
import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { createPool } from '../../src/db/pool.js';
import { TEMPLATE_DB, testCluster, testDatabaseName } from './cluster.js';

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
}

export async function createTestDatabase(t: Teardown): Promise<TestDatabase> {
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
  const db: TestDatabase = {
    name,
    adminUrl: cluster.adminUrl(name),
    appUrl: cluster.appUrl(name),
    admin: createPool({ connectionString: cluster.adminUrl(name), max: 4 }),
    app: createPool({ connectionString: cluster.appUrl(name), max: 4 }),
  };
  t.teardown(async () => {
    await Promise.all([db.admin.end(), db.app.end()]);
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
