/**
 * `memvault tenants rehash --user-ids FILE`: HMAC key rotation. The old key is given in
 * MEMORY_TENANT_HMAC_KEY_OLD and the new one in MEMORY_TENANT_HMAC_KEY, for the duration.
 *
 * `memvault tenants prove`: stores the proof verifier of every tenant from before tenant proofs
 * (MEMORY_TENANT_HMAC_KEY), then makes proofs required (docs/CRYPTO.md).
 */
import { readFile } from 'node:fs/promises';

import { KeyRing, loadTenantHmacKey } from '../../crypto/index.js';
import { getSettings } from '../../db/procedures.js';
import { jobKeyRing } from '../../keys/active-ring.js';
import { maintenancePool } from '../../keys/connection.js';
import { rehashTenants } from '../../keys/rehash.js';
import { proveTenants } from '../../keys/tenant-proofs.js';
import { parseCommand, subcommand, UsageError } from '../args.js';
import { progressBar } from '../progress.js';

export const summary =
  'rehash --user-ids FILE: move tenants to a new MEMORY_TENANT_HMAC_KEY; prove: store tenant proof verifiers';

const USAGE = [
  'usage: memvault tenants rehash --user-ids FILE',
  '  moves every listed tenant (one user id per line) from MEMORY_TENANT_HMAC_KEY_OLD to',
  '  MEMORY_TENANT_HMAC_KEY (docs/KEYS.md)',
  '       memvault tenants prove',
  '  stores the proof verifier of every tenant that has none (MEMORY_TENANT_HMAC_KEY), then makes',
  '  tenant proofs required (docs/CRYPTO.md)',
].join('\n');

export async function run(args: string[]): Promise<number> {
  subcommand(args, ['rehash', 'prove'], USAGE);
  if (args[0] === 'prove') return prove(args.slice(1));
  const { values } = parseCommand(args.slice(1), {
    usage: USAGE,
    options: { 'user-ids': { type: 'string' } },
  });
  const file = values['user-ids'];
  if (file === undefined) throw new UsageError('--user-ids FILE is required (one user id per line)', USAGE);
  const userIds = (await readFile(file, 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const oldKey = loadTenantHmacKey(process.env.MEMORY_TENANT_HMAC_KEY_OLD, 'MEMORY_TENANT_HMAC_KEY_OLD');
  const newKey = loadTenantHmacKey(process.env.MEMORY_TENANT_HMAC_KEY, 'MEMORY_TENANT_HMAC_KEY');
  const pool = await maintenancePool();
  try {
    // The live active key (active_kek_id), not the environment's: re-wrapping the moved DEKs under
    // the environment's key would undo a rotation for every tenant this run moves.
    const ring = jobKeyRing(KeyRing.fromEnv(process.env), await getSettings(pool));
    const report = await rehashTenants(pool, ring, { oldKey, newKey }, userIds, progressBar('rehash'));
    console.log(
      `moved ${report.moved} tenant(s) (${report.chunks} chunks); ${report.alreadyMoved} already moved`,
    );
    if (report.notFound.length)
      console.log(`not found (no rows under either key): ${report.notFound.join(', ')}`);
    if (report.conflicts.length)
      console.log(`conflicts (rows under both keys; left alone): ${report.conflicts.join(', ')}`);
    return report.conflicts.length ? 1 : 0;
  } finally {
    await pool.end();
  }
}

async function prove(args: string[]): Promise<number> {
  parseCommand(args, { usage: USAGE, options: {} });
  const tenantKey = loadTenantHmacKey(process.env.MEMORY_TENANT_HMAC_KEY, 'MEMORY_TENANT_HMAC_KEY');
  const pool = await maintenancePool();
  try {
    const report = await proveTenants(pool, tenantKey);
    console.log(
      `stored ${report.stored} tenant proof verifier(s); ` +
        (report.required
          ? 'tenant proofs are required'
          : `${report.missing} tenant(s) still without one: proofs stay optional, run it again`),
    );
    return report.required ? 0 : 1;
  } finally {
    await pool.end();
  }
}
