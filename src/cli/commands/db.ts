/** `memvault db up|down|status`: the embedded default PostgreSQL cluster. */
import { appUrl, clusterPaths, defaultHome, isRunning, readState, startCluster, stopCluster, adminUrl } from '../../db/cluster.js';
import { DEFAULT_EMBEDDING_DIM, migrateDatabase } from '../../db/migrate.js';
import { envInt } from '../../env.js';

export const summary = 'embedded PostgreSQL: up (create, start, migrate) | down | status';

export async function run(args: string[]): Promise<number> {
  const [action = 'status'] = args;
  const home = defaultHome();
  switch (action) {
    case 'up': {
      const { paths, state, created } = await startCluster(home);
      await ensureDatabase(adminUrl(paths, state, 'postgres'), state.database);
      const embeddingDim = envInt(process.env, 'MEMVAULT_EMBEDDING_DIM', DEFAULT_EMBEDDING_DIM, { min: 1, max: 16000 });
      const report = await migrateDatabase(adminUrl(paths, state), { embeddingDim, quiet: true });
      console.error(
        `memvault: cluster ${created ? 'created' : 'running'} in ${paths.dataDir}` +
          (report.applied.length ? `; applied ${report.applied.join(', ')}` : '; migrations up to date'),
      );
      console.log(`DATABASE_URL=${appUrl(paths, state)}`);
      return 0;
    }
    case 'down': {
      const stopped = await stopCluster(home);
      console.error(stopped ? 'memvault: cluster stopped' : 'memvault: cluster was not running');
      return 0;
    }
    case 'status': {
      const paths = clusterPaths(home);
      const state = await readState(paths);
      const running = await isRunning(paths);
      console.log(`data directory: ${paths.dataDir}`);
      console.log(`state: ${state ? (running ? 'running' : 'stopped') : 'not created'}`);
      if (state) console.log(`DATABASE_URL=${appUrl(paths, state)}`);
      return running ? 0 : 3;
    }
    default:
      console.error(`memvault db: unknown action '${action}' (up, down, status)`);
      return 2;
  }
}

/** Creates the database on first use (CREATE DATABASE cannot be made conditional in SQL itself). */
async function ensureDatabase(adminConnection: string, database: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: adminConnection });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
