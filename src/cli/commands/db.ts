/** `memvault db up|down|status`: the embedded default PostgreSQL cluster. */
import { embeddedSchemaDim, readDaemonSettings } from '../../config.js';
import {
  appUrl,
  CLUSTER_PASSWORD_VARIABLES,
  clusterPaths,
  defaultHome,
  isRunning,
  readState,
  stopCluster,
  withoutPassword,
} from '../../db/cluster.js';
import { prepareEmbeddedDatabase } from '../../db/embedded.js';
import { createEmbedder } from '../../embed/index.js';
import type { Env } from '../../env.js';
import { oneOf, parseCommand } from '../args.js';
import { embeddedDefaults } from './embedded-defaults.js';

export const summary = 'embedded PostgreSQL: up (create, start, migrate) | down | status';

const USAGE = 'usage: memvault db [up|down|status]   (default: status; MEMVAULT_HOME says where)';

export async function run(args: string[]): Promise<number> {
  const { positionals } = parseCommand(args, { usage: USAGE, options: {}, positionals: { max: 1 } });
  const action = oneOf(positionals[0] ?? 'status', 'action', ['up', 'down', 'status'], USAGE);
  const home = defaultHome();
  switch (action) {
    case 'up': {
      const db = await prepareEmbeddedDatabase(home, () => freshSchemaDim(process.env));
      console.error(
        `memvault: cluster ${db.created ? 'created' : 'running'} in ${db.dataDir}` +
          (db.applied.length ? `; applied ${db.applied.join(', ')}` : '; migrations up to date'),
      );
      printUrl(withoutPassword(db.databaseUrl), home);
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
      if (state) printUrl(withoutPassword(appUrl(paths, state)), home);
      return running ? 0 : 3;
    }
  }
}

/** The URL without its password (stdout is often a terminal or a log); where the password is, on stderr. */
function printUrl(url: string, home: string): void {
  console.log(`DATABASE_URL=${url}`);
  console.error(
    `memvault: memory_app's password is ${CLUSTER_PASSWORD_VARIABLES.memory_app} in ${home}/secrets.env (libpq and pg read PGPASSWORD)`,
  );
}

/**
 * The dimension `memvault start` would give a fresh schema (src/config.ts embeddedSchemaDim), so
 * that `npm start` serves a cluster made by `db up`: with an embedder (MEMVAULT_EMBED_MODEL, else
 * the bundled model start defaults to) its dimension, which is known only by loading it once;
 * otherwise MEMVAULT_EMBEDDING_DIM. Called only when the schema does not exist yet.
 */
async function freshSchemaDim(env: Env): Promise<number> {
  const { embedModel } = embeddedDefaults(env);
  const settings = readDaemonSettings(
    env.MEMVAULT_EMBED_MODEL || !embedModel ? env : { ...env, MEMVAULT_EMBED_MODEL: embedModel },
  );
  if (!settings.embed) return embeddedSchemaDim(settings, undefined);
  // One CPU thread is plenty for one probe sentence, and never touches a GPU.
  const embedder = await createEmbedder(settings.embed.model, { device: 'cpu', poolSize: 1, threads: 1 });
  try {
    const dim = embeddedSchemaDim(settings, embedder);
    if (env.MEMVAULT_EMBEDDING_DIM && Number(env.MEMVAULT_EMBEDDING_DIM) !== dim) {
      console.error(
        `memvault: MEMVAULT_EMBEDDING_DIM is ignored: the embedder (${settings.embed.model}) produces ${dim}-dimensional vectors, and the schema must fit them`,
      );
    }
    return dim;
  } finally {
    await embedder.close();
  }
}
