/** `memvault db up|down|status`: the embedded default PostgreSQL cluster. */
import { appUrl, clusterPaths, defaultHome, isRunning, readState, stopCluster } from '../../db/cluster.js';
import { prepareEmbeddedDatabase } from '../../db/embedded.js';
import { DEFAULT_EMBEDDING_DIM } from '../../db/migrate.js';
import { envInt } from '../../env.js';

export const summary = 'embedded PostgreSQL: up (create, start, migrate) | down | status';

export async function run(args: string[]): Promise<number> {
  const [action = 'status'] = args;
  const home = defaultHome();
  switch (action) {
    case 'up': {
      const embeddingDim = envInt(process.env, 'MEMVAULT_EMBEDDING_DIM', DEFAULT_EMBEDDING_DIM, {
        min: 1,
        max: 16000,
      });
      const db = await prepareEmbeddedDatabase(home, embeddingDim);
      console.error(
        `memvault: cluster ${db.created ? 'created' : 'running'} in ${db.dataDir}` +
          (db.applied.length ? `; applied ${db.applied.join(', ')}` : '; migrations up to date'),
      );
      console.log(`DATABASE_URL=${db.databaseUrl}`);
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
