/** `memvault reseal [--tenant USER_ID] [--batch N]`: re-seal chunk blobs under their tenants' DEKs. */
import { KeyRing, loadTenantHmacKey, TENANT_HMAC_KEY_VARIABLE } from '../../crypto/index.js';
import { getSettings } from '../../db/procedures.js';
import { jobKeyRing } from '../../keys/active-ring.js';
import { maintenancePool } from '../../keys/connection.js';
import { replaceTenantKey, resealChunks } from '../../keys/reseal.js';
import { usage } from '../../keys/rotate.js';
import { parseCommand, positiveInt } from '../args.js';
import { progressBar } from '../progress.js';

export const summary = "re-seal chunks under per-tenant keys; --tenant USER_ID replaces that tenant's key";

const USAGE = [
  "usage: memvault reseal [--batch N]                  re-seal legacy chunks under their tenants' keys",
  "       memvault reseal --tenant USER_ID [--batch N]  replace that tenant's key, re-sealing its chunks",
].join('\n');

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    usage: USAGE,
    options: { tenant: { type: 'string' }, batch: { type: 'string' } },
  });
  const batchSize = positiveInt(values.batch, '--batch', USAGE);
  const tenantId = values.tenant;
  const pool = await maintenancePool();
  try {
    const ring = jobKeyRing(KeyRing.fromEnv(process.env), await getSettings(pool));
    if (tenantId !== undefined) {
      const tenantKey = loadTenantHmacKey(process.env[TENANT_HMAC_KEY_VARIABLE], TENANT_HMAC_KEY_VARIABLE);
      const { resealed, destroyed } = await replaceTenantKey(pool, ring, tenantKey.hash(tenantId), {
        batchSize,
        onProgress: progressBar('reseal'),
      });
      console.log(`tenant key replaced: ${resealed} chunk(s) re-sealed, ${destroyed} old key(s) destroyed`);
      return 0;
    }
    const legacy = (await usage(pool)).reduce((n, u) => n + u.legacyChunks, 0);
    const done = await resealChunks(pool, ring, {
      batchSize,
      total: legacy,
      onProgress: progressBar('reseal'),
    });
    console.log(`re-sealed ${done} chunk(s)`);
    return 0;
  } finally {
    await pool.end();
  }
}
