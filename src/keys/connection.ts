/**
 * Where key jobs connect: they work across tenants, so they need a memory_maintainer session
 * (MEMVAULT_MAINTENANCE_URL), or the embedded cluster's superuser when running on the embedded
 * default. The daemon's memory_app connection is refused by the maintenance procedures (MV009).
 */
import { adminUrl, clusterPaths, defaultHome, readState } from '../db/cluster.js';
import { createPool, type Pool } from '../db/pool.js';
import { envString } from '../env.js';
import { ConfigError } from '../errors.js';

export const MAINTENANCE_URL_VARIABLE = 'MEMVAULT_MAINTENANCE_URL';

export async function maintenanceUrl(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = envString(env, MAINTENANCE_URL_VARIABLE);
  if (explicit) return explicit;
  if (envString(env, 'DATABASE_URL')) {
    throw new ConfigError(
      MAINTENANCE_URL_VARIABLE,
      'is required with DATABASE_URL (a memory_maintainer connection)',
    );
  }
  const paths = clusterPaths(defaultHome(env));
  const state = await readState(paths);
  if (!state)
    throw new ConfigError(
      MAINTENANCE_URL_VARIABLE,
      'is not set and there is no embedded cluster (run `memvault db up`)',
    );
  return adminUrl(paths, state);
}

export async function maintenancePool(): Promise<Pool> {
  return createPool({ connectionString: await maintenanceUrl(), max: 4, applicationName: 'memvault-keys' });
}
