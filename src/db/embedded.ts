/**
 * The embedded default in one call: start (first time: create) the private cluster, create its
 * database, run the bootstrap and migrations. Used by `memvault db up` and by the daemon when no
 * DATABASE_URL is configured.
 */
import pg from 'pg';

import { adminUrl, appUrl, startCluster } from './cluster.js';
import { migrateDatabase } from './migrate.js';

export interface EmbeddedDatabase {
  /** memory_app over the private socket: what the daemon uses. Carries its password: not for printing. */
  databaseUrl: string;
  /** The cluster superuser over the same socket: migrations, maintenance jobs. */
  adminUrl: string;
  dataDir: string;
  created: boolean;
  applied: string[];
}

/**
 * `embeddingDim` is only used when the schema is created; a function is called only then, so that a
 * caller which must load a model to know the dimension (`memvault db up`) does so once, not on
 * every run.
 */
export async function prepareEmbeddedDatabase(
  home: string,
  embeddingDim: number | (() => Promise<number>),
): Promise<EmbeddedDatabase> {
  const { paths, state, created } = await startCluster(home);
  await ensureDatabase(adminUrl(paths, state, 'postgres'), state.database);
  const dim =
    typeof embeddingDim === 'number'
      ? embeddingDim
      : ((await schemaDimension(adminUrl(paths, state))) ?? (await embeddingDim()));
  const report = await migrateDatabase(adminUrl(paths, state), { embeddingDim: dim, quiet: true });
  return {
    databaseUrl: appUrl(paths, state),
    adminUrl: adminUrl(paths, state),
    dataDir: paths.dataDir,
    created,
    applied: report.applied,
  };
}

/** The dimension of an existing schema's embedding column (pgvector keeps it as the typmod). */
export async function schemaDimension(connectionString: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ dim: number }>(
      `select a.atttypmod as dim from pg_attribute a
       where a.attrelid = to_regclass('memory.memory_chunks') and a.attname = 'embedding'`,
    );
    return rows[0]?.dim;
  } finally {
    await client.end();
  }
}

/** Creates the database on first use (CREATE DATABASE cannot be made conditional in SQL itself). */
export async function ensureDatabase(adminConnection: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminConnection });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
