/**
 * `memvault reindex lexical [--tenant USER_ID] [--batch N]`: indexes chunks missing from the
 * lexical index or indexed stale (older analyzer, replaced data key). Resumable and idempotent;
 * safe beside a running daemon (src/keys/lexical-reindex.ts).
 */
import { KeyRing, loadTenantHmacKey, TENANT_HMAC_KEY_VARIABLE } from '../../crypto/index.js';
import { lexicalCoverage } from '../../db/lexical.js';
import { getSettings } from '../../db/procedures.js';
import { jobKeyRing } from '../../keys/active-ring.js';
import { maintenancePool } from '../../keys/connection.js';
import { reindexLexical } from '../../keys/lexical-reindex.js';
import { ANALYZER_VERSION } from '../../lexical/index.js';
import { parseCommand, positiveInt, subcommand } from '../args.js';
import { progressBar } from '../progress.js';

export const summary =
  'lexical [--tenant USER_ID] [--batch N]: index chunks missing from the lexical index or stale';

const USAGE =
  'usage: memvault reindex lexical [--tenant USER_ID] [--batch N]   index chunks missing from the lexical index, or stale';

export async function run(args: string[]): Promise<number> {
  subcommand(args, ['lexical'] as const, USAGE);
  const { values } = parseCommand(args.slice(1), {
    usage: USAGE,
    options: { tenant: { type: 'string' }, batch: { type: 'string' } },
  });
  const batchSize = positiveInt(values.batch, '--batch', USAGE);
  const pool = await maintenancePool();
  try {
    const ring = jobKeyRing(KeyRing.fromEnv(process.env), await getSettings(pool));
    const tenant =
      values.tenant === undefined
        ? undefined
        : loadTenantHmacKey(process.env[TENANT_HMAC_KEY_VARIABLE], TENANT_HMAC_KEY_VARIABLE).hash(
            values.tenant,
          );
    const before = await lexicalCoverage(pool, ANALYZER_VERSION);
    const done = await reindexLexical(pool, ring, {
      tenant,
      batchSize,
      // The whole table's backlog; for one tenant, an upper bound.
      total: before.missing + before.stale,
      onProgress: progressBar('reindex lexical'),
    });
    const after = await lexicalCoverage(pool, ANALYZER_VERSION);
    console.log(
      `indexed ${done} chunk(s); ${after.current} of ${after.chunks} chunks are current, ${after.missing} missing, ${after.stale} stale`,
    );
    return 0;
  } finally {
    await pool.end();
  }
}
