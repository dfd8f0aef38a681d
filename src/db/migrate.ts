/**
 * `memvault migrate`: the role bootstrap (when the connection may create roles) followed by
 * graphile-migrate's committed migrations. Both are idempotent, so running it twice changes nothing.
 *
 * A superuser needs nothing prepared. A CREATEROLE role that is not a superuser (the usual migrator
 * on a managed server) needs a DBA to have created the pgvector extension, which is not a trusted
 * extension; it then creates the roles, joins memory_owner (to hand objects to it) and, as the
 * database's owner, runs the database bootstrap too.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Logger as GraphileLogger, migrate as graphileMigrate } from 'graphile-migrate';
// Not re-exported by the package index; the same module instance graphile-migrate itself uses.
// An internal path: package.json pins graphile-migrate exactly (2.0.0-rc.3) for this reason.
import { clearAllPools } from 'graphile-migrate/dist/pgReal.js';
import pg from 'pg';

import { MemvaultError } from '../errors.js';
import { bootstrapFolder, citusFolder, migrationsFolder } from '../paths.js';

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
  /** The database has the citus extension: the schema was distributed (db/citus/distribute.sql). */
  citus: boolean;
}

interface Privileges {
  superuser: boolean;
  createRole: boolean;
  /** Owns the current database: may grant CONNECT on it and revoke CREATE on schema public. */
  databaseOwner: boolean;
  vectorInstalled: boolean;
}

async function privileges(client: pg.Client): Promise<Privileges> {
  const { rows } = await client.query<{
    rolsuper: boolean;
    rolcreaterole: boolean;
    owner: boolean;
    vector: boolean;
  }>(
    `select r.rolsuper, r.rolcreaterole,
            pg_has_role(current_user, d.datdba, 'usage') as owner,
            exists (select from pg_extension where extname = 'vector') as vector
     from pg_roles r, pg_database d
     where r.rolname = current_user and d.datname = current_database()`,
  );
  const row = rows[0];
  return {
    superuser: row?.rolsuper ?? false,
    createRole: row?.rolcreaterole ?? false,
    databaseOwner: row?.owner ?? false,
    vectorInstalled: row?.vector ?? false,
  };
}

/** Thrown before any change when pgvector is missing and this connection may not create it. */
export class VectorExtensionMissingError extends MemvaultError {
  constructor(database: string) {
    super(
      'vector_extension_missing',
      `pgvector is not installed in database ${JSON.stringify(database)} and only a superuser can create ` +
        'it (it is not a trusted extension): have a superuser run `create extension vector;` in that ' +
        'database (pgvector >= 0.8.0), then run `memvault migrate` again',
    );
  }
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
  const report: MigrateReport = {
    bootstrappedRoles: false,
    bootstrappedDatabase: false,
    applied: [],
    citus: false,
  };
  let before: Set<string>;
  try {
    const { superuser, createRole, databaseOwner, vectorInstalled } = await privileges(client);
    if (!superuser && !vectorInstalled) {
      const { rows } = await client.query<{ db: string }>('select current_database() as db');
      throw new VectorExtensionMissingError(rows[0]!.db);
    }
    if (superuser || createRole) {
      await client.query(await readFile(join(bootstrapFolder, 'roles.sql'), 'utf8'));
      report.bootstrappedRoles = true;
    }
    // A non-superuser database owner can run the database bootstrap too once pgvector exists
    // (`create extension if not exists` is then a no-op); anyone else relies on a DBA having run it.
    if (superuser || databaseOwner) {
      await client.query(await readFile(join(bootstrapFolder, 'database.sql'), 'utf8'));
      report.bootstrappedDatabase = true;
    }
    before = await appliedMigrations(client);
  } finally {
    await client.end();
  }

  try {
    await graphileMigrate({
      connectionString,
      migrationsFolder,
      placeholders: { ':MEMVAULT_EMBEDDING_DIM': String(embeddingDim) },
      ...(options.quiet ? { logger: quietLogger() } : {}),
    });
  } finally {
    // graphile-migrate keeps its pool open for 200 ms after use and calls process.exit(1) when an
    // idle client of it fails; a server stopped or restarted in that window (tests, `db down`
    // right after `db up` in one process) would kill the caller. Closing the pool now avoids it.
    clearAllPools();
  }

  const check = new pg.Client({ connectionString });
  await check.connect();
  try {
    const after = await appliedMigrations(check);
    report.applied = [...after].filter((f) => !before.has(f)).sort();
    // On a Citus coordinator, distribute what the migrations created (idempotent, every run).
    const { rows } = await check.query<{ citus: boolean }>(
      "select exists (select from pg_extension where extname = 'citus') as citus",
    );
    if (rows[0]?.citus) {
      await check.query(await readFile(join(citusFolder, 'distribute.sql'), 'utf8'));
      report.citus = true;
    }
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
