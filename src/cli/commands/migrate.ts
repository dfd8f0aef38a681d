/** `memvault migrate`: bootstrap (when privileged) + committed migrations against DATABASE_URL. */
import { DEFAULT_EMBEDDING_DIM, migrateDatabase } from '../../db/migrate.js';
import { envInt, envString } from '../../env.js';
import { ConfigError } from '../../errors.js';
import { parseCommand } from '../args.js';

export const summary = 'apply committed migrations to DATABASE_URL (idempotent)';

const USAGE =
  "usage: memvault migrate   (DATABASE_URL: the database; MEMVAULT_EMBEDDING_DIM: a fresh schema's dimension)";

export async function run(args: string[]): Promise<number> {
  parseCommand(args, { usage: USAGE, options: {} });
  const url = envString(process.env, 'DATABASE_URL');
  if (!url)
    throw new ConfigError('DATABASE_URL', 'is required (for the embedded cluster use `memvault db up`)');
  const embeddingDim = envInt(process.env, 'MEMVAULT_EMBEDDING_DIM', DEFAULT_EMBEDDING_DIM, {
    min: 1,
    max: 16000,
  });
  const report = await migrateDatabase(url, { embeddingDim });
  console.log(
    `roles bootstrap: ${report.bootstrappedRoles ? 'ran' : 'skipped (no CREATEROLE)'}; ` +
      `migrations applied: ${report.applied.length ? report.applied.join(', ') : 'none (up to date)'}` +
      (report.citus ? '; citus: tenant tables distributed by user_hash, tenant procedures delegated' : ''),
  );
  return 0;
}
