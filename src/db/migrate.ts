/**
 * `memvault migrate`: the role bootstrap (when the connection may create roles) followed by
 * graphile-migrate's committed migrations. Both are idempotent, so running it twice changes nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Logger as GraphileLogger, migrate as graphileMigrate } from 'graphile-migrate';
import pg from 'pg';

import { bootstrapFolder, migrationsFolder } from '../paths.js';

export const DEFAULT_EMBEDDING_DIM = 384;

export interface MigrateOptions {
  /** Embedding dimension baked into the schema when it is first created. */
  embeddingDim?: number;
  /** Silences graphile-migrate's progress lines. */
  quiet?: boolean;
}

export interface MigrateReport {
  bootstrappedRoles: boolean;
  bootstrappedDatabase: boolean;
  applied: string[];
}

async function privileges(client: pg.Client): Promise<{ superuser: boolean; createRole: boolean }> {
  const { rows } = await client.query<{ rolsuper: boolean; rolcreaterole: boolean }>(
    'select rolsuper, rolcreaterole from pg_catalog.pg_roles where rolname = current_user',
  );
  return { superuser: rows[0]?.rolsuper ?? false, createRole: rows[0]?.rolcreaterole ?? false };
}

async function appliedMigrations(client: pg.Client): Promise<Set<string>> {
  const { rows } = await client
    .query<{ filename: string }>(
      "select filename from graphile_migrate.migrations where to_regclass('graphile_migrate.migrations') is not null",
    )
    .catch(() => ({ rows: [] as { filename: string }[] }));
  return new Set(rows.map((r) => r.filename));
}

/** Runs the privileged bootstrap that the connection allows, then the committed migrations. */
export async function migrateDatabase(
  connectionString: string,
  options: MigrateOptions = {},
): Promise<MigrateReport> {
  const embeddingDim = options.embeddingDim ?? DEFAULT_EMBEDDING_DIM;
  if (!Number.isInteger(embeddingDim) || embeddingDim < 1 || embeddingDim > 16000) {
    throw new RangeError('MEMVAULT_EMBEDDING_DIM must be an integer between 1 and 16000');
  }
  const client = new pg.Client({ connectionString });
  await client.connect();
  const report: MigrateReport = { bootstrappedRoles: false, bootstrappedDatabase: false, applied: [] };
  let before: Set<string>;
  try {
    const { superuser, createRole } = await privileges(client);
    if (superuser || createRole) {
      await client.query(await readFile(join(bootstrapFolder, 'roles.sql'), 'utf8'));
      report.bootstrappedRoles = true;
    }
    if (superuser) {
      await client.query(await readFile(join(bootstrapFolder, 'database.sql'), 'utf8'));
      report.bootstrappedDatabase = true;
    }
    before = await appliedMigrations(client);
  } finally {
    await client.end();
  }

  await graphileMigrate({
    connectionString,
    migrationsFolder,
    placeholders: { ':MEMVAULT_EMBEDDING_DIM': String(embeddingDim) },
    ...(options.quiet ? { logger: quietLogger() } : {}),
  });

  const check = new pg.Client({ connectionString });
  await check.connect();
  try {
    const after = await appliedMigrations(check);
    report.applied = [...after].filter((f) => !before.has(f)).sort();
  } finally {
    await check.end();
  }
  return report;
}

/** A graphile-migrate logger that drops info lines but keeps warnings and errors. */
function quietLogger() {
  // @graphile/logger's Logger takes a factory of level-aware log functions.
  return new GraphileLogger(() => (level: string, message: string) => {
    if (level === 'error' || level === 'warning') console.error(message);
  });
}
