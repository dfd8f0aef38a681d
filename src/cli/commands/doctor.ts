/** `memvault doctor`: pre-deploy checks against DATABASE_URL (or the embedded cluster), one line each. */
import { configureCrypto } from '../../crypto/index.js';
import { adminUrl, appUrl, clusterPaths, defaultHome, readState } from '../../db/cluster.js';
import {
  type CheckResult,
  lexicalIndexCheck,
  runDoctor,
  searchLayoutCheck,
  vectorProtectionCheck,
} from '../../db/doctor.js';
import { explainSearchPlans, type SearchPlan } from '../../db/plans.js';
import { withConnection } from '../../db/pool.js';
import { checkPooler } from '../../db/pooler.js';
import { envString } from '../../env.js';
import { ConfigError } from '../../errors.js';
import { parseCommand, UsageError } from '../args.js';

export const summary =
  'pre-deploy checks (RLS, roles, indexes, plans, migrations, pooler) against DATABASE_URL; --plans [--tenant HASH] shows both search plans';

interface Targets {
  checks: string;
  /** For --plans: lowering ann_exact_max_rows needs more than the app role (the embedded cluster's superuser). */
  plans: string;
}

async function targets(): Promise<Targets> {
  const url = envString(process.env, 'DATABASE_URL');
  if (url) return { checks: url, plans: url };
  const paths = clusterPaths(defaultHome());
  const state = await readState(paths);
  if (!state)
    throw new ConfigError(
      'DATABASE_URL',
      'is not set and there is no embedded cluster (run `memvault db up`)',
    );
  return { checks: appUrl(paths, state), plans: adminUrl(paths, state) };
}

function line(r: CheckResult): string {
  return `${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(24)} ${r.detail}`;
}

const USAGE = [
  'usage: memvault doctor [--json] [--plans [--tenant <user_hash>]]',
  '  --json     the results as JSON',
  '  --plans    also print the exact plan of a small tenant and the HNSW plan of a large one',
  '  --tenant   the large tenant for --plans (64 lowercase hex characters; default: the largest)',
].join('\n');

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    usage: USAGE,
    options: { json: { type: 'boolean' }, plans: { type: 'boolean' }, tenant: { type: 'string' } },
  });
  const json = values.json ?? false;
  const plans = values.plans ?? false;
  const largeTenant = values.tenant;
  if (largeTenant !== undefined && !plans) throw new UsageError('--tenant needs --plans', USAGE);
  if (largeTenant !== undefined && !/^[0-9a-f]{64}$/.test(largeTenant)) {
    throw new UsageError('--tenant must be a user_hash (64 lowercase hex characters)', USAGE);
  }
  // Explaining a tenant's search (--plans) calls its procedures, which need the tenant's proof:
  // derived from MEMORY_TENANT_HMAC_KEY when this environment holds the daemon's keys.
  if (plans && process.env.MEMORY_TENANT_HMAC_KEY) configureCrypto(process.env);
  const urls = await targets();
  const results: Array<CheckResult | SearchPlan> = await withConnection(urls.checks, runDoctor);
  results.push({
    name: 'pooler',
    ...(await checkPooler(urls.checks, envString(process.env, 'MEMVAULT_LISTEN_URL')).catch(
      (thrown: Error) => ({ ok: false, detail: `check failed: ${thrown.message}` }),
    )),
  });
  if (urls.plans !== urls.checks) {
    // The app role cannot count across tenants: count the lexical index's backlog as the superuser.
    const at = results.findIndex((r) => r.name === 'lexical_index');
    if (at >= 0)
      results[at] = { name: 'lexical_index', ...(await withConnection(urls.plans, lexicalIndexCheck)) };
    // The same for the search layout's backfill (how many chunks still miss a search vector).
    const layoutAt = results.findIndex((r) => r.name === 'search_layout');
    if (layoutAt >= 0)
      results[layoutAt] = { name: 'search_layout', ...(await withConnection(urls.plans, searchLayoutCheck)) };
    // And the search vectors still in clear or under a replaced key.
    const protectionAt = results.findIndex((r) => r.name === 'vector_protection');
    if (protectionAt >= 0)
      results[protectionAt] = {
        name: 'vector_protection',
        ...(await withConnection(urls.plans, vectorProtectionCheck)),
      };
  }
  if (plans)
    results.push(...(await withConnection(urls.plans, (c) => explainSearchPlans(c, { largeTenant }))));
  if (json) console.log(JSON.stringify(results, null, 2));
  else {
    for (const r of results) {
      console.log(line(r));
      if ('tree' in r) for (const node of r.tree) console.log(`       ${node}`);
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  if (!json) console.log(failed ? `\n${failed} check(s) failed` : `\nall ${results.length} checks passed`);
  return failed ? 1 : 0;
}
