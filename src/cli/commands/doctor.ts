/** `memvault doctor`: pre-deploy checks against DATABASE_URL (or the embedded cluster), one line each. */
import pg from 'pg';

import { appUrl, clusterPaths, defaultHome, readState } from '../../db/cluster.js';
import { runDoctor } from '../../db/doctor.js';
import { envString } from '../../env.js';
import { ConfigError } from '../../errors.js';

export const summary = 'pre-deploy checks (RLS, roles, indexes, plans, migrations) against DATABASE_URL';

async function targetUrl(): Promise<string> {
  const url = envString(process.env, 'DATABASE_URL');
  if (url) return url;
  const paths = clusterPaths(defaultHome());
  const state = await readState(paths);
  if (!state)
    throw new ConfigError(
      'DATABASE_URL',
      'is not set and there is no embedded cluster (run `memvault db up`)',
    );
  return appUrl(paths, state);
}

export async function run(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const client = new pg.Client({ connectionString: await targetUrl() });
  await client.connect();
  try {
    const results = await runDoctor(client);
    if (json) console.log(JSON.stringify(results, null, 2));
    else for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(24)} ${r.detail}`);
    const failed = results.filter((r) => !r.ok).length;
    if (!json) console.log(failed ? `\n${failed} check(s) failed` : `\nall ${results.length} checks passed`);
    return failed ? 1 : 0;
  } finally {
    await client.end();
  }
}
