/**
 * `memvault reindex lexical|vectors [--tenant USER_ID] [--batch N]`:
 * - lexical: indexes chunks missing from the lexical index or indexed stale (older analyzer,
 *   replaced data key) (src/keys/lexical-reindex.ts);
 * - vectors: gives chunks written before the narrow search layout their search vector, then
 *   switches dense search to it once none is missing, and protects every search vector still clear
 *   or under a replaced data key (src/keys/vector-backfill.ts).
 * Both are resumable and idempotent, and safe beside a running daemon.
 */
import { KeyRing, loadTenantHmacKey, TENANT_HMAC_KEY_VARIABLE } from '../../crypto/index.js';
import { lexicalCoverage } from '../../db/lexical.js';
import type { Pool } from '../../db/pool.js';
import { getSettings } from '../../db/procedures.js';
import { vectorProtection } from '../../db/vectors.js';
import { jobKeyRing } from '../../keys/active-ring.js';
import { maintenancePool } from '../../keys/connection.js';
import { reindexLexical } from '../../keys/lexical-reindex.js';
import { backfillVectors } from '../../keys/vector-backfill.js';
import { ANALYZER_VERSION } from '../../lexical/index.js';
import { parseCommand, positiveInt, subcommand } from '../args.js';
import { progressBar } from '../progress.js';

export const summary =
  'lexical|vectors [--tenant USER_ID] [--batch N]: index chunks missing from the lexical index or stale, or fill and protect the search vectors';

const USAGE =
  'usage: memvault reindex lexical [--tenant USER_ID] [--batch N]   index chunks missing from the lexical index, or stale\n' +
  '       memvault reindex vectors [--tenant USER_ID] [--batch N]   give older chunks a protected search vector; switch search to the narrow layout when none is missing';

export async function run(args: string[]): Promise<number> {
  const which = subcommand(args, ['lexical', 'vectors'] as const, USAGE);
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
    return which === 'lexical'
      ? await lexical(pool, ring, tenant, batchSize)
      : await vectors(pool, ring, tenant, batchSize);
  } finally {
    await pool.end();
  }
}

async function lexical(pool: Pool, ring: KeyRing, tenant: string | undefined, batchSize: number | undefined) {
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
}

async function vectors(pool: Pool, ring: KeyRing, tenant: string | undefined, batchSize: number | undefined) {
  const before = await vectorProtection(pool);
  // Chunks the job will claim: without a vector, with a clear one or a clear copy (rows without a
  // vector have a clear copy too), or under a replaced key. An estimate for the progress bar.
  const todo = before.missing + Math.max(before.clear, before.clearCopies - before.missing) + before.staleKey;
  const result = await backfillVectors(pool, ring, {
    tenant,
    batchSize,
    total: todo,
    onProgress: progressBar('reindex vectors'),
  });
  const after = await vectorProtection(pool);
  console.log(
    `stored ${result.stored} search vector(s); ${result.missing} chunk(s) still without one; dense search reads the ${result.layout} layout; ` +
      `${after.clear} clear, ${after.clearCopies} clear copies, ${after.staleKey} under a replaced key, of ${after.chunks}`,
  );
  return 0;
}
